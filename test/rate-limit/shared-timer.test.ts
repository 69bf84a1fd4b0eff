import { describe, expect, it } from 'vitest';
import type { TimerHandle } from '../../src/core/clock.js';
import { deadlineQueueFor } from '../../src/core/deadline-queue.js';
import { pipeline, TimeoutError, timeout } from '../../src/index.js';
import { rateLimiter } from '../../src/rate-limit/index.js';
import { FakeClock, track } from '../helpers.js';

/** Counts the native timers armed through it. */
class CountingClock extends FakeClock {
  armed = 0;
  override setTimer(callback: () => void, delayMs: number, ref?: boolean): TimerHandle {
    this.armed++;
    return super.setTimer(callback, delayMs, ref);
  }
}

/** Work that only ends when its signal aborts. */
const hang = ({ signal }: { signal: AbortSignal }) =>
  new Promise<never>((_, reject) => signal.addEventListener('abort', () => reject(signal.reason)));

describe('rate limiter wake-ups on the shared deadline queue', () => {
  it("a limiter's waiting calls and a timeout share one native timer", async () => {
    const clock = new CountingClock();
    const queue = deadlineQueueFor(clock);
    const rl = rateLimiter({ ratePerSecond: 10, burst: 1, maxWaitMs: 1_000, clock });
    const to = timeout({ durationMs: 250, strategy: 'cooperative', clock });
    await rl.execute(() => 0);
    const timed = track(to.execute(hang));
    const waiting = [track(rl.execute(() => 'a')), track(rl.execute(() => 'b'))]; // slots 100 and 200
    expect(clock.pendingTimers).toBe(1);
    expect(queue.size).toBe(2); // the timeout's entry, and the limiter's key (not one per call)
    expect(queue.heapSize).toBe(1);
    expect(queue.keepsAlive).toBe(true);
    await clock.tick(100);
    expect(waiting[0]!.value).toBe('a');
    expect(clock.pendingTimers).toBe(1);
    await clock.tick(100);
    expect(waiting[1]!.value).toBe('b');
    await clock.tick(50);
    expect(timed.error).toBeInstanceOf(TimeoutError);
    expect(clock.pendingTimers).toBe(0);
    expect(queue.size).toBe(0);
    // First the limiter's slot at 100 (earlier than the timeout's 250), then one re-arm per wake-up.
    expect(clock.armed).toBeLessThanOrEqual(4);
  });

  it('a call waiting for its permit inside a timeout, on several keyed limiters, uses one timer', async () => {
    const clock = new CountingClock();
    const a = rateLimiter({ ratePerSecond: 10, burst: 1, maxWaitMs: 1_000, keyed: true, clock });
    const b = rateLimiter({ ratePerSecond: 4, burst: 1, maxWaitMs: 1_000, clock });
    const policy = pipeline(timeout({ durationMs: 900, clock }), a, b);
    const started: string[] = [];
    const run = (key: string) => track(policy.execute(() => started.push(`${key}@${clock.now()}`), { key }));
    const calls = ['x', 'y', 'x', 'y'].map(run);
    await clock.tick(0);
    expect(clock.pendingTimers).toBe(1);
    // Keys x and y wait at `a`, the first y at `b`: three wake-ups on the one timer, plus the
    // deadlines of the three calls still waiting (the first x ran at once).
    expect(deadlineQueueFor(clock).heapSize).toBe(3);
    expect(deadlineQueueFor(clock).size).toBe(6);
    await clock.tick(1_000);
    for (const c of calls) expect(c.ok).toBe(true);
    // b spaces every call 250 ms apart, whatever a allowed.
    expect(started).toEqual(['x@0', 'y@250', 'x@500', 'y@750']);
    expect(clock.pendingTimers).toBe(0);
    expect(deadlineQueueFor(clock).size).toBe(0);
  });
});
