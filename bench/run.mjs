// `npm run bench`: breakwater against peers in one process, on the built package (dist/), since that
// is what users run. Usage: node bench/run.mjs [--quick]
import * as cockatiel from 'cockatiel';
import { fallback, pipeline, retry, timeout } from '../dist/esm/index.js';
import { loop, measure, table } from './harness.mjs';

const quick = process.argv.includes('--quick');
const fn = async () => 1;
const sink = { n: 0 };

const bwRetry = retry();
const bwTimeoutAggr = timeout(1_000);
const bwTimeoutCoop = timeout({ durationMs: 1_000, strategy: 'cooperative' });
const bwFallback = fallback({ fallback: () => 0 });
const bwRetryTimeout = pipeline(retry(), timeout(1_000));

const ckRetry = cockatiel.retry(cockatiel.handleAll, { maxAttempts: 3 });
const ckTimeoutAggr = cockatiel.timeout(1_000, cockatiel.TimeoutStrategy.Aggressive);
const ckTimeoutCoop = cockatiel.timeout(1_000, cockatiel.TimeoutStrategy.Cooperative);
const ckFallback = cockatiel.fallback(cockatiel.handleAll, 0);
const ckRetryTimeout = cockatiel.wrap(ckRetry, ckTimeoutAggr);

const cases = [
  { group: 'baseline', name: 'raw await fn()', run: loop(fn) },
  { group: 'retry', name: 'breakwater retry()', run: loop(() => bwRetry.execute(fn)) },
  { group: 'retry', name: 'cockatiel retry', peer: 'cockatiel', run: loop(() => ckRetry.execute(fn)) },
  { group: 'timeout', name: 'breakwater timeout (aggressive)', run: loop(() => bwTimeoutAggr.execute(fn)) },
  { group: 'timeout', name: 'breakwater timeout (cooperative)', run: loop(() => bwTimeoutCoop.execute(fn)) },
  {
    group: 'timeout',
    name: 'cockatiel timeout (aggressive)',
    peer: 'cockatiel',
    run: loop(() => ckTimeoutAggr.execute(fn)),
  },
  {
    group: 'timeout',
    name: 'cockatiel timeout (cooperative)',
    peer: 'cockatiel',
    run: loop(() => ckTimeoutCoop.execute(fn)),
  },
  { group: 'fallback', name: 'breakwater fallback', run: loop(() => bwFallback.execute(fn)) },
  {
    group: 'fallback',
    name: 'cockatiel fallback',
    peer: 'cockatiel',
    run: loop(() => ckFallback.execute(fn)),
  },
  { group: 'retry+timeout', name: 'breakwater pipeline', run: loop(() => bwRetryTimeout.execute(fn)) },
  {
    group: 'retry+timeout',
    name: 'cockatiel wrap',
    peer: 'cockatiel',
    run: loop(() => ckRetryTimeout.execute(fn)),
  },
];

const results = await measure(cases, quick ? { iterations: 2_000, rounds: 1, warmup: 500 } : {});
const raw = results[0].ns;
console.log(`node ${process.version}, ${quick ? 'quick smoke run' : 'best of 5 rounds x 200k calls'}\n`);
console.log(table(results, raw));
console.log('');
for (const group of new Set(results.map((r) => r.group))) {
  const ours = results.filter((r) => r.group === group && !r.peer);
  const peers = results.filter((r) => r.group === group && r.peer);
  for (const p of peers) {
    // Compare like with like: same mode in parentheses when a case names one.
    const mode = /\((.*)\)/.exec(p.name)?.[1];
    for (const o of ours.filter((x) => mode === undefined || x.name.includes(`(${mode})`))) {
      console.log(`${group}: ${o.name} ${(p.ns / o.ns).toFixed(1)}x faster than ${p.name}`);
    }
  }
}
sink.n++;
