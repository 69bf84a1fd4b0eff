import { getEventListeners } from 'node:events';
import { describe, expect, it } from 'vitest';
import { deadlineQueueFor } from '../src/core/deadline-queue.js';
import { pipeline, retry, systemClock, timeout } from '../src/index.js';
import { FakeClock } from './helpers.js';

describe('no leaks', () => {
  it('100k calls through timeout + retry leave no pending timer, deadline or listener', async () => {
    const clock = new FakeClock();
    const caller = new AbortController();
    const policy = pipeline(
      retry({ maxRetries: 2, backoff: 1, clock }),
      timeout({ durationMs: 50, clock, strategy: 'aggressive' }),
      timeout({ durationMs: 40, clock, strategy: 'cooperative' }),
    );
    let n = 0;
    const batch: Promise<unknown>[] = [];
    for (let i = 0; i < 100_000; i++) {
      // Every third call fails once (a retry with a sleep); every call reads its signal.
      batch.push(
        policy
          .execute(({ signal, attempt }) => {
            if (signal.aborted) throw new Error('unexpected abort');
            n++;
            if (i % 3 === 0 && attempt === 1) throw new Error('transient');
            return i;
          }, caller.signal)
          .catch(() => undefined),
      );
      if (batch.length === 1_000) {
        await clock.tick(1);
        await Promise.all(batch.splice(0));
      }
    }
    await clock.tick(1);
    await Promise.all(batch);
    expect(n).toBe(100_000 + Math.ceil(100_000 / 3));
    expect(deadlineQueueFor(clock).size).toBe(0);
    expect(getEventListeners(caller.signal, 'abort')).toHaveLength(0);
    await clock.tick(100);
    expect(clock.pendingTimers).toBe(0);
  });

  it('calls on the system clock leave no ref timer and an empty deadline queue', async () => {
    const policy = pipeline(retry({ maxRetries: 1, backoff: 1 }), timeout(5_000));
    for (let i = 0; i < 10_000; i++) await policy.execute(({ signal }) => signal.aborted);
    const queue = deadlineQueueFor(systemClock);
    expect(queue.size).toBe(0);
    expect(queue.timerArmed).toBe(true);
    // Counting the process's active timers would also count the test runner's own, which come and go:
    // ask the queue. It unrefs its timer by the end of the turn in which the last deadline went.
    await new Promise((resolve) => setImmediate(resolve));
    expect(queue.keepsAlive).toBe(false);
  });
});
