import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { deadlineQueueFor } from '../../src/core/deadline-queue.js';
import { TimeoutError, type TimeoutStrategy, timeout } from '../../src/index.js';
import { abortListeners, FakeClock, track } from '../helpers.js';

// Times are chosen so that no two events coincide: work ends on even ms, deadlines on odd ms,
// parent aborts on half ms. Each call's expected outcome follows from the order of its three events.
const callArb = fc.record({
  startAt: fc.integer({ min: 0, max: 50 }),
  workHalf: fc.integer({ min: 0, max: 60 }),
  fails: fc.boolean(),
  honoursSignal: fc.boolean(),
  abortAfter: fc.option(fc.integer({ min: 0, max: 120 }), { nil: undefined }),
});

describe('timeout under random interleavings', () => {
  it('settles every call as the specification says, and leaves nothing armed', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom<TimeoutStrategy>('aggressive', 'cooperative'),
        fc.integer({ min: 0, max: 40 }).map((k) => 2 * k + 1),
        fc.array(callArb, { minLength: 1, maxLength: 12 }),
        async (strategy, durationMs, calls) => {
          const clock = new FakeClock();
          const policy = timeout({ durationMs, strategy, clock });
          const parents: AbortController[] = [];
          const results = calls.map((spec) => {
            const parent = new AbortController();
            parents.push(parent);
            const startedAt = spec.startAt;
            const workEnd = startedAt + 2 * spec.workHalf;
            const deadline = startedAt + durationMs;
            const abortAt =
              spec.abortAfter === undefined ? Number.POSITIVE_INFINITY : startedAt + spec.abortAfter + 0.5;
            const holder: { call?: ReturnType<typeof track> } = {};
            clock.setTimer(() => {
              if (abortAt !== Number.POSITIVE_INFINITY)
                clock.setTimer(() => parent.abort('parent'), abortAt - startedAt);
              holder.call = track(
                policy.execute(
                  (ctx) =>
                    new Promise((resolve, reject) => {
                      const finish = () => (spec.fails ? reject(new Error('work')) : resolve('value'));
                      const t = clock.setTimer(finish, workEnd - startedAt);
                      if (spec.honoursSignal) {
                        const { signal } = ctx;
                        signal.addEventListener('abort', () => {
                          clock.clearTimer(t);
                          reject(signal.reason);
                        });
                      }
                    }),
                  parent.signal,
                ),
              );
            }, startedAt);
            return { spec, workEnd, deadline, abortAt, holder };
          });
          await clock.tick(500);
          for (const { spec, workEnd, deadline, abortAt, holder } of results) {
            const call = holder.call!;
            expect(call.settled).toBe(true);
            const firstStop = Math.min(deadline, abortAt);
            let expected: 'value' | 'work' | 'timeout' | 'parent';
            if (strategy === 'aggressive' || spec.honoursSignal) {
              if (workEnd < firstStop) expected = spec.fails ? 'work' : 'value';
              else expected = deadline < abortAt ? 'timeout' : 'parent';
            } else if (!spec.fails) {
              expected = 'value';
            } else {
              // The signal was never read, so nothing observed when the parent aborted: a parent that
              // has aborted by the time the work fails takes precedence over the passed deadline.
              expected = workEnd > deadline && abortAt > workEnd ? 'timeout' : 'work';
            }
            const got = call.ok
              ? call.value
              : call.error instanceof TimeoutError
                ? 'timeout'
                : call.error === 'parent'
                  ? 'parent'
                  : (call.error as Error).message;
            expect({ got, spec, durationMs, strategy }).toEqual({
              got: expected,
              spec,
              durationMs,
              strategy,
            });
          }
          expect(deadlineQueueFor(clock).size).toBe(0);
          for (const parent of parents) expect(abortListeners(parent.signal)).toBe(0);
        },
      ),
      { numRuns: 300 },
    );
  });
});
