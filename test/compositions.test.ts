import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { deadlineQueueFor } from '../src/core/deadline-queue.js';
import {
  type BulkheadPolicy,
  bulkhead,
  type CircuitBreakerPolicy,
  type Context,
  circuitBreaker,
  hedge,
  type Policy,
  pipeline,
  retry,
  timeout,
} from '../src/index.js';
import { seededRandom } from '../src/testing/index.js';
import { abortListeners, captureCallbackErrors, FakeClock, track } from './helpers.js';

// Random compositions of the policies where they meet: an outer cooperative budget, hedging, retry
// (zero-delay included), a breaker, a bulkhead and an inner timeout of either strategy, some with
// callbacks that throw, under calls that start, abort and end at random times on the fake clock.
// Exact outcomes depend on every interleaving; the invariants do not:
// - every call settles, and nothing is left behind (slots, deadlines, listeners);
// - a call never outlives its caller's abort when its tasks honour their signal;
// - an aggressive timeout or a hedge inside the outer budget bounds the caller by that budget, even
//   when tasks ignore their signal;
// - no more tasks run at once than the bulkhead allows (abandoned ones included);
// - a downstream that never fails (nor times out) never opens the breaker, whatever hedging and callers
//   cancel.

const layersArb = fc.record({
  outer: fc.option(fc.integer({ min: 20, max: 400 }), { nil: undefined }),
  hedgeDelay: fc.option(fc.integer({ min: 1, max: 60 }), { nil: undefined }),
  retries: fc.option(
    fc.record({
      max: fc.integer({ min: 0, max: 3 }),
      backoff: fc.constantFrom<number | 'throws'>(0, 0, 5, 'throws'),
    }),
    { nil: undefined },
  ),
  breaker: fc.option(fc.record({ throwingHandle: fc.boolean() }), { nil: undefined }),
  bulkhead: fc.option(
    fc.record({ limit: fc.integer({ min: 1, max: 3 }), queue: fc.integer({ min: 0, max: 2 }) }),
    { nil: undefined },
  ),
  inner: fc.option(
    fc.record({
      durationMs: fc.integer({ min: 5, max: 300 }),
      strategy: fc.constantFrom<'aggressive' | 'cooperative'>('aggressive', 'cooperative'),
    }),
    { nil: undefined },
  ),
});

const callArb = fc.record({
  startAt: fc.integer({ min: 0, max: 100 }),
  latencyMs: fc.integer({ min: 1, max: 250 }),
  abortAfter: fc.option(fc.integer({ min: 0, max: 300 }), { nil: undefined }),
});

type Layers = typeof layersArb extends fc.Arbitrary<infer L> ? L : never;

function build(layers: Layers, clock: FakeClock) {
  const list: Policy[] = [];
  let breaker: CircuitBreakerPolicy | undefined;
  let pool: BulkheadPolicy | undefined;
  const boom = () => {
    throw new Error('callback bug');
  };
  if (layers.outer !== undefined) {
    list.push(timeout({ durationMs: layers.outer, strategy: 'cooperative', clock, name: 'budget' }));
  }
  if (layers.hedgeDelay !== undefined) list.push(hedge({ delayMs: layers.hedgeDelay, maxHedges: 1, clock }));
  if (layers.retries !== undefined) {
    const { max, backoff } = layers.retries;
    // Seeded: the default curve a throwing backoff falls back to has jitter, and runs must replay.
    list.push(
      retry({
        maxRetries: max,
        backoff: backoff === 'throws' ? boom : backoff,
        clock,
        random: seededRandom(7),
      }),
    );
  }
  if (layers.breaker !== undefined) {
    breaker = circuitBreaker({
      window: { kind: 'consecutive', failures: 3 },
      ...(layers.breaker.throwingHandle ? { handle: boom } : {}),
      clock,
    });
    list.push(breaker);
  }
  if (layers.bulkhead !== undefined) {
    pool = bulkhead({ ...layers.bulkhead, clock });
    list.push(pool);
  }
  if (layers.inner !== undefined) list.push(timeout({ ...layers.inner, clock, name: 'attempt' }));
  return { policy: pipeline(...list), breaker, pool };
}

describe('policies where they compose', () => {
  it('keep their invariants under random compositions, interleavings and throwing callbacks', async () => {
    const reported = captureCallbackErrors();
    try {
      await fc.assert(
        fc.asyncProperty(
          layersArb,
          fc.array(callArb, { minLength: 1, maxLength: 8 }),
          fc.boolean(),
          fc.boolean(),
          async (layers, calls, honoursSignal, healthy) => {
            const clock = new FakeClock();
            const { policy, breaker, pool } = build(layers, clock);
            let running = 0;
            let maxRunning = 0;
            // A downstream that answers after `latencyMs`, or fails (unless healthy); it stops on its
            // signal only when `honoursSignal`.
            const task = (latencyMs: number) => (ctx: Context) =>
              new Promise((resolve, reject) => {
                running++;
                maxRunning = Math.max(maxRunning, running);
                let done = false;
                // Like fetch, it stops listening once it has answered.
                const signal = honoursSignal ? ctx.signal : null;
                const onAbort = () => end(() => reject(signal!.reason));
                const end = (settle: () => void) => {
                  if (done) return;
                  done = true;
                  running--;
                  signal?.removeEventListener('abort', onAbort);
                  settle();
                };
                clock.setTimer(
                  () => end(() => (healthy ? resolve('ok') : reject(new Error('down')))),
                  latencyMs,
                );
                signal?.addEventListener('abort', onAbort, { once: true });
              });
            const callers: AbortController[] = [];
            const results = calls.map((spec) => {
              const caller = new AbortController();
              callers.push(caller);
              const holder: { call?: ReturnType<typeof track>; settledAt?: number } = {};
              clock.setTimer(() => {
                const abortAt = spec.abortAfter;
                if (abortAt !== undefined)
                  clock.setTimer(() => caller.abort(new Error('caller left')), abortAt);
                const call = policy.execute(task(spec.latencyMs), caller.signal);
                holder.call = track(call);
                const settled = () => {
                  holder.settledAt = clock.now();
                };
                call.then(settled, settled);
              }, spec.startAt);
              return { spec, holder };
            });
            await clock.tick(20_000);

            const context = { layers, calls, honoursSignal, healthy };
            for (const { spec, holder } of results) {
              expect({ settled: holder.call?.settled, context }).toEqual({ settled: true, context });
              const settledAt = holder.settledAt!;
              if (honoursSignal && spec.abortAfter !== undefined) {
                expect({ late: settledAt > spec.startAt + spec.abortAfter, context }).toEqual({
                  late: false,
                  context,
                });
              }
              const bounded =
                layers.outer !== undefined &&
                (honoursSignal || layers.hedgeDelay !== undefined || layers.inner?.strategy === 'aggressive');
              if (bounded) {
                // Deadlines fire on whole-millisecond timers armed from fractional times (jittered retry
                // sleeps): up to 1 ms late.
                expect({ outlived: settledAt > spec.startAt + layers.outer! + 1, context }).toEqual({
                  outlived: false,
                  context,
                });
              }
            }
            if (layers.bulkhead !== undefined) {
              expect({ maxRunning: maxRunning <= layers.bulkhead.limit, context }).toEqual({
                maxRunning: true,
                context,
              });
            }
            expect(running).toBe(0);
            expect(pool?.snapshot()).toMatchObject(pool === undefined ? {} : { inflight: 0, queueSize: 0 });
            // Timeouts are evidence of a slow downstream; cancellations (hedge losers, callers leaving)
            // are not.
            const neverFails = healthy && layers.inner === undefined && layers.outer === undefined;
            if (neverFails && breaker !== undefined && !layers.breaker!.throwingHandle) {
              expect({ state: breaker.state, context }).toEqual({ state: 'closed', context });
            }
            expect(deadlineQueueFor(clock).size).toBe(0);
            for (const caller of callers) expect(abortListeners(caller.signal)).toBe(0);
          },
        ),
        { numRuns: 250 },
      );
    } finally {
      reported.stop();
    }
  });
});
