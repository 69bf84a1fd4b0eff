// Allocation per call: each case runs in a fresh child process, where (1) heap growth over 100k calls
// with a young generation big enough that no collection runs gives bytes per call, and (2) minor
// collections are counted over a million calls at default settings.
import { fork } from 'node:child_process';
import { constants, PerformanceObserver } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { microCases } from './micro.mjs';

const self = fileURLToPath(import.meta.url);

/** Cases measured for allocation: the framework floor, each policy, the pipeline, and peers. */
export const ALLOC_CASES = [
  'baseline|raw await fn()',
  'baseline|breakwater no-op gate (framework floor)',
  'retry|breakwater retry()',
  'breaker closed|breakwater (count window)',
  'breaker closed|breakwater (consecutive)',
  'bulkhead|breakwater bulkhead(100)',
  'timeout|breakwater timeout (cooperative)',
  'timeout|breakwater timeout (aggressive)',
  'pipeline|breakwater retry+breaker+bulkhead+timeout (cooperative)',
  'pipeline|breakwater retry+breaker+bulkhead+timeout (aggressive)',
  'breaker closed|cockatiel (consecutive)',
  'bulkhead|cockatiel bulkhead(100)',
  'breaker closed|opossum (timeout: false)',
];

async function measureInChild(id, mode, n) {
  const flags =
    mode === 'bytes'
      ? ['--expose-gc', '--min-semi-space-size=256', '--max-semi-space-size=256']
      : ['--expose-gc'];
  return new Promise((resolve, reject) => {
    const child = fork(self, ['--child', id, mode, String(n)], {
      execArgv: flags,
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    child.once('message', resolve);
    child.once('error', reject);
    child.once(
      'exit',
      (code) => code !== 0 && reject(new Error(`alloc child for ${id} exited with ${code}`)),
    );
  });
}

export async function runAlloc({ quick = false } = {}) {
  const n = quick ? 2_000 : 50_000;
  const gcCalls = quick ? 10_000 : 1_000_000;
  const rows = [];
  for (const id of ALLOC_CASES) {
    const bytes = await measureInChild(id, 'bytes', n);
    const gcs = await measureInChild(id, 'gcs', gcCalls);
    rows.push({
      id,
      bytesPerCall: bytes.bytesPerCall,
      gcDuringBytes: bytes.gcs,
      minorGcPerMillion: (gcs.minor * 1e6) / gcCalls,
    });
  }
  const raw = rows[0].bytesPerCall;
  return {
    scenario: 'alloc',
    calls: n,
    cases: rows.map((r) => ({ ...r, extraBytesPerCall: r.bytesPerCall - raw })),
  };
}

async function child(id, mode, n) {
  const c = microCases().find((x) => `${x.group}|${x.name}` === id);
  if (c === undefined) throw new Error(`unknown case ${id}`);
  await c.run(20_000);
  let minor = 0;
  const obs = new PerformanceObserver((list) => {
    for (const e of list.getEntries()) if (e.detail?.kind === constants.NODE_PERFORMANCE_GC_MINOR) minor++;
  });
  globalThis.gc();
  globalThis.gc();
  obs.observe({ entryTypes: ['gc'] });
  const before = process.memoryUsage().heapUsed;
  await c.run(n);
  const after = process.memoryUsage().heapUsed;
  // Let the observer deliver the entries of this run.
  await new Promise((r) => setTimeout(r, 20));
  obs.disconnect();
  process.send(mode === 'bytes' ? { bytesPerCall: (after - before) / n, gcs: minor } : { minor });
  process.exit(0);
}

if (process.argv[2] === '--child') {
  await child(process.argv[3], process.argv[4], Number(process.argv[5]));
} else if (import.meta.url === `file://${process.argv[1]}`) {
  const result = await runAlloc({ quick: process.argv.includes('--quick') });
  for (const r of result.cases) {
    console.log(
      `${r.id.padEnd(70)} ${r.bytesPerCall.toFixed(0).padStart(6)} B/call (+${r.extraBytesPerCall.toFixed(0)} vs raw, ${r.gcDuringBytes} GC)  ${r.minorGcPerMillion.toFixed(0)} minor GC / 1M calls`,
    );
  }
}
