import { describe, expect, it } from 'vitest';
import { exponential, type PolicyGiveUpEvent, pipeline, retry, timeout } from '../../src/index.js';
import { FakeClock, track } from '../helpers.js';

/** A task that records when it was called and fails with `error`. */
const failingWith = (error: Error) => {
  const times: number[] = [];
  const fn = (clock: FakeClock) => () => {
    times.push(clock.now());
    return Promise.reject(error);
  };
  return { times, fn };
};

describe('decorrelated jitter through retry()', () => {
  it('draws each delay from the previous one', async () => {
    const clock = new FakeClock();
    const policy = retry({
      maxRetries: 4,
      backoff: exponential({ initialMs: 100, jitter: 'decorrelated' }),
      random: () => 0.5,
      maxDelayMs: 60_000,
      clock,
    });
    const delays: number[] = [];
    policy.onRetry((e) => delays.push(e.delayMs));
    const call = track(policy.execute(() => Promise.reject(new Error('down'))));
    await clock.tick(10_000);
    expect(call.settled).toBe(true);
    // U(100, 3·previous) at 0.5, previous starting at 100: 200, then 100 + (600 - 100) / 2, ...
    expect(delays).toEqual([200, 350, 575, 912.5]);
  });
});

describe('Retry-After at the maxDelayMs cap', () => {
  const run = async (retryAfterMs: number) => {
    const clock = new FakeClock();
    const policy = retry({ maxRetries: 1, backoff: 0, maxDelayMs: 1_000, clock });
    const gaveUp: PolicyGiveUpEvent[] = [];
    policy.onGiveUp((e) => gaveUp.push(e));
    const task = failingWith(Object.assign(new Error('429'), { retryAfterMs }));
    const call = track(policy.execute(task.fn(clock)));
    await clock.tick(5_000);
    expect(call.settled).toBe(true);
    return { times: task.times, reasons: gaveUp.map((e) => e.reason) };
  };

  it('a pushback equal to maxDelayMs is waited out', async () => {
    expect(await run(1_000)).toEqual({ times: [0, 1_000], reasons: ['max-attempts'] });
  });

  it('one millisecond more gives up at once with reason retry-after', async () => {
    expect(await run(1_001)).toEqual({ times: [0], reasons: ['retry-after'] });
  });
});

describe('a retry whose next attempt would start exactly at the enclosing deadline', () => {
  // A cooperative timeout of 100 ms around the retry; the first attempt fails at once.
  const run = async (backoffMs: number) => {
    const clock = new FakeClock();
    const policy = retry({ maxRetries: 1, backoff: backoffMs, clock });
    const gaveUp: PolicyGiveUpEvent[] = [];
    policy.onGiveUp((e) => gaveUp.push(e));
    const task = failingWith(new Error('down'));
    const call = track(
      pipeline(timeout({ durationMs: 100, strategy: 'cooperative', clock }), policy).execute(task.fn(clock)),
    );
    await clock.tick(1_000);
    expect(call.settled).toBe(true);
    return { times: task.times, reasons: gaveUp.map((e) => e.reason) };
  };

  it('gives up with reason deadline instead of starting it', async () => {
    expect(await run(100)).toEqual({ times: [0], reasons: ['deadline'] });
  });

  it('starts it one millisecond before the deadline', async () => {
    expect(await run(99)).toEqual({ times: [0, 99], reasons: ['max-attempts'] });
  });
});

describe('a retry whose next attempt would start exactly maxElapsedMs after the first began', () => {
  const run = async (backoffMs: number) => {
    const clock = new FakeClock();
    const policy = retry({ maxRetries: 1, backoff: backoffMs, maxElapsedMs: 100, clock });
    const gaveUp: PolicyGiveUpEvent[] = [];
    policy.onGiveUp((e) => gaveUp.push(e));
    const task = failingWith(new Error('down'));
    const call = track(policy.execute(task.fn(clock)));
    await clock.tick(1_000);
    expect(call.settled).toBe(true);
    return { times: task.times, reasons: gaveUp.map((e) => e.reason) };
  };

  it('gives up with reason max-elapsed instead of starting it', async () => {
    expect(await run(100)).toEqual({ times: [0], reasons: ['max-elapsed'] });
  });

  it('starts it one millisecond earlier', async () => {
    expect(await run(99)).toEqual({ times: [0, 99], reasons: ['max-attempts'] });
  });
});
