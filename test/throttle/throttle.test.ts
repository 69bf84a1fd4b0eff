import { types } from 'node:util';
import { describe, expect, it } from 'vitest';
import {
  BreakwaterError,
  bulkhead,
  type PolicyEvent,
  pipeline,
  RejectedError,
  retry,
  TimeoutError,
  timeout,
} from '../../src/index.js';
import type { PolicyRejectEvent } from '../../src/metrics/events.js';
import { adaptiveThrottle, BW_ERR_THROTTLED, ThrottledError } from '../../src/throttle/index.js';
import { deferred, FakeClock } from '../helpers.js';

class OverloadError extends Error {}
class NotFoundError extends Error {}

/** A random source that replays `values` (then repeats the last one). */
function replay(...values: number[]) {
  let i = 0;
  return () => values[Math.min(i++, values.length - 1)]!;
}

const overloaded = () => Promise.reject(new OverloadError('503'));

describe('adaptiveThrottle', () => {
  it('never rejects while the backend accepts, and never draws a random number then', async () => {
    let draws = 0;
    const t = adaptiveThrottle({
      clock: new FakeClock(),
      random: () => {
        draws++;
        return 0;
      },
    });
    for (let i = 0; i < 100; i++) await t.execute(() => i);
    expect(draws).toBe(0);
    expect(t.snapshot()).toMatchObject({
      requests: 100,
      accepts: 100,
      rejectionProbability: 0,
      throttled: 0,
    });
  });

  it('rejects locally with probability (requests - k * accepts) / (requests + 1)', async () => {
    const clock = new FakeClock();
    let draw = 1;
    const t = adaptiveThrottle({ k: 2, handle: OverloadError, clock, random: () => draw });
    await t.executeOutcome(() => 'accepted');
    for (let i = 0; i < 4; i++) await t.executeOutcome(overloaded);
    // requests 5, accepts 1: p = (5 - 2) / 6 = 0.5. A draw at p passes, a draw just below is refused.
    expect(t.snapshot().rejectionProbability).toBe(0.5);
    let ran = 0;
    draw = 0.5;
    const through = await t.executeOutcome(() => ++ran);
    expect(through.ok).toBe(true);
    // requests 6, accepts 2: p = 2 / 7.
    expect(t.snapshot().rejectionProbability).toBeCloseTo(2 / 7, 12);
    draw = 2 / 7 - 1e-9;
    const refused = await t.executeOutcome(() => ++ran);
    expect(refused.ok).toBe(false);
    expect(ran).toBe(1);
    const error = (refused as { error: ThrottledError }).error;
    expect(error).toBeInstanceOf(ThrottledError);
    expect(error.probability).toBeCloseTo(2 / 7, 12);
    // The local rejection counts as a request (SRE book): requests 7, accepts 2.
    expect(t.snapshot()).toMatchObject({ requests: 7, accepts: 2, calls: 7, throttled: 1 });
    expect(t.snapshot().rejectionProbability).toBeCloseTo(3 / 8, 12);
  });

  it('counts successes and errors the policy does not handle as accepts, handled errors as rejections', async () => {
    const t = adaptiveThrottle({ handle: OverloadError, clock: new FakeClock(), random: () => 1 });
    await t.executeOutcome(() => 'fine');
    await t.executeOutcome(() => Promise.reject(new NotFoundError('404')));
    await t.executeOutcome(overloaded);
    expect(t.snapshot()).toMatchObject({ requests: 3, accepts: 2 });
  });

  it('judges results with handleResult (e.g. a 503 response that was not thrown)', async () => {
    const t = adaptiveThrottle<{ status: number }>({
      handleResult: (r) => r.status === 429 || r.status === 503,
      clock: new FakeClock(),
      random: () => 1,
    });
    for (const status of [200, 503, 404, 429]) await t.execute(() => ({ status }));
    expect(t.snapshot()).toMatchObject({ requests: 4, accepts: 2 });
  });

  it('takes ignored outcomes, caller aborts and inner rejections back out of the window', async () => {
    const clock = new FakeClock();
    const t = adaptiveThrottle({ ignore: NotFoundError, clock, random: () => 1 });
    await t.executeOutcome(() => Promise.reject(new NotFoundError()));
    const controller = new AbortController();
    await t.executeOutcome(() => {
      controller.abort();
      throw new Error('after the caller left');
    }, controller.signal);
    const full = bulkhead({ limit: 1, clock });
    const hold = deferred();
    void full.execute(() => hold.promise);
    const inner = await pipeline(t, full).executeOutcome(() => 'never');
    expect((inner as { error: unknown }).error).toBeInstanceOf(RejectedError);
    expect(t.snapshot()).toMatchObject({ requests: 0, accepts: 0, calls: 3 });
    hold.resolve(0);
  });

  it('counts timeouts of an inner timeout as rejections by the backend', async () => {
    const clock = new FakeClock();
    const t = adaptiveThrottle({ clock, random: () => 1 });
    const call = pipeline(t, timeout({ durationMs: 100, clock })).executeOutcome(() => new Promise(() => {}));
    await clock.tick(100);
    expect(((await call) as { error: unknown }).error).toBeInstanceOf(TimeoutError);
    expect(t.snapshot()).toMatchObject({ requests: 1, accepts: 0 });
  });

  it('inside a retry counts every attempt as a request; a retry told to ignore ThrottledError stops at once', async () => {
    const clock = new FakeClock();
    let draw = 1;
    const t = adaptiveThrottle({ clock, random: () => draw });
    let attempts = 0;
    const failing = () => {
      attempts++;
      return overloaded();
    };
    const call = pipeline(retry({ maxRetries: 2, backoff: 10, clock }), t).executeOutcome(failing);
    await clock.tick(20);
    expect((await call).ok).toBe(false);
    expect(attempts).toBe(3);
    expect(t.snapshot()).toMatchObject({ requests: 3, accepts: 0 });
    // Now p = 3 / 4: with draws below it every attempt is refused locally.
    draw = 0;
    const guarded = pipeline(retry({ maxRetries: 2, backoff: 10, ignore: ThrottledError, clock }), t);
    const outcome = await guarded.executeOutcome(failing);
    expect((outcome as { error: unknown }).error).toBeInstanceOf(ThrottledError);
    expect(attempts).toBe(3);
    expect(t.snapshot()).toMatchObject({ requests: 4, throttled: 1 });
  });

  it('stops throttling once the window has moved past the rejections', async () => {
    const clock = new FakeClock();
    const t = adaptiveThrottle({ windowMs: 10_000, buckets: 10, clock, random: () => 1 });
    for (let i = 0; i < 10; i++) await t.executeOutcome(overloaded);
    expect(t.snapshot().rejectionProbability).toBeCloseTo(10 / 11, 12);
    clock.advance(9_999);
    expect(t.snapshot().rejectionProbability).toBeCloseTo(10 / 11, 12);
    clock.advance(1);
    expect(t.snapshot()).toMatchObject({ requests: 0, rejectionProbability: 0 });
  });

  it('bounds the rejection probability by maxRejectionProbability and uses padding in the denominator', async () => {
    const clock = new FakeClock();
    const bounded = adaptiveThrottle({ maxRejectionProbability: 0.25, clock, random: () => 0.25 });
    for (let i = 0; i < 50; i++) await bounded.executeOutcome(overloaded);
    // Unbounded this would be 50 / 51; draws at 0.25 are never below the bound.
    expect(bounded.snapshot()).toMatchObject({ rejectionProbability: 0.25, throttled: 0, requests: 50 });
    const padded = adaptiveThrottle({ padding: 8, clock, random: () => 1 });
    for (let i = 0; i < 2; i++) await padded.executeOutcome(overloaded);
    expect(padded.snapshot().rejectionProbability).toBe(2 / 10);
  });

  it('throws ThrottledError: a RejectedError with its own code, built without a stack trace', async () => {
    const t = adaptiveThrottle({ name: 'users-api', clock: new FakeClock(), random: () => 0 });
    await t.executeOutcome(overloaded);
    const error = await t.execute(() => 'x').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ThrottledError);
    expect(error).toBeInstanceOf(RejectedError);
    expect(error).toBeInstanceOf(BreakwaterError);
    expect(error).toBeInstanceOf(Error);
    const e = error as ThrottledError;
    expect(e).toMatchObject({
      name: 'ThrottledError',
      code: BW_ERR_THROTTLED,
      policy: 'users-api',
      retryAfterMs: undefined,
      probability: 0.5,
    });
    expect(e.code).toBe('BW_ERR_THROTTLED');
    expect(e.message).toBe(
      'users-api: throttled locally (rejecting 50% of calls while the backend rejects requests)',
    );
    expect(e.stack).toBe('');
    expect(e.cause).toBeUndefined();
    expect(types.isNativeError(e)).toBe(false);
    // Constructed with `new`: an ordinary error with a stack and a cause.
    const made = new ThrottledError('p', 0.25, { cause: 'why' });
    expect(made).toMatchObject({ name: 'ThrottledError', code: BW_ERR_THROTTLED, probability: 0.25 });
    expect(made.cause).toBe('why');
    expect(types.isNativeError(made)).toBe(true);
    expect(made.message).toContain('25%');
    // The brand is a Symbol.for key: a copy from a duplicate install is recognised too.
    const foreign = Object.create(null) as Record<symbol, unknown>;
    foreign[Symbol.for('breakwater.error.ThrottledError')] = true;
    expect(foreign).toBeInstanceOf(ThrottledError);
  });

  it('emits rejections and calls through onEvent only while someone listens', async () => {
    const clock = new FakeClock();
    const t = adaptiveThrottle({ name: 'thr', clock, random: replay(0, 1, 0) });
    await t.executeOutcome(overloaded); // p was 0: sent, rejected by the backend
    await t.executeOutcome(() => 'x'); // p = 1/2, draw 0: throttled (nobody listens)
    const events: PolicyEvent[] = [];
    const stop = t.onEvent((e) => events.push(e));
    await t.executeOutcome(async () => {
      clock.advance(5);
      return 'slow';
    }); // draw 1: sent
    await t.executeOutcome(() => 'x'); // draw 0: throttled
    stop();
    const base = { policy: 'thr', kind: 'adaptiveThrottle' };
    expect(events).toEqual([
      { ...base, type: 'call', outcome: 'success', verdict: 'success', durationMs: 5 },
      { ...base, type: 'reject', reason: 'throttled', retryAfterMs: undefined, probability: 0.25 },
    ]);
  });

  it('delivers the same reject event to onReject and to onEvent', async () => {
    const t = adaptiveThrottle({ name: 'thr', clock: new FakeClock(), random: replay(0, 0) });
    await t.executeOutcome(overloaded); // p was 0: sent, rejected by the backend
    const all: PolicyEvent[] = [];
    const rejects: PolicyRejectEvent[] = [];
    t.onEvent((e) => all.push(e));
    t.onReject((e) => rejects.push(e));
    await t.executeOutcome(() => 'x'); // p = 1/2, draw 0: throttled
    expect(rejects).toEqual([
      {
        type: 'reject',
        policy: 'thr',
        kind: 'adaptiveThrottle',
        reason: 'throttled',
        retryAfterMs: undefined,
        probability: 0.5,
      },
    ]);
    expect(rejects[0]).toBe(all[0]);
    expect(all).toHaveLength(1);
  });

  it('offers permits for integrations: success, failure (classified) or release', () => {
    const t = adaptiveThrottle({ handle: OverloadError, clock: new FakeClock(), random: () => 0.99 });
    const a = t.tryAcquire();
    if (a instanceof ThrottledError) throw a;
    a.success('fine');
    a.failure(new OverloadError()); // a second report is ignored
    const b = t.tryAcquire();
    if (b instanceof ThrottledError) throw b;
    b.failure(new OverloadError());
    const c = t.tryAcquire();
    if (c instanceof ThrottledError) throw c;
    c.failure(new NotFoundError());
    const d = t.tryAcquire();
    if (d instanceof ThrottledError) throw d;
    d.release();
    expect(t.snapshot()).toMatchObject({ requests: 3, accepts: 2 });
    for (let i = 0; i < 20; i++) {
      const p = t.tryAcquire();
      if (!(p instanceof ThrottledError)) p.failure(new OverloadError());
    }
    const refused = adaptiveThrottle({ clock: new FakeClock(), random: () => 0 });
    const first = refused.tryAcquire();
    if (first instanceof ThrottledError) throw first;
    first.failure(new Error('503'));
    expect(refused.tryAcquire()).toBeInstanceOf(ThrottledError);
  });

  it('snapshots its figures', async () => {
    const t = adaptiveThrottle({
      name: 's',
      k: 1.5,
      windowMs: 60_000,
      clock: new FakeClock(),
      random: () => 1,
    });
    await t.executeOutcome(overloaded);
    expect(t.snapshot()).toEqual({
      kind: 'adaptiveThrottle',
      name: 's',
      k: 1.5,
      windowMs: 60_000,
      requests: 1,
      accepts: 0,
      rejectionProbability: 0.5,
      calls: 1,
      throttled: 0,
    });
  });
});

describe('adaptiveThrottle options', () => {
  it.each([
    ['adaptiveThrottle.k', () => adaptiveThrottle({ k: 0.9 }), RangeError],
    ['adaptiveThrottle.windowMs', () => adaptiveThrottle({ windowMs: 0 }), RangeError],
    ['adaptiveThrottle.buckets', () => adaptiveThrottle({ buckets: 1.5 }), RangeError],
    ['adaptiveThrottle.padding', () => adaptiveThrottle({ padding: 0 }), RangeError],
    [
      'adaptiveThrottle.maxRejectionProbability',
      () => adaptiveThrottle({ maxRejectionProbability: 0 }),
      RangeError,
    ],
    ['adaptiveThrottle.random', () => adaptiveThrottle({ random: 0.5 as never }), TypeError],
    ['adaptiveThrottle.handle', () => adaptiveThrottle({ handle: 'x' as never }), TypeError],
    ['adaptiveThrottle.K', () => adaptiveThrottle({ K: 2 } as never), TypeError],
  ])('%s is checked', (option, build, kind) => {
    let error: (Error & { option?: string; code?: string }) | undefined;
    try {
      build();
    } catch (e) {
      error = e as Error;
    }
    expect(error).toBeInstanceOf(kind);
    expect(error?.option).toBe(option);
    expect(error?.code).toBe('BW_ERR_INVALID_OPTION');
  });

  it('has the SRE book defaults', () => {
    expect(adaptiveThrottle().options).toMatchObject({
      name: 'adaptive-throttle',
      k: 2,
      windowMs: 120_000,
      buckets: 60,
      padding: 1,
      maxRejectionProbability: 1,
    });
  });
});
