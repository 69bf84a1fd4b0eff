// `npm run bench`: breakwater against peers in one process, on the built package (dist/), since that
// is what users run. Usage: node bench/run.mjs [--quick]
import * as cockatiel from 'cockatiel';
import Opossum from 'opossum';
import pLimit from 'p-limit';
import { bulkhead, circuitBreaker, fallback, pipeline, retry, timeout } from '../dist/esm/index.js';
import { loop, loopRejecting, measure, table } from './harness.mjs';

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

const bwBreaker = circuitBreaker();
const bwBreakerConsecutive = circuitBreaker({ window: { kind: 'consecutive', failures: 5 } });
const bwOpen = circuitBreaker();
bwOpen.open(2 ** 31 - 1);
const ckBreaker = cockatiel.circuitBreaker(cockatiel.handleAll, {
  halfOpenAfter: 10_000,
  breaker: new cockatiel.ConsecutiveBreaker(5),
});
const ckOpen = cockatiel.circuitBreaker(cockatiel.handleAll, {
  halfOpenAfter: 2 ** 31 - 1,
  breaker: new cockatiel.ConsecutiveBreaker(1),
});
await ckOpen.execute(() => Promise.reject(new Error('open it'))).catch(() => {});
// opossum arms a 10 s timer per call by default; `timeout: false` measures the breaker alone.
const opBreaker = new Opossum(fn, { timeout: false });
const opBreakerDefault = new Opossum(fn);
const opOpen = new Opossum(fn, { timeout: false });
opOpen.open();

const bwBulkhead = bulkhead(100);
const ckBulkhead = cockatiel.bulkhead(100, 0);
const pl = pLimit(100);
// Full bulkheads: one slot held forever, no queue.
const bwFull = bulkhead(1);
bwFull.execute(() => new Promise(() => {}));
const ckFull = cockatiel.bulkhead(1, 0);
ckFull.execute(() => new Promise(() => {}));

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
  { group: 'breaker closed', name: 'breakwater (count window)', run: loop(() => bwBreaker.execute(fn)) },
  {
    group: 'breaker closed',
    name: 'breakwater (consecutive)',
    run: loop(() => bwBreakerConsecutive.execute(fn)),
  },
  {
    group: 'breaker closed',
    name: 'cockatiel (consecutive)',
    peer: 'cockatiel',
    run: loop(() => ckBreaker.execute(fn)),
  },
  {
    group: 'breaker closed',
    name: 'opossum (timeout: false)',
    peer: 'opossum',
    run: loop(() => opBreaker.fire()),
  },
  {
    group: 'breaker closed',
    name: 'opossum (default 10 s timer)',
    peer: 'opossum',
    run: loop(() => opBreakerDefault.fire()),
  },
  {
    group: 'breaker open',
    name: 'breakwater execute (throws)',
    run: loopRejecting(() => bwOpen.execute(fn)),
  },
  { group: 'breaker open', name: 'breakwater executeOutcome', run: loop(() => bwOpen.executeOutcome(fn)) },
  {
    group: 'breaker open',
    name: 'cockatiel (throws)',
    peer: 'cockatiel',
    run: loopRejecting(() => ckOpen.execute(fn)),
  },
  {
    group: 'breaker open',
    name: 'opossum (throws)',
    peer: 'opossum',
    run: loopRejecting(() => opOpen.fire()),
  },
  {
    group: 'retry+timeout',
    name: 'cockatiel wrap',
    peer: 'cockatiel',
    run: loop(() => ckRetryTimeout.execute(fn)),
  },
  { group: 'bulkhead', name: 'breakwater bulkhead(100)', run: loop(() => bwBulkhead.execute(fn)) },
  {
    group: 'bulkhead',
    name: 'cockatiel bulkhead(100)',
    peer: 'cockatiel',
    run: loop(() => ckBulkhead.execute(fn)),
  },
  { group: 'bulkhead', name: 'p-limit(100)', peer: 'p-limit', run: loop(() => pl(fn)) },
  {
    group: 'bulkhead full',
    name: 'breakwater execute (throws)',
    run: loopRejecting(() => bwFull.execute(fn)),
  },
  { group: 'bulkhead full', name: 'breakwater executeOutcome', run: loop(() => bwFull.executeOutcome(fn)) },
  {
    group: 'bulkhead full',
    name: 'cockatiel (throws)',
    peer: 'cockatiel',
    run: loopRejecting(() => ckFull.execute(fn)),
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
    // Compare like with like: same mode in parentheses when both name one.
    const mode = /\((.*)\)/.exec(p.name)?.[1];
    const same = ours.filter((x) => x.name.includes(`(${mode})`));
    for (const o of same.length > 0 ? same : ours) {
      console.log(`${group}: ${o.name} ${(p.ns / o.ns).toFixed(1)}x faster than ${p.name}`);
    }
  }
}
sink.n++;
