import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../..', import.meta.url));

if (!existsSync(`${root}/dist/cjs/index.js`))
  throw new Error('run "npm run build" first (npm test does it in pretest)');

// Runs in a fresh Node process so the package resolves exactly as it would for a user (self-reference
// through package.json "exports"), not through the test runner's resolver.
function node(source: string, type: 'module' | 'commonjs'): string {
  const flag = type === 'module' ? '--input-type=module' : '--input-type=commonjs';
  return execFileSync(process.execPath, [flag, '-e', source], { cwd: root, encoding: 'utf8' }).trim();
}

const script = (load: string) => `
${load}
const p = bw.pipeline(bw.retry({ maxRetries: 1, backoff: 0 }), bw.timeout(1000));
let n = 0;
p.execute(() => { if (n++ === 0) throw new Error('once'); return 'ok'; }).then((v) => {
  console.log(JSON.stringify({ v, n, timeout: bw.TimeoutError.create(1, 'x').code, keys: Object.keys(bw).length }));
});
`;

describe('built package', () => {
  it('loads with import', () => {
    const out = JSON.parse(node(script("import * as bw from 'breakwater';"), 'module'));
    expect(out).toMatchObject({ v: 'ok', n: 2, timeout: 'BW_ERR_TIMEOUT' });
  });

  it('loads with require', () => {
    const out = JSON.parse(node(script("const bw = require('breakwater');"), 'commonjs'));
    expect(out).toMatchObject({ v: 'ok', n: 2, timeout: 'BW_ERR_TIMEOUT' });
  });

  it('recognises errors across the ESM and CJS copies', () => {
    const out = node(
      `import { createRequire } from 'node:module';
       import * as esm from 'breakwater';
       const cjs = createRequire(import.meta.url)('breakwater');
       const e = cjs.BrokenCircuitError.create('db', 'open', 10);
       console.log([e instanceof esm.BrokenCircuitError, e instanceof esm.RejectedError, esm.TimeoutError === cjs.TimeoutError].join());`,
      'module',
    );
    expect(out).toBe('true,true,false');
  });

  it('composes policies of the ESM and CJS copies in one pipeline, either way round', () => {
    const out = node(
      `import { createRequire } from 'node:module';
       import * as esm from 'breakwater';
       const cjs = createRequire(import.meta.url)('breakwater');
       const results = [];
       for (const [outer, inner] of [[esm, cjs], [cjs, esm]]) {
         const breaker = inner.circuitBreaker({ window: { kind: 'consecutive', failures: 2 } });
         const p = outer.pipeline(outer.retry({ maxRetries: 0 }), breaker, outer.timeout(1000));
         for (let i = 0; i < 2; i++) await p.executeOutcome(() => Promise.reject(new Error('down')));
         const rejected = await p.executeOutcome(() => 'not called');
         const ok = await outer.pipeline(breaker).executeOutcome(() => 'x');
         results.push([breaker.state, rejected.error?.code, ok.ok]);
       }
       console.log(JSON.stringify(results));`,
      'module',
    );
    expect(JSON.parse(out)).toEqual([
      ['open', 'BW_ERR_CIRCUIT_OPEN', false],
      ['open', 'BW_ERR_CIRCUIT_OPEN', false],
    ]);
  });

  it('exposes the same names from both builds', () => {
    const esm = node(
      "import * as bw from 'breakwater'; console.log(Object.keys(bw).sort().join())",
      'module',
    );
    const cjs = node("console.log(Object.keys(require('breakwater')).sort().join())", 'commonjs');
    expect(cjs).toBe(esm);
  });
});
