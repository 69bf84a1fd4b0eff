import { describe, expect, it } from 'vitest';
import {
  BrokenCircuitError,
  BulkheadRejectedError,
  bulkhead,
  circuitBreaker,
  constant,
  type PolicyGiveUpEvent,
  type PolicyRetryEvent,
  pipeline,
  RateLimitedError,
  type RetryEvent,
  retry,
  timeout,
} from '../../src/index.js';
import { FakeClock, track } from '../helpers.js';

function failing(times: number, error = new Error('flaky')) {
  let calls = 0;
  const fn = () => {
    calls++;
    if (calls <= times) throw error;
    return `ok after ${calls}`;
  };
  return { fn, calls: () => calls };
}

describe('retry', () => {
  it('makes at most maxRetries + 1 calls, then rethrows the last error unchanged', async () => {
    const clock = new FakeClock();
    const policy = retry({ maxRetries: 2, backoff: 10, clock });
    const last = new Error('still down');
    let calls = 0;
    const call = track(
      policy.execute(() => {
        calls++;
        throw calls === 3 ? last : new Error('down');
      }),
    );
    await clock.tick(100);
    expect(calls).toBe(3);
    expect(call.error).toBe(last);
  });

  it('maxAttempts counts the first call', async () => {
    const clock = new FakeClock();
    const { fn, calls } = failing(10);
    const call = track(retry({ maxAttempts: 3, backoff: 0, clock }).execute(fn));
    await clock.tick(0);
    expect(call.settled).toBe(true);
    expect(calls()).toBe(3);
  });

  it('defaults to 3 retries (4 calls), never forever', async () => {
    const clock = new FakeClock();
    const { fn, calls } = failing(100);
    const call = track(retry({ clock, random: () => 0.5 }).execute(fn));
    await clock.tick(60_000);
    expect(call.settled).toBe(true);
    expect(calls()).toBe(4);
  });

  it('returns the first success', async () => {
    const clock = new FakeClock();
    const { fn } = failing(2);
    const call = track(retry({ backoff: 5, clock }).execute(fn));
    await clock.tick(10);
    expect(call.value).toBe('ok after 3');
  });

  it('passes the attempt number in the context, starting at 1', async () => {
    const clock = new FakeClock();
    const seen: number[] = [];
    const call = track(
      retry({ maxRetries: 2, backoff: 0, clock }).execute(({ attempt }) => {
        seen.push(attempt);
        throw new Error('x');
      }),
    );
    await clock.tick(0);
    expect(call.settled).toBe(true);
    expect(seen).toEqual([1, 2, 3]);
  });

  it('waits the backoff delay between attempts', async () => {
    const clock = new FakeClock();
    const times: number[] = [];
    track(
      retry({ maxRetries: 3, backoff: 100, clock }).execute(() => {
        times.push(clock.now());
        throw new Error('x');
      }),
    );
    await clock.tick(1_000);
    expect(times).toEqual([0, 100, 200, 300]);
  });

  it('emits onRetry before each delay and onGiveUp once with the reason', async () => {
    const clock = new FakeClock();
    const policy = retry({ maxRetries: 2, backoff: 7, clock });
    const retries: PolicyRetryEvent[] = [];
    const giveUps: PolicyGiveUpEvent[] = [];
    policy.onRetry((e) => retries.push(e));
    policy.onGiveUp((e) => giveUps.push(e));
    const error = new Error('x');
    track(
      policy.execute(() => {
        throw error;
      }),
    );
    await clock.tick(100);
    expect(retries).toEqual([
      {
        type: 'retry',
        policy: 'retry',
        kind: 'retry',
        attempt: 1,
        delayMs: 7,
        failure: { kind: 'error', error },
      },
      {
        type: 'retry',
        policy: 'retry',
        kind: 'retry',
        attempt: 2,
        delayMs: 7,
        failure: { kind: 'error', error },
      },
    ]);
    expect(giveUps).toEqual([
      {
        type: 'give-up',
        policy: 'retry',
        kind: 'retry',
        attempts: 3,
        reason: 'max-attempts',
        failure: { kind: 'error', error },
      },
    ]);
  });

  it('delivers the same event object to onRetry, onGiveUp and onEvent', async () => {
    const clock = new FakeClock();
    const policy = retry({ name: 'p', maxRetries: 1, backoff: 5, clock });
    const all: RetryEvent[] = [];
    const retries: PolicyRetryEvent[] = [];
    const giveUps: PolicyGiveUpEvent[] = [];
    policy.onEvent((e) => all.push(e));
    policy.onRetry((e) => retries.push(e));
    policy.onGiveUp((e) => giveUps.push(e));
    const error = new Error('x');
    track(
      policy.execute(() => {
        throw error;
      }),
    );
    await clock.tick(100);
    expect(all.map((e) => e.type)).toEqual(['retry', 'give-up', 'call']);
    expect(retries).toHaveLength(1);
    expect(giveUps).toHaveLength(1);
    expect(all[0]).toBe(retries[0]);
    expect(all[1]).toBe(giveUps[0]);
    expect(all[2]).toEqual({
      type: 'call',
      policy: 'p',
      kind: 'retry',
      outcome: 'failure',
      verdict: 'failure',
      durationMs: 5,
    });
    expect(policy.snapshot()).toMatchObject({ kind: 'retry', calls: 1, retries: 1, giveUps: 1 });
  });

  it('retries only the errors it handles', async () => {
    class Transient extends Error {}
    const clock = new FakeClock();
    const policy = retry({ handle: Transient, backoff: 0, clock });
    let calls = 0;
    const fatal = new TypeError('bug');
    const call = track(
      policy.execute(() => {
        calls++;
        throw calls === 1 ? new Transient('blip') : fatal;
      }),
    );
    await clock.tick(0);
    expect(calls).toBe(2);
    expect(call.error).toBe(fatal);
  });

  it('does not retry ignored errors', async () => {
    const clock = new FakeClock();
    let calls = 0;
    const call = track(
      retry({ ignore: (e) => (e as Error).message === 'not found', backoff: 0, clock }).execute(() => {
        calls++;
        throw new Error('not found');
      }),
    );
    await clock.tick(0);
    expect(call.settled).toBe(true);
    expect(calls).toBe(1);
  });

  it('retries results classified as failures and returns the last one when it gives up', async () => {
    const clock = new FakeClock();
    let calls = 0;
    const policy = retry<{ status: number }>({
      handleResult: (r) => r.status >= 500,
      maxRetries: 2,
      backoff: 0,
      clock,
    });
    const call = track(policy.execute(() => ({ status: 500 + calls++ })));
    await clock.tick(0);
    expect(call.value).toEqual({ status: 502 });
  });

  it('honours a Retry-After carried by the error', async () => {
    const clock = new FakeClock();
    const times: number[] = [];
    track(
      retry({ maxRetries: 1, backoff: 10, clock }).execute(() => {
        times.push(clock.now());
        throw Object.assign(new Error('429'), { retryAfterMs: 2_500 });
      }),
    );
    await clock.tick(5_000);
    expect(times).toEqual([0, 2_500]);
  });

  it('honours a Retry-After extracted by a hook from a result', async () => {
    const clock = new FakeClock();
    const times: number[] = [];
    const policy = retry<{ status: number; retryAfter?: number }>({
      maxRetries: 1,
      backoff: 0,
      clock,
      handleResult: (r) => r.status === 503,
      retryAfter: (f) => (f.kind === 'result' ? f.result.retryAfter : undefined),
    });
    track(
      policy.execute(() => {
        times.push(clock.now());
        return { status: 503, retryAfter: 1_000 };
      }),
    );
    await clock.tick(5_000);
    expect(times).toEqual([0, 1_000]);
  });

  it('gives up when the Retry-After is longer than maxDelayMs', async () => {
    const clock = new FakeClock();
    const policy = retry({ maxRetries: 3, maxDelayMs: 1_000, clock });
    const reasons: string[] = [];
    policy.onGiveUp((e) => reasons.push(e.reason));
    let calls = 0;
    const call = track(
      policy.execute(() => {
        calls++;
        throw Object.assign(new Error('503'), { retryAfterMs: 30_000 });
      }),
    );
    await clock.tick(0);
    expect((call.error as Error).message).toBe('503');
    expect(calls).toBe(1);
    expect(reasons).toEqual(['retry-after']);
  });

  describe('rejections of our own policies', () => {
    it('fails fast on an open circuit whose break is longer than maxRejectionWaitMs', async () => {
      const clock = new FakeClock();
      const policy = retry({ maxRetries: 3, clock });
      const reasons: string[] = [];
      policy.onGiveUp((e) => reasons.push(e.reason));
      let calls = 0;
      const call = track(
        policy.execute(() => {
          calls++;
          throw BrokenCircuitError.create('db', 'open', 5_000);
        }),
      );
      await clock.tick(0);
      expect(call.error).toBeInstanceOf(BrokenCircuitError);
      expect(calls).toBe(1);
      expect(reasons).toEqual(['rejected']);
    });

    it('does not retry a rejection that does not say when to come back (a full bulkhead)', async () => {
      const clock = new FakeClock();
      const policy = retry({ maxRetries: 3, backoff: 0, clock });
      let calls = 0;
      const call = track(
        policy.execute(() => {
          calls++;
          throw BulkheadRejectedError.create('pool', 'full');
        }),
      );
      await clock.tick(0);
      expect(call.error).toBeInstanceOf(BulkheadRejectedError);
      expect(calls).toBe(1);
    });

    it('waits out a rejection that asks for less than maxRejectionWaitMs (a rate limit)', async () => {
      const clock = new FakeClock();
      const policy = retry({ maxRetries: 3, backoff: 0, clock });
      const times: number[] = [];
      const call = track(
        policy.execute(() => {
          times.push(clock.now());
          if (times.length === 1) throw RateLimitedError.create('api', 300);
          return 'ok';
        }),
      );
      await clock.tick(300);
      expect(call.value).toBe('ok');
      expect(times).toEqual([0, 300]);
    });

    it('a rejection exactly at the limit is retried; 0 never retries; Infinity retries like any failure', async () => {
      const clock = new FakeClock();
      const attempts = async (maxRejectionWaitMs: number, error: Error) => {
        let calls = 0;
        const policy = retry({ maxRetries: 2, backoff: 10, maxRejectionWaitMs, clock });
        const call = track(
          policy.execute(() => {
            calls++;
            throw error;
          }),
        );
        await clock.tick(10_000);
        expect(call.error).toBe(error);
        return calls;
      };
      expect(await attempts(1_000, RateLimitedError.create('api', 1_000))).toBe(3);
      expect(await attempts(0, RateLimitedError.create('api', 1))).toBe(1);
      expect(await attempts(Number.POSITIVE_INFINITY, BulkheadRejectedError.create('pool', 'full'))).toBe(3);
    });

    it('the README pipeline fails fast once the circuit is open', async () => {
      const clock = new FakeClock();
      const policy = pipeline(
        retry({ maxRetries: 3, clock, random: () => 0.5 }),
        circuitBreaker({ failureRateThreshold: 0.5, minimumCalls: 4, clock }),
        bulkhead({ limit: 20, queue: 50, clock }),
        timeout({ durationMs: 2_000, clock }),
      );
      const dead = () => Promise.reject(new Error('connection refused'));
      // The first call's attempts open the circuit.
      const first = track(policy.execute(dead));
      await clock.tick(1_000);
      expect((first.error as Error).message).toBe('connection refused');
      // Every later call is answered with no time passing: no sleeping out the break.
      for (let i = 0; i < 10; i++) {
        const call = track(policy.execute(dead));
        await clock.tick(0);
        expect(call.error).toBeInstanceOf(BrokenCircuitError);
      }
    });
  });

  it('caps every delay at maxDelayMs', async () => {
    const clock = new FakeClock();
    const times: number[] = [];
    track(
      retry({ maxRetries: 2, backoff: constant(10_000), maxDelayMs: 300, clock }).execute(() => {
        times.push(clock.now());
        throw new Error('x');
      }),
    );
    await clock.tick(5_000);
    expect(times).toEqual([0, 300, 600]);
  });

  it('stops when the next attempt would start after maxElapsedMs', async () => {
    const clock = new FakeClock();
    const policy = retry({ maxRetries: 100, backoff: 400, maxElapsedMs: 1_000, clock });
    const reasons: string[] = [];
    policy.onGiveUp((e) => reasons.push(e.reason));
    let calls = 0;
    track(
      policy.execute(() => {
        calls++;
        throw new Error('x');
      }),
    );
    await clock.tick(10_000);
    expect(calls).toBe(3); // at 0, 400, 800; the next would start at 1200
    expect(reasons).toEqual(['max-elapsed']);
  });

  it('aborts the sleep between attempts at once when the signal aborts', async () => {
    const clock = new FakeClock();
    const controller = new AbortController();
    let calls = 0;
    const call = track(
      retry({ maxRetries: 3, backoff: 10_000, clock }).execute(() => {
        calls++;
        throw new Error('x');
      }, controller.signal),
    );
    await clock.tick(100);
    controller.abort('stop');
    await clock.tick(0);
    expect(call.error).toBe('stop');
    expect(calls).toBe(1);
    expect(clock.pendingTimers).toBe(0);
  });

  it('checks the signal before each try', async () => {
    const clock = new FakeClock();
    const controller = new AbortController();
    let calls = 0;
    const call = track(
      retry({ maxRetries: 3, backoff: 0, clock }).execute(() => {
        calls++;
        controller.abort('enough');
        throw new Error('x');
      }, controller.signal),
    );
    await clock.tick(0);
    expect(calls).toBe(1);
    expect(call.ok).toBe(false);
  });

  it('sleeps on a ref timer: the awaited call keeps the process alive', async () => {
    const clock = new FakeClock();
    track(
      retry({ maxRetries: 1, backoff: 50, clock }).execute(() => {
        throw new Error('x');
      }),
    );
    await clock.tick(0);
    expect(clock.refTimers).toBe(1);
    await clock.tick(50);
    expect(clock.pendingTimers).toBe(0);
  });

  it('resolves an outcome instead of throwing with executeOutcome', async () => {
    const clock = new FakeClock();
    const error = new Error('nope');
    const call = track(
      retry({ maxRetries: 0, clock }).executeOutcome(() => {
        throw error;
      }),
    );
    await clock.tick(0);
    expect(call.value).toEqual({ ok: false, error });
    await expect(retry({ clock }).executeOutcome(() => 5)).resolves.toEqual({ ok: true, value: 5 });
  });

  it('retries a synchronous throw, a rejection and a foreign thenable alike', async () => {
    const clock = new FakeClock();
    const policy = retry({ maxRetries: 3, backoff: 0, clock });
    // Foreign thenables are what some clients return; the lint rule against `then` does not apply here.
    const kinds = [
      () => {
        throw new Error('sync');
      },
      () => Promise.reject(new Error('async')),
      // biome-ignore lint/suspicious/noThenProperty: a foreign thenable on purpose
      () => ({ then: (_: unknown, reject: (e: unknown) => void) => reject(new Error('thenable')) }),
      // biome-ignore lint/suspicious/noThenProperty: a foreign thenable on purpose
      () => ({ then: (resolve: (v: unknown) => void) => resolve('done') }),
    ];
    let i = 0;
    const call = track(policy.execute(() => kinds[i++]!() as Promise<unknown>));
    await clock.tick(0);
    expect(call.value).toBe('done');
  });

  it('a zero delay yields to the event loop: endless retries of an instant failure still see a real abort', async () => {
    const policy = retry({ maxRetries: Number.POSITIVE_INFINITY, backoff: 0 });
    const caller = new AbortController();
    // A real timer: it can only fire if the retries leave the microtask queue between attempts.
    setTimeout(() => caller.abort(new Error('caller gave up')), 5);
    let attempts = 0;
    const outcome = await policy.executeOutcome(() => {
      // A livelocked retry never lets the timer fire: end it here so the test fails instead of hanging.
      if (++attempts === 1_000_000) return 'starved: the abort timer never ran';
      throw new Error('fails at once');
    }, caller.signal);
    expect(outcome).toEqual({ ok: false, error: new Error('caller gave up') });
    expect(attempts).toBeLessThan(1_000_000);
  });

  it('a zero-delay retry lets the I/O that frees its resource run', async () => {
    let free = false;
    setImmediate(() => {
      free = true;
    });
    const policy = retry({ maxRetries: Number.POSITIVE_INFINITY, backoff: 0 });
    let attempts = 0;
    const value = await policy.execute(() => {
      if (++attempts === 1_000_000) return 'starved';
      if (!free) throw new Error('busy');
      return 'done';
    });
    expect(value).toBe('done');
  });

  describe('errors of unknown outcome', () => {
    const unknown = () => Object.assign(new Error('COMMIT cut off'), { unknownOutcome: true });

    it('are not repeated by default: the call may have taken effect', async () => {
      let calls = 0;
      const error = unknown();
      await expect(
        retry({ maxRetries: 3, backoff: 0 }).execute(() => {
          calls++;
          throw error;
        }),
      ).rejects.toBe(error);
      expect(calls).toBe(1);
    });

    it('are repeated when handle says so', async () => {
      let calls = 0;
      await expect(
        retry({ maxRetries: 2, backoff: 0, handle: () => true }).execute(() => {
          calls++;
          throw unknown();
        }),
      ).rejects.toThrow('COMMIT cut off');
      expect(calls).toBe(3);
    });

    it('reach outer policies unwrapped by a cooperative timeout whose deadline passed', async () => {
      const clock = new FakeClock();
      const error = unknown();
      const policy = pipeline(
        retry({ maxRetries: 3, backoff: 0, clock }),
        timeout({ durationMs: 100, strategy: 'cooperative', clock }),
      );
      let calls = 0;
      const call = track(
        policy.execute(
          ({ signal }) =>
            new Promise((_, reject) => {
              calls++;
              signal.addEventListener('abort', () => reject(error));
            }),
        ),
      );
      await clock.tick(100);
      expect(call.error).toBe(error);
      expect(calls).toBe(1);
    });
  });
});
