import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { deadlineQueueFor } from '../../src/core/deadline-queue.js';
import { BulkheadRejectedError, bulkhead } from '../../src/index.js';
import { abortListeners, FakeClock } from '../helpers.js';

type Op =
  | { t: 'arrive'; workMs: number; abortAfter: number | undefined }
  | { t: 'limit'; to: number }
  | { t: 'advance'; ms: number };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.record({
      t: fc.constant('arrive' as const),
      workMs: fc.integer({ min: 0, max: 40 }),
      abortAfter: fc.option(
        fc.integer({ min: 0, max: 40 }).map((n) => n + 0.5),
        { nil: undefined },
      ),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({ t: fc.constant('limit' as const), to: fc.integer({ min: 1, max: 5 }) }),
  },
  {
    weight: 3,
    arbitrary: fc.record({ t: fc.constant('advance' as const), ms: fc.integer({ min: 0, max: 15 }) }),
  },
);

describe('bulkhead under random arrivals, aborts and limit changes', () => {
  it('never starts a call beyond the limit, and every call settles once with a reason', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 4 }),
        fc.integer({ min: 0, max: 4 }),
        fc.constantFrom(10, 25, Number.POSITIVE_INFINITY),
        fc.array(opArb, { maxLength: 50 }),
        async (limit, queue, maxWaitMs, ops) => {
          const clock = new FakeClock();
          const b = bulkhead({ limit, queue, maxWaitMs, clock });
          // Limits in force over time: a call is admitted at some moment between its arrival and its start,
          // under one of the limits set in between, so no more than that many can be running when it starts.
          const limits = [limit];
          let running = 0;
          const calls: { settled: number; outcome?: string; signal: AbortSignal; started: boolean }[] = [];
          const settling: Promise<void>[] = [];
          for (const op of ops) {
            if (op.t === 'advance') {
              await clock.tick(op.ms);
              continue;
            }
            if (op.t === 'limit') {
              limits.push(op.to);
              b.setLimit(op.to);
              continue;
            }
            const arrivedAt = limits.length - 1;
            const controller = new AbortController();
            const record = {
              settled: 0,
              signal: controller.signal,
              started: false,
            } as (typeof calls)[number];
            calls.push(record);
            if (op.abortAfter !== undefined) clock.setTimer(() => controller.abort('aborted'), op.abortAfter);
            const p = b
              .execute(() => {
                expect(running).toBeLessThan(Math.max(...limits.slice(arrivedAt)));
                running++;
                record.started = true;
                return new Promise<string>((resolve) =>
                  clock.setTimer(() => {
                    running--;
                    resolve('ran');
                  }, op.workMs),
                );
              }, controller.signal)
              .then(
                (v) => v,
                (e) =>
                  e instanceof BulkheadRejectedError
                    ? e.reason
                    : e === 'aborted'
                      ? 'aborted'
                      : `unexpected ${e}`,
              )
              .then((outcome) => {
                record.settled++;
                record.outcome = outcome;
              });
            settling.push(p);
            await Promise.resolve();
          }
          await clock.tick(1_000);
          await Promise.all(settling);
          for (const c of calls) {
            expect(c.settled).toBe(1);
            expect(['ran', 'full', 'wait-timeout', 'aborted']).toContain(c.outcome);
            // A call either ran and returned its value, or never started.
            expect(c.started).toBe(c.outcome === 'ran');
            expect(abortListeners(c.signal)).toBe(0);
          }
          expect(b.snapshot()).toMatchObject({ inflight: 0, queueSize: 0 });
          expect(deadlineQueueFor(clock).size).toBe(0);
        },
      ),
      { numRuns: 300 },
    );
  });
});
