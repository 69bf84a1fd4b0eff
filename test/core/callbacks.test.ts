import { afterEach, describe, expect, it } from 'vitest';
import { systemClock } from '../../src/core/clock.js';
import { Emitter } from '../../src/core/events.js';
import {
  aimdLimit,
  type Backoff,
  bulkhead,
  type ConcurrencyLimit,
  circuitBreaker,
  injectError,
  retry,
  vegasLimit,
} from '../../src/index.js';
import { captureCallbackErrors, deferred, FakeClock, track } from '../helpers.js';

// The rule for every user callback: a throw is reported, the callback's safe default is used, the
// task's own outcome reaches the caller, and nothing (a slot, a timer) is left behind.

const boom = () => {
  throw new Error('callback bug');
};

describe('user callbacks that throw', () => {
  let reported: ReturnType<typeof captureCallbackErrors> | undefined;
  afterEach(() => {
    reported?.stop();
    reported = undefined;
  });
  const capture = () => {
    reported = captureCallbackErrors();
    return reported;
  };

  it('bulkhead.isDrop: the slot is released and the call keeps its own failure', async () => {
    const errors = capture();
    const b = bulkhead({ limit: aimdLimit({ initialLimit: 1, minLimit: 1 }), isDrop: boom });
    const task = new Error('downstream');
    await expect(b.execute(() => Promise.reject(task))).rejects.toBe(task);
    expect(b.snapshot()).toMatchObject({ inflight: 0 });
    // The slot is really free: the next call runs.
    await expect(b.execute(() => 'next')).resolves.toBe('next');
    expect(errors.map((e) => [e.callback, e.policy])).toEqual([['bulkhead.isDrop', b.name]]);
  });

  it('a custom concurrency limit whose onSample throws never keeps a slot', async () => {
    const errors = capture();
    const limit: ConcurrencyLimit = {
      limit: 1,
      onSample: boom,
      onLimitChange: new Emitter<number>().subscribe,
    };
    const b = bulkhead({ limit, queue: 1 });
    const first = deferred<string>();
    const running = b.execute(() => first.promise);
    const queued = b.execute(() => 'queued');
    first.resolve('first');
    await expect(running).resolves.toBe('first');
    await expect(queued).resolves.toBe('queued');
    expect(b.snapshot()).toMatchObject({ inflight: 0, queueSize: 0 });
    expect(errors.map((e) => e.callback)).toEqual(['bulkhead limit.onSample', 'bulkhead limit.onSample']);
  });

  it('a classification predicate that throws counts the outcome as a failure', async () => {
    const errors = capture();
    const clock = new FakeClock();
    const policy = retry({ maxRetries: 2, backoff: 0, handle: boom, clock });
    let calls = 0;
    const task = new Error('task');
    await expect(
      policy.execute(() => {
        calls++;
        throw task;
      }),
    ).rejects.toBe(task);
    expect(calls).toBe(3);
    expect(errors.map((e) => [e.callback, e.policy])).toEqual(Array(3).fill(['retry.handle', policy.name]));
  });

  it('retry: a backoff that throws gets the default curve; a retryAfter hook that throws gives no pushback', async () => {
    const errors = capture();
    const clock = new FakeClock();
    const times: number[] = [];
    const policy = retry({ maxRetries: 2, backoff: boom, retryAfter: boom, random: () => 0.5, clock });
    const call = track(
      policy.execute(() => {
        times.push(clock.now());
        throw new Error('task');
      }),
    );
    await clock.tick(1_000);
    expect((call.error as Error).message).toBe('task');
    // exponential(): 100 ms doubling with full jitter, here at half.
    expect(times).toEqual([0, 50, 150]);
    expect(errors.map((e) => e.callback).sort()).toEqual([
      'retry.backoff',
      'retry.backoff',
      'retry.retryAfter',
      'retry.retryAfter',
    ]);
  });

  it('retry: whatever a custom curve returns, the delay stays in [0, maxDelayMs]', async () => {
    const clock = new FakeClock();
    const answers = [Number.NaN, -5, Number.POSITIVE_INFINITY, 3e9];
    const raw: Backoff = { delay: (attempt) => answers[attempt - 1]! };
    const times: number[] = [];
    const call = track(
      retry({ maxRetries: 4, backoff: raw, maxDelayMs: 1_000, clock }).execute(() => {
        times.push(clock.now());
        throw new Error('task');
      }),
    );
    await clock.tick(5_000);
    expect(call.settled).toBe(true);
    expect(times).toEqual([0, 0, 0, 1_000, 2_000]);
  });

  it('delays beyond what a timer can wait are refused at construction', () => {
    expect(() => retry({ backoff: 3e9 })).toThrow(/retry\.backoff/);
    expect(() => retry({ maxDelayMs: 3e9 })).toThrow(/retry\.maxDelayMs/);
  });

  it('circuitBreaker: a break backoff that throws (or answers NaN) opens for the default break', async () => {
    const errors = capture();
    const clock = new FakeClock();
    for (const delay of [boom, () => Number.NaN]) {
      const breaker = circuitBreaker({
        window: { kind: 'consecutive', failures: 1 },
        breakBackoff: { delay },
        clock,
      });
      await breaker.executeOutcome(() => Promise.reject(new Error('down')));
      expect(breaker.snapshot()).toMatchObject({ state: 'open', retryAfterMs: 10_000 });
    }
    expect(errors.map((e) => e.callback)).toEqual(['circuitBreaker.breakDurationMs']);
  });

  it('a raw break Backoff that ignores its cap is still capped by maxBreakDurationMs', async () => {
    const clock = new FakeClock();
    const breaker = circuitBreaker({
      window: { kind: 'consecutive', failures: 1 },
      breakBackoff: { delay: () => 1e9 },
      maxBreakDurationMs: 60_000,
      clock,
    });
    await breaker.executeOutcome(() => Promise.reject(new Error('down')));
    expect(breaker.snapshot().retryAfterMs).toBe(60_000);
  });

  it('fault injection: a fault factory that throws injects nothing', async () => {
    const errors = capture();
    const policy = injectError({ rate: 1, error: boom });
    await expect(policy.execute(() => 'real')).resolves.toBe('real');
    expect(errors.map((e) => e.callback)).toEqual(['error fault']);
  });

  it('adaptive limits: a function of the limit that throws answers with the default', () => {
    const errors = capture();
    const limit = vegasLimit({ initialLimit: 20, decrease: boom });
    // A drop asks `decrease`; the default takes limit - log10Root(limit) = 19.
    limit.onSample({ startedAt: 1, rttMs: 5, inflight: 20, dropped: true });
    expect(limit.limit).toBe(19);
    expect(errors.map((e) => e.callback)).toEqual(['vegasLimit.decrease']);
  });
});

describe('the system clock', () => {
  it('waits the longest a timer can for a delay beyond 2^31-1 ms, instead of firing after 1 ms', async () => {
    let fired = false;
    const handle = systemClock.setTimer(() => {
      fired = true;
    }, 3e9);
    await new Promise((resolve) => setTimeout(resolve, 20));
    systemClock.clearTimer(handle);
    expect(fired).toBe(false);
  });
});
