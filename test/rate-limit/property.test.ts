import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { RateLimitedError } from '../../src/index.js';
import { type RateLimiterOptions, rateLimiter } from '../../src/rate-limit/index.js';
import { abortListeners, FakeClock } from '../helpers.js';
import { spacingViolations, windowExcess } from './bounds.js';

type Op = { t: 'arrive'; abortAfter: number | undefined } | { t: 'advance'; ms: number };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 5,
    arbitrary: fc.record({
      t: fc.constant('arrive' as const),
      abortAfter: fc.option(fc.integer({ min: 0, max: 400 }), { nil: undefined, freq: 3 }),
    }),
  },
  {
    weight: 3,
    arbitrary: fc.record({ t: fc.constant('advance' as const), ms: fc.integer({ min: 0, max: 150 }) }),
  },
);

const EPS = 1e-6;

interface Call {
  arrivedAt: number;
  startedAt?: number;
  settled: number;
  error?: unknown;
  signal: AbortSignal;
}

/** Drives random arrivals, aborts and pauses through a limiter on a fake clock; returns every call. */
async function drive(options: RateLimiterOptions, ops: Op[]) {
  const clock = new FakeClock();
  const rl = rateLimiter({ ...options, clock });
  const calls: Call[] = [];
  const order: number[] = [];
  const settling: Promise<void>[] = [];
  for (const op of ops) {
    if (op.t === 'advance') {
      await clock.tick(op.ms);
      continue;
    }
    const controller = new AbortController();
    const call: Call = { arrivedAt: clock.now(), settled: 0, signal: controller.signal };
    const index = calls.push(call) - 1;
    if (op.abortAfter !== undefined) clock.setTimer(() => controller.abort('aborted'), op.abortAfter);
    settling.push(
      rl
        .execute(() => {
          call.startedAt = clock.now();
          order.push(index);
        }, controller.signal)
        .then(
          () => void call.settled++,
          (error) => {
            call.settled++;
            call.error = error;
          },
        ),
    );
  }
  // Long enough for every waiter's slot and every abort timer.
  await clock.tick(10_000);
  await Promise.all(settling);
  return { rl, clock, calls, order };
}

function checkCommon(
  calls: Call[],
  order: number[],
  maxWaitMs: number,
  intervalMs: number,
  clock: FakeClock,
): number[] {
  const starts: number[] = [];
  for (const c of calls) {
    expect(c.settled).toBe(1);
    if (c.startedAt !== undefined) {
      expect(c.error).toBeUndefined();
      // Nobody waits longer than maxWaitMs.
      expect(c.startedAt - c.arrivedAt).toBeLessThanOrEqual(maxWaitMs + EPS);
      starts.push(c.startedAt);
    } else if (c.error instanceof RateLimitedError) {
      // Refused only when its permit was further away than the allowed wait.
      expect(c.error.retryAfterMs).toBeGreaterThan(maxWaitMs);
    } else {
      expect(c.error).toBe('aborted');
      expect(c.signal.aborted).toBe(true);
    }
    expect(abortListeners(c.signal)).toBe(0);
  }
  // Admitted in arrival order.
  expect(order).toEqual([...order].sort((a, b) => a - b));
  // Start times follow that order too.
  const byOrder = order.map((i) => calls[i]!.startedAt!);
  for (let i = 1; i < byOrder.length; i++) expect(byOrder[i]!).toBeGreaterThanOrEqual(byOrder[i - 1]!);
  // Work-conserving: a call that had to wait starts at most one interval after the previous permit, so
  // a waiter that left never leaves a hole in the schedule (its permit went to the next one).
  for (let i = 1; i < order.length; i++) {
    const c = calls[order[i]!]!;
    if (c.startedAt! > c.arrivedAt)
      expect(c.startedAt! - byOrder[i - 1]!).toBeLessThanOrEqual(intervalMs + EPS);
  }
  expect(clock.pendingTimers).toBe(0);
  return byOrder;
}

describe('rate limiter under random arrivals, aborts and pauses', () => {
  it('token bucket: at most rate * W + burst starts in any window W, FIFO, no wait beyond maxWaitMs, no lost permit', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 40 }),
        fc.integer({ min: 1, max: 4 }),
        fc.constantFrom(0, 100, 333, 1_000),
        fc.array(opArb, { maxLength: 60, size: 'max' }),
        async (perSecond, burst, maxWaitMs, ops) => {
          const { rl, clock, calls, order } = await drive(
            { ratePerSecond: perSecond, burst, maxWaitMs },
            ops,
          );
          const starts = checkCommon(calls, order, maxWaitMs, 1_000 / perSecond, clock);
          const rate = perSecond / 1_000;
          expect(windowExcess(starts, rate, burst)).toEqual([]);
          // Every permit came back: idle for long enough, the bucket is full again.
          clock.advance((burst * 1_000) / perSecond);
          expect(rl.snapshot()).toMatchObject({ waiting: 0, available: burst });
        },
      ),
      { numRuns: 150 },
    );
  });

  it('smooth: starts i < j are at least (j - i) * interval - tolerance apart, FIFO, no wait beyond maxWaitMs', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 40 }),
        fc.constantFrom(0, 10, 120),
        fc.constantFrom(0, 100, 333, 1_000),
        fc.array(opArb, { maxLength: 60, size: 'max' }),
        async (perSecond, toleranceMs, maxWaitMs, ops) => {
          const interval = 1_000 / perSecond;
          const { rl, clock, calls, order } = await drive(
            { algorithm: 'smooth', ratePerSecond: perSecond, toleranceMs, maxWaitMs },
            ops,
          );
          const starts = checkCommon(calls, order, maxWaitMs, interval, clock);
          expect(spacingViolations(starts, interval, toleranceMs)).toEqual([]);
          clock.advance(interval + toleranceMs);
          expect(rl.snapshot()).toMatchObject({ waiting: 0, nextPermitInMs: 0 });
        },
      ),
      { numRuns: 150 },
    );
  });
});
