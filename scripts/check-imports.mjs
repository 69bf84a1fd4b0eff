// The import rules of docs/architecture.md, checked on every `npm test`: each part of src/ may import
// only the parts it is allowed to, so the boundaries hold as the code grows.
//
//   node scripts/check-imports.mjs        (exit code 1 and one line per broken rule)
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const src = join(root, 'src');

const POLICIES = new Set([
  'batch',
  'bulkhead',
  'chaos',
  'circuit-breaker',
  'coalesce',
  'fallback',
  'hedging',
  'rate-limit',
  'retry',
  'slo',
  'throttle',
  'timeout',
]);

/** The part a file of src/ belongs to: core, metrics, limit, a policy, pipeline, entry, extend, testing, integrations. */
function partOf(file) {
  const rel = relative(src, file).split(sep);
  const top = rel[0];
  if (rel.length === 1) {
    if (top === 'index.ts') return { part: 'entry' };
    if (top === 'pipeline.ts') return { part: 'pipeline' };
    if (top === 'extend.ts') return { part: 'extend' };
    return { part: 'unknown' };
  }
  if (top === 'core' || top === 'metrics' || top === 'limit' || top === 'testing') return { part: top };
  if (top === 'integrations') return { part: 'integrations', name: rel.length > 2 ? rel[1] : undefined };
  if (POLICIES.has(top))
    return { part: 'policy', name: top, isIndex: rel.length === 2 && rel[1] === 'index.ts' };
  return { part: 'unknown' };
}

/** Public entry points an integration may use. */
function isPublicEntry(target) {
  return (
    target.part === 'entry' ||
    target.part === 'extend' ||
    target.part === 'pipeline' ||
    target.part === 'metrics' ||
    (target.part === 'policy' && target.isIndex) ||
    target.part === 'testing'
  );
}

/** Why `from` may not import `to`, or null when it may. */
function broken(from, to) {
  switch (from.part) {
    case 'core':
      return to.part === 'core' ? null : 'core imports only core';
    case 'metrics':
      return to.part === 'core' || to.part === 'metrics' ? null : 'metrics imports only core and metrics';
    case 'limit':
      return to.part === 'core' || to.part === 'metrics' || to.part === 'limit'
        ? null
        : 'limit imports only core, metrics and limit';
    case 'policy':
      if (to.part === 'core' || to.part === 'metrics' || to.part === 'limit') return null;
      if (to.part === 'policy' && to.name === from.name) return null;
      return 'a policy imports only core, metrics, limit and its own folder';
    case 'pipeline':
      return to.part === 'core' ? null : 'pipeline imports only core';
    case 'extend':
      return to.part === 'core' || to.part === 'metrics'
        ? null
        : 'the extension contract re-exports core and metrics';
    case 'entry':
    case 'testing':
      return to.part === 'integrations' ? 'the core package never imports an integration' : null;
    case 'integrations':
      if (to.part === 'integrations') return null;
      return isPublicEntry(to)
        ? null
        : 'integrations use public entry points or the extension contract (src/extend.ts)';
    default:
      return 'file outside the known parts of src/';
  }
}

const PEERS = /^(prom-client|@opentelemetry\/|fastify|express|undici|pg|ioredis)/;

function* files(dir) {
  for (const entry of readdirSync(dir)) {
    const path = join(dir, entry);
    if (statSync(path).isDirectory()) yield* files(path);
    else if (path.endsWith('.ts')) yield path;
  }
}

const problems = [];
for (const file of files(src)) {
  const from = partOf(file);
  const text = readFileSync(file, 'utf8');
  for (const match of text.matchAll(/(?:^|\n)\s*(?:import|export)\s[^;]*?from\s+'([^']+)'/g)) {
    const spec = match[1];
    const where = `${relative(root, file)}: '${spec}'`;
    if (!spec.startsWith('.')) {
      if (PEERS.test(spec) && from.part !== 'integrations')
        problems.push(`${where}: only integrations import peer libraries`);
      continue;
    }
    const target = resolve(dirname(file), spec.replace(/\.js$/, '.ts'));
    if (!target.startsWith(src)) continue;
    const why = broken(from, partOf(target));
    if (why !== null) problems.push(`${where}: ${why}`);
  }
}

if (problems.length > 0) {
  console.error(
    `${problems.length} import(s) break the rules of docs/architecture.md:\n${problems.join('\n')}`,
  );
  process.exit(1);
}
console.log('imports follow docs/architecture.md');
