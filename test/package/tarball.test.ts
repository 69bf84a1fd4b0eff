import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, normalize } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../..', import.meta.url));

if (!existsSync(`${root}/dist/cjs/index.js`))
  throw new Error('run "npm run build" first (npm test does it in pretest)');

interface Packed {
  readonly files: readonly { readonly path: string }[];
  readonly unpackedSize: number;
}

// What `npm publish` would ship, without packing anything.
const packed: Packed = JSON.parse(
  execFileSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: root, encoding: 'utf8' }),
)[0];
const files = new Set(packed.files.map((f) => f.path));
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));

describe('the published tarball', () => {
  it('ships no source map whose sources are missing from it', () => {
    const broken: string[] = [];
    for (const path of files) {
      if (!path.endsWith('.map')) continue;
      const map = JSON.parse(readFileSync(join(root, path), 'utf8')) as { sources: string[] };
      for (const source of map.sources) {
        const target = normalize(join(dirname(path), source));
        if (!files.has(target)) broken.push(`${path} -> ${target}`);
      }
    }
    expect(broken).toEqual([]);
  });

  it('ships every file the exports map and typesVersions name', () => {
    const named: string[] = [];
    const walk = (value: unknown) => {
      if (typeof value === 'string') named.push(normalize(value));
      else if (typeof value === 'object' && value !== null) for (const v of Object.values(value)) walk(v);
    };
    walk(pkg.exports);
    walk(pkg.typesVersions);
    expect(named.filter((path) => !files.has(path))).toEqual([]);
  });

  it('has no type packages among its peer dependencies (users of express or pg bring their own)', () => {
    expect(Object.keys(pkg.peerDependencies).filter((name) => name.startsWith('@types/'))).toEqual([]);
    expect(Object.keys(pkg.peerDependenciesMeta).filter((name) => name.startsWith('@types/'))).toEqual([]);
  });

  // The registry shows the README without a repository to resolve its links against: every relative
  // link of a shipped page must name a shipped file, so the docs read whole in node_modules too.
  it('ships every file its markdown links to (README, CHANGELOG, docs, benchmark results)', () => {
    const dead: string[] = [];
    for (const path of files) {
      if (!path.endsWith('.md')) continue;
      const text = readFileSync(join(root, path), 'utf8').replace(/```[\s\S]*?```/g, '');
      for (const [, href] of text.matchAll(/\]\(([^)\s]+)\)/g) as Iterable<[string, string]>) {
        if (/^[a-z]+:/i.test(href) || href.startsWith('#')) continue;
        const target = normalize(join(dirname(path), href.replace(/#.*$/, '')));
        if (!files.has(target)) dead.push(`${path} -> ${target}`);
      }
    }
    expect(files.has('docs/README.md')).toBe(true);
    expect(dead).toEqual([]);
  });

  it('stays small: no tests, benchmark code or sources of the repository', () => {
    const stray = [...files].filter(
      (path) =>
        /^(test|bench|src|examples|scripts)\//.test(path) && !/^bench\/(RESULTS\.md|ratios\.svg)$/.test(path),
    );
    expect(stray).toEqual([]);
    // Reported, not judged: the unpacked size moves with every feature.
    console.log(`tarball: ${files.size} files, ${(packed.unpackedSize / 1e6).toFixed(2)} MB unpacked`);
  });
});
