// Instructions per call under valgrind (callgrind): repeatable on a noisy machine where timings are not.
// usage: node bench/instructions.mjs <case> <iterations>   (bench/instructions.sh <case> does the counting)
// cases: raw floor fallback ratelimit breaker bulkhead retry tcoop tcoopz taggr p4coop p4aggr p4sig

import { Executor, STAGES } from '../dist/esm/core/policy.js';
import * as bw from '../dist/esm/index.js';

class NoopGate extends Executor {
  [STAGES] = [{ stage: 'gate', scoped: false, enter: () => 0, exit: (_s, _t, r) => r }];
}
const [, , which, nArg] = process.argv;
const n = Number(nArg);
const fn = async () => 1;
const policies = {
  raw: null,
  floor: new NoopGate(),
  fallback: bw.fallback({ fallback: () => 0 }),
  ratelimit: bw.rateLimiter({ ratePerSecond: 1e9, burst: 1e9 }),
  breaker: bw.circuitBreaker(),
  bulkhead: bw.bulkhead(100),
  retry: bw.retry(),
  tcoop: bw.timeout({ durationMs: 1000, strategy: 'cooperative' }),
  tcoopz: bw.timeout({
    durationMs: 1000,
    strategy: 'cooperative',
    clock: { now: () => 0, setTimer: () => 0, clearTimer: () => {} },
  }),
  taggr: bw.timeout(1000),
  p4coop: bw.pipeline(
    bw.retry(),
    bw.circuitBreaker(),
    bw.bulkhead(100),
    bw.timeout({ durationMs: 1000, strategy: 'cooperative' }),
  ),
  p4aggr: bw.pipeline(bw.retry(), bw.circuitBreaker(), bw.bulkhead(100), bw.timeout(1000)),
};
// The realistic call: the task reads its signal and passes it on, as `fetch(url, { signal })` does.
policies.p4sig = policies.p4coop;
const reads = (ctx) => (ctx.signal.aborted ? 0 : fn());
const p = policies[which];
const task = which === 'p4sig' ? reads : fn;
const call = p === null ? fn : () => p.execute(task);
for (let i = 0; i < 20000; i++) await call();
for (let i = 0; i < n; i++) await call();
