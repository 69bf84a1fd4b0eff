// Micro-benchmarks: the cost one call pays for each policy, on the success path and the rejection
// paths, next to the same cases through peers, in one process and one run.
import * as cockatiel from 'cockatiel';
import Opossum from 'opossum';
import pLimit from 'p-limit';
import pRetry from 'p-retry';
import { Executor, STAGES } from '../dist/esm/core/policy.js';
import * as bw from '../dist/esm/index.js';
import { cases as coalesceCases } from './coalesce.mjs';
import { loop, loopRejecting } from './harness.mjs';

const fn = async () => 1;

class NoopGate extends Executor {
  [STAGES] = [{ stage: 'gate', scoped: false, enter: () => 0, exit: (_scope, _token, result) => result }];
}

export const PEERS = { cockatiel: '4.0.0', opossum: '10.0.0', 'p-limit': '7.3.3', 'p-retry': '8.0.1' };

/** Every case: { group, name, peer?, run(n) }. `group` names what is compared; `peer` marks other libraries. */
export function microCases() {
  const cases = [];
  const add = (group, name, run, peer) =>
    cases.push(peer === undefined ? { group, name, run } : { group, name, peer, run });

  add('baseline', 'raw await fn()', loop(fn));
  // The framework's own cost: a policy whose gate decides nothing. What a breaker or bulkhead costs above
  // it is the policy's own work.
  const floor = new NoopGate();
  add(
    'baseline',
    'breakwater no-op gate (framework floor)',
    loop(() => floor.execute(fn)),
  );

  cases.push(...coalesceCases);

  // --- each policy alone, success path ---
  const retry = bw.retry();
  add(
    'retry',
    'breakwater retry()',
    loop(() => retry.execute(fn)),
  );
  const ckRetry = cockatiel.retry(cockatiel.handleAll, { maxAttempts: 3 });
  add(
    'retry',
    'cockatiel retry',
    loop(() => ckRetry.execute(fn)),
    'cockatiel',
  );
  add(
    'retry',
    'p-retry',
    loop(() => pRetry(fn, { retries: 3 })),
    'p-retry',
  );

  const tAggr = bw.timeout(1_000);
  const tCoop = bw.timeout({ durationMs: 1_000, strategy: 'cooperative' });
  add(
    'timeout',
    'breakwater timeout (aggressive)',
    loop(() => tAggr.execute(fn)),
  );
  add(
    'timeout',
    'breakwater timeout (cooperative)',
    loop(() => tCoop.execute(fn)),
  );
  const ckAggr = cockatiel.timeout(1_000, cockatiel.TimeoutStrategy.Aggressive);
  const ckCoop = cockatiel.timeout(1_000, cockatiel.TimeoutStrategy.Cooperative);
  add(
    'timeout',
    'cockatiel timeout (aggressive)',
    loop(() => ckAggr.execute(fn)),
    'cockatiel',
  );
  add(
    'timeout',
    'cockatiel timeout (cooperative)',
    loop(() => ckCoop.execute(fn)),
    'cockatiel',
  );

  const breaker = bw.circuitBreaker();
  const breakerConsecutive = bw.circuitBreaker({ window: { kind: 'consecutive', failures: 5 } });
  const breakerTime = bw.circuitBreaker({ window: { kind: 'time', durationMs: 10_000, buckets: 10 } });
  add(
    'breaker closed',
    'breakwater (count window)',
    loop(() => breaker.execute(fn)),
  );
  add(
    'breaker closed',
    'breakwater (consecutive)',
    loop(() => breakerConsecutive.execute(fn)),
  );
  add(
    'breaker closed',
    'breakwater (time window)',
    loop(() => breakerTime.execute(fn)),
  );
  const ckBreaker = cockatiel.circuitBreaker(cockatiel.handleAll, {
    halfOpenAfter: 10_000,
    breaker: new cockatiel.ConsecutiveBreaker(5),
  });
  add(
    'breaker closed',
    'cockatiel (consecutive)',
    loop(() => ckBreaker.execute(fn)),
    'cockatiel',
  );
  const opBreaker = new Opossum(fn, { timeout: false });
  const opBreakerDefault = new Opossum(fn);
  add(
    'breaker closed',
    'opossum (timeout: false)',
    loop(() => opBreaker.fire()),
    'opossum',
  );
  add(
    'breaker closed',
    'opossum (default 10 s timer)',
    loop(() => opBreakerDefault.fire()),
    'opossum',
  );

  const bulk = bw.bulkhead(100);
  add(
    'bulkhead',
    'breakwater bulkhead(100)',
    loop(() => bulk.execute(fn)),
  );
  const ckBulk = cockatiel.bulkhead(100, 0);
  add(
    'bulkhead',
    'cockatiel bulkhead(100)',
    loop(() => ckBulk.execute(fn)),
    'cockatiel',
  );
  const limit = pLimit(100);
  add(
    'bulkhead',
    'p-limit(100)',
    loop(() => limit(fn)),
    'p-limit',
  );

  const fb = bw.fallback({ fallback: () => 0 });
  add(
    'fallback',
    'breakwater fallback',
    loop(() => fb.execute(fn)),
  );
  const ckFallback = cockatiel.fallback(cockatiel.handleAll, 0);
  add(
    'fallback',
    'cockatiel fallback',
    loop(() => ckFallback.execute(fn)),
    'cockatiel',
  );

  const limiter = bw.rateLimiter({ ratePerSecond: 1e9, burst: 1e9 });
  add(
    'rate limiter',
    'breakwater rateLimiter (token bucket)',
    loop(() => limiter.execute(fn)),
  );

  // --- the four-policy pipeline of DESIGN.md ---
  const p4 = bw.pipeline(bw.retry(), bw.circuitBreaker(), bw.bulkhead(100), bw.timeout(1_000));
  const p4coop = bw.pipeline(
    bw.retry(),
    bw.circuitBreaker(),
    bw.bulkhead(100),
    bw.timeout({ durationMs: 1_000, strategy: 'cooperative' }),
  );
  add(
    'pipeline',
    'breakwater retry+breaker+bulkhead+timeout (aggressive)',
    loop(() => p4.execute(fn)),
  );
  add(
    'pipeline',
    'breakwater retry+breaker+bulkhead+timeout (cooperative)',
    loop(() => p4coop.execute(fn)),
  );
  const ckP4 = cockatiel.wrap(
    cockatiel.retry(cockatiel.handleAll, { maxAttempts: 3 }),
    cockatiel.circuitBreaker(cockatiel.handleAll, {
      halfOpenAfter: 10_000,
      breaker: new cockatiel.ConsecutiveBreaker(5),
    }),
    cockatiel.bulkhead(100, 0),
    cockatiel.timeout(1_000, cockatiel.TimeoutStrategy.Aggressive),
  );
  add(
    'pipeline',
    'cockatiel wrap(retry, breaker, bulkhead, timeout) (aggressive)',
    loop(() => ckP4.execute(fn)),
    'cockatiel',
  );

  // --- rejection paths ---
  const open = bw.circuitBreaker();
  open.open(2 ** 31 - 1);
  add(
    'breaker open',
    'breakwater execute (throws)',
    loopRejecting(() => open.execute(fn)),
  );
  add(
    'breaker open',
    'breakwater executeOutcome',
    loop(() => open.executeOutcome(fn)),
  );
  const ckOpen = cockatiel.circuitBreaker(cockatiel.handleAll, {
    halfOpenAfter: 2 ** 31 - 1,
    breaker: new cockatiel.ConsecutiveBreaker(1),
  });
  ckOpen.execute(() => Promise.reject(new Error('open it'))).catch(() => {});
  add(
    'breaker open',
    'cockatiel (throws)',
    loopRejecting(() => ckOpen.execute(fn)),
    'cockatiel',
  );
  const opOpen = new Opossum(fn, { timeout: false });
  opOpen.open();
  add(
    'breaker open',
    'opossum (throws)',
    loopRejecting(() => opOpen.fire()),
    'opossum',
  );

  const full = bw.bulkhead(1);
  full.execute(() => new Promise(() => {}));
  add(
    'bulkhead full',
    'breakwater execute (throws)',
    loopRejecting(() => full.execute(fn)),
  );
  add(
    'bulkhead full',
    'breakwater executeOutcome',
    loop(() => full.executeOutcome(fn)),
  );
  const ckFull = cockatiel.bulkhead(1, 0);
  ckFull.execute(() => new Promise(() => {}));
  add(
    'bulkhead full',
    'cockatiel (throws)',
    loopRejecting(() => ckFull.execute(fn)),
    'cockatiel',
  );

  // --- listeners: the cost of being observed ---
  const observed = bw.circuitBreaker();
  observed.onEvent(() => {});
  add(
    'listeners',
    'breakwater breaker, no listener',
    loop(() => breaker.execute(fn)),
  );
  add(
    'listeners',
    'breakwater breaker, onEvent listener',
    loop(() => observed.execute(fn)),
  );
  const ckObserved = cockatiel.circuitBreaker(cockatiel.handleAll, {
    halfOpenAfter: 10_000,
    breaker: new cockatiel.ConsecutiveBreaker(5),
  });
  ckObserved.onSuccess(() => {});
  add(
    'listeners',
    'cockatiel breaker, onSuccess listener',
    loop(() => ckObserved.execute(fn)),
    'cockatiel',
  );

  return cases;
}

/** The same cases through tinybench (one awaited call per sample), for a second opinion. */
export async function tinybenchMicro(cases, { time = 300 } = {}) {
  const { Bench } = await import('tinybench');
  const bench = new Bench({ time, warmupTime: 100 });
  for (const c of cases) bench.add(`${c.group}|${c.name}`, () => c.run(1));
  await bench.run();
  const out = new Map();
  for (const t of bench.tasks)
    out.set(t.name, t.result?.latency?.p50 === undefined ? Number.NaN : t.result.latency.p50 * 1e6);
  return out;
}
