import { AsyncLocalStorage } from 'node:async_hooks';
import diagnosticsChannel from 'node:diagnostics_channel';
import { describe, expect, it } from 'vitest';
import { Scope } from '../../src/core/context.js';
import { Fail } from '../../src/core/outcome.js';
import { stagesOf } from '../../src/core/policy.js';
import type { Gate } from '../../src/core/stage.js';
import {
  BreakwaterError,
  circuitBreaker,
  type PolicyEvent,
  pipeline,
  RateLimitedError,
  RejectedError,
  timeout,
} from '../../src/index.js';
import type { PolicyRejectEvent } from '../../src/metrics/events.js';
import { rateLimiter } from '../../src/rate-limit/index.js';
import { abortListeners, FakeClock, track } from '../helpers.js';

describe('rateLimiter (token bucket)', () => {
  it('admits a burst, then rejects with RateLimitedError carrying the time until a permit', async () => {
    const clock = new FakeClock();
    const rl = rateLimiter({ name: 'api', ratePerSecond: 10, burst: 3, clock });
    for (let i = 0; i < 3; i++) await expect(rl.execute(() => i)).resolves.toBe(i);
    let ran = false;
    const outcome = await rl.executeOutcome(() => {
      ran = true;
    });
    expect(ran).toBe(false);
    expect(outcome.ok).toBe(false);
    const error = (outcome as { error: RateLimitedError }).error;
    expect(error).toBeInstanceOf(RateLimitedError);
    expect(error).toBeInstanceOf(RejectedError);
    expect(error).toBeInstanceOf(BreakwaterError);
    expect(error).toMatchObject({ code: 'BW_ERR_RATE_LIMITED', policy: 'api', name: 'RateLimitedError' });
    expect(error.retryAfterMs).toBeCloseTo(100, 9);
    expect(error.message).toBe('api: rate limit reached, retry after 100 ms');
    // Built without a stack trace.
    expect(error.stack).toBe('');
    clock.advance(40);
    const later = await rl.executeOutcome(() => 1);
    expect((later as { error: RateLimitedError }).error.retryAfterMs).toBeCloseTo(60, 9);
    expect(rl.snapshot()).toMatchObject({ admitted: 3, rejected: 2, waited: 0 });
  });

  it('refills continuously: after 1 / rate one more call passes, after a long pause a full burst', async () => {
    const clock = new FakeClock();
    const rl = rateLimiter({ tokens: 2, intervalMs: 1_000, clock });
    expect(rl.options).toMatchObject({ burst: 2, ratePerSecond: 2, maxWaitMs: 0, algorithm: 'token-bucket' });
    const call = async () => (await rl.executeOutcome(() => 'ok')).ok;
    expect([await call(), await call(), await call()]).toEqual([true, true, false]);
    clock.advance(500);
    expect([await call(), await call()]).toEqual([true, false]);
    clock.advance(60_000);
    expect([await call(), await call(), await call()]).toEqual([true, true, false]);
  });

  it('makes calls wait up to maxWaitMs, in arrival order, and rejects those that would wait longer', async () => {
    const clock = new FakeClock();
    const rl = rateLimiter({ ratePerSecond: 10, burst: 1, maxWaitMs: 250, clock });
    const started: [number, number][] = [];
    const calls = [0, 1, 2, 3, 4].map((i) => track(rl.execute(() => started.push([i, clock.now()]))));
    await clock.tick(0);
    expect(started).toEqual([[0, 0]]);
    // Calls 1 and 2 hold the slots at 100 and 200; call 3 would need 300 ms: refused now.
    expect((calls[3]!.error as RateLimitedError).retryAfterMs).toBeCloseTo(300, 9);
    expect((calls[4]!.error as RateLimitedError).retryAfterMs).toBeCloseTo(300, 9);
    expect(rl.snapshot()).toMatchObject({ waiting: 2, rejected: 2 });
    await clock.tick(99);
    expect(started).toHaveLength(1);
    await clock.tick(1);
    expect(started).toEqual([
      [0, 0],
      [1, 100],
    ]);
    await clock.tick(100);
    expect(started[2]).toEqual([2, 200]);
    expect(rl.snapshot()).toMatchObject({ waiting: 0, admitted: 3, waited: 2 });
    expect(clock.pendingTimers).toBe(0);
  });

  it('an aborted waiter leaves at once without a listener and frees its permit: later waiters move up', async () => {
    const clock = new FakeClock();
    const rl = rateLimiter({ ratePerSecond: 10, burst: 1, maxWaitMs: 1_000, clock });
    const started: string[] = [];
    const run = (name: string, signal?: AbortSignal) =>
      track(rl.execute(() => started.push(`${name}@${clock.now()}`), signal));
    run('a');
    const controller = new AbortController();
    const b = run('b', controller.signal); // slot 100
    run('c'); // slot 200
    await clock.tick(50);
    expect(abortListeners(controller.signal)).toBe(1);
    controller.abort('b left');
    await clock.tick(0);
    expect(b.error).toBe('b left');
    expect(abortListeners(controller.signal)).toBe(0);
    expect(rl.snapshot().waiting).toBe(1);
    // b's permit is free again: c takes slot 100, and a newcomer gets slot 200 (not 300).
    run('d');
    await clock.tick(200);
    expect(started).toEqual(['a@0', 'c@100', 'd@200']);
    expect(clock.pendingTimers).toBe(0);
  });

  it('a waiter whose signal is already aborted when it would queue gives its reserved permit back', () => {
    const clock = new FakeClock();
    const rl = rateLimiter({ ratePerSecond: 10, burst: 1, maxWaitMs: 1_000, clock });
    const gate = stagesOf(rl)[0] as Gate;
    const fresh = new Scope(() => 0, null, undefined);
    expect(gate.enter(fresh)).toBeUndefined();
    const aborted = new Scope(() => 0, null, AbortSignal.abort('gone'));
    const token = gate.enter(aborted);
    expect(token).toBeInstanceOf(Fail);
    expect((token as Fail).error).toBe('gone');
    expect(rl.snapshot()).toMatchObject({ waiting: 0, nextPermitInMs: 100 });
  });

  it('refuses at once a call whose enclosing deadline passes before its permit', async () => {
    const clock = new FakeClock();
    const rl = rateLimiter({ ratePerSecond: 10, burst: 1, maxWaitMs: 1_000, clock });
    const policy = pipeline(timeout({ durationMs: 150, clock }), rl);
    await policy.execute(() => 'first');
    const second = track(policy.execute(() => 'second')); // slot 100 < deadline 150: waits
    const third = track(policy.execute(() => 'third')); // slot 200 > deadline 150: refused now
    await clock.tick(0);
    expect((third.error as RateLimitedError).retryAfterMs).toBeCloseTo(200, 9);
    await clock.tick(100);
    expect(second.value).toBe('second');
  });

  it('holds a ref timer only while someone waits, one for all waiters', async () => {
    const clock = new FakeClock();
    const rl = rateLimiter({ ratePerSecond: 10, burst: 1, maxWaitMs: 10_000, clock });
    await rl.execute(() => 0);
    const calls = Array.from({ length: 50 }, () => rl.execute(() => 1));
    expect(clock.pendingTimers).toBe(1);
    expect(clock.refTimers).toBe(1);
    const controller = new AbortController();
    const last = track(rl.execute(() => 2, controller.signal));
    controller.abort();
    await clock.tick(5_000);
    await Promise.all(calls);
    expect(last.ok).toBe(false);
    expect(clock.pendingTimers).toBe(0);
    // Aborting the only waiter clears the timer too.
    const lone = new AbortController();
    const waiting = track(rl.execute(() => 3, lone.signal));
    expect(clock.refTimers).toBe(1);
    lone.abort();
    await clock.tick(0);
    expect(waiting.ok).toBe(false);
    expect(clock.pendingTimers).toBe(0);
  });

  it('runs a waiting call in its own caller async context', async () => {
    const als = new AsyncLocalStorage<string>();
    const clock = new FakeClock();
    const rl = rateLimiter({ ratePerSecond: 10, burst: 1, maxWaitMs: 1_000, clock });
    const seen = ['A', 'B', 'C'].map((id) => als.run(id, () => rl.execute(() => als.getStore())));
    await clock.tick(300);
    expect(await Promise.all(seen)).toEqual(['A', 'B', 'C']);
  });

  it('its rejections do not count as failures of an outer circuit breaker', async () => {
    const clock = new FakeClock();
    const breaker = circuitBreaker({ window: { kind: 'consecutive', failures: 1 }, clock });
    const policy = pipeline(breaker, rateLimiter({ ratePerSecond: 1, burst: 1, clock }));
    expect((await policy.executeOutcome(() => 1)).ok).toBe(true);
    for (let i = 0; i < 5; i++) expect((await policy.executeOutcome(() => 1)).ok).toBe(false);
    expect(breaker.state).toBe('closed');
  });

  it('fuses with other gates in a pipeline and lets failures of the call through unchanged', async () => {
    const clock = new FakeClock();
    const rl = rateLimiter({ ratePerSecond: 10, burst: 2, maxWaitMs: 100, clock });
    const policy = pipeline(circuitBreaker({ clock }), rl);
    const boom = new Error('boom');
    await expect(policy.execute(() => Promise.reject(boom))).rejects.toBe(boom);
    await expect(policy.execute(async () => 'ok')).resolves.toBe('ok');
    const waited = track(policy.execute(() => 'waited'));
    await clock.tick(100);
    expect(waited.value).toBe('waited');
  });
});

describe('rateLimiter (smooth)', () => {
  it('spaces calls evenly with no initial burst', async () => {
    const clock = new FakeClock();
    const rl = rateLimiter({ algorithm: 'smooth', ratePerSecond: 20, maxWaitMs: 1_000, clock });
    expect(rl.options).toMatchObject({ burst: 1, toleranceMs: 0, permitIntervalMs: 50 });
    const at: number[] = [];
    const calls = Array.from({ length: 5 }, () => rl.execute(() => at.push(clock.now())));
    await clock.tick(1_000);
    await Promise.all(calls);
    expect(at).toEqual([0, 50, 100, 150, 200]);
  });

  it('rejects a call earlier than its slot minus the tolerance, and reports the gap', async () => {
    const clock = new FakeClock();
    const rl = rateLimiter({ algorithm: 'smooth', ratePerSecond: 10, toleranceMs: 20, clock });
    expect((await rl.executeOutcome(() => 1)).ok).toBe(true);
    clock.advance(80);
    expect((await rl.executeOutcome(() => 1)).ok).toBe(true);
    clock.advance(70);
    const early = await rl.executeOutcome(() => 1);
    expect((early as { error: RateLimitedError }).error.retryAfterMs).toBe(30);
  });
});

describe('tryAcquire', () => {
  it('grants a permit with the permits remaining, or returns the rejection without waiting', () => {
    const clock = new FakeClock();
    const rl = rateLimiter({ ratePerSecond: 2, burst: 2, maxWaitMs: 5_000, clock });
    expect(rl.tryAcquire()).toEqual({ key: undefined, remaining: 1 });
    expect(rl.tryAcquire()).toEqual({ key: undefined, remaining: 0 });
    const refused = rl.tryAcquire();
    expect(refused).toBeInstanceOf(RateLimitedError);
    expect((refused as RateLimitedError).retryAfterMs).toBe(500);
    expect(clock.pendingTimers).toBe(0);
    expect(rl.snapshot()).toMatchObject({ admitted: 2, rejected: 1, waiting: 0 });
  });

  it('uses the key of a keyed limiter and ignores it on an unkeyed one', () => {
    const clock = new FakeClock();
    const keyed = rateLimiter({ ratePerSecond: 1, burst: 1, keyed: true, clock });
    expect(keyed.tryAcquire('a')).toEqual({ key: 'a', remaining: 0 });
    expect(keyed.tryAcquire('b')).toEqual({ key: 'b', remaining: 0 });
    expect(keyed.tryAcquire('a')).toBeInstanceOf(RateLimitedError);
    const single = rateLimiter({ ratePerSecond: 1, burst: 1, clock });
    expect(single.tryAcquire('a')).toEqual({ key: undefined, remaining: 0 });
    expect(single.tryAcquire('b')).toBeInstanceOf(RateLimitedError);
  });
});

describe('rateLimiter events and snapshot', () => {
  it('reports rejections, waits and calls through onEvent, onReject and diagnostics channels', async () => {
    const clock = new FakeClock();
    const rl = rateLimiter({ name: 'rl', ratePerSecond: 10, burst: 1, maxWaitMs: 100, keyed: true, clock });
    const events: PolicyEvent[] = [];
    const rejects: PolicyRejectEvent[] = [];
    const published: unknown[] = [];
    const onPublish = (message: unknown) => published.push(message);
    const stop = rl.onEvent((e) => events.push(e));
    rl.onReject((e) => rejects.push(e));
    diagnosticsChannel.subscribe('breakwater:rateLimiter:reject', onPublish);
    try {
      await rl.execute(() => clock.advance(7), { key: 'k' });
      const waited = rl.execute(() => 'w', { key: 'k' });
      await rl.executeOutcome(() => 'no', { key: 'k' });
      await clock.tick(100);
      await waited;
    } finally {
      diagnosticsChannel.unsubscribe('breakwater:rateLimiter:reject', onPublish);
      stop();
    }
    const base = { policy: 'rl', kind: 'rateLimiter' };
    expect(events).toEqual([
      { ...base, type: 'call', outcome: 'success', durationMs: 7 },
      { ...base, type: 'reject', reason: 'rate-limited', retryAfterMs: expect.closeTo(193, 9), key: 'k' },
      { ...base, type: 'queue-wait', waitedMs: expect.closeTo(93, 9) },
      { ...base, type: 'call', outcome: 'success', durationMs: 0 },
    ]);
    expect(rejects).toHaveLength(1);
    // One event object, delivered to the typed view, to onEvent and to the channel.
    expect(rejects[0]).toBe(events[1]);
    expect(published[0]).toBe(events[1]);
  });

  it('reports an unkeyed rejection with key undefined, to its listeners only while they listen', async () => {
    const clock = new FakeClock();
    const rl = rateLimiter({ name: 'u', ratePerSecond: 1, burst: 1, clock });
    const rejects: PolicyRejectEvent[] = [];
    await rl.execute(() => 1);
    expect((await rl.executeOutcome(() => 2)).ok).toBe(false);
    const stop = rl.onReject((e) => rejects.push(e));
    expect(rl.tryAcquire()).toBeInstanceOf(RateLimitedError);
    stop();
    expect(rl.tryAcquire()).toBeInstanceOf(RateLimitedError);
    expect(rejects).toEqual([
      {
        type: 'reject',
        policy: 'u',
        kind: 'rateLimiter',
        reason: 'rate-limited',
        retryAfterMs: 1_000,
        key: undefined,
      },
    ]);
    expect(rl.snapshot().rejected).toBe(3);
  });

  it('reports a call whose caller aborted as ignored and a failed one as failure', async () => {
    const rl = rateLimiter({ ratePerSecond: 100, clock: new FakeClock() });
    const outcomes: string[] = [];
    rl.onEvent((e) => {
      if (e.type === 'call') outcomes.push(e.outcome);
    });
    await rl.executeOutcome(() => Promise.reject(new Error('x')));
    const controller = new AbortController();
    await rl.executeOutcome(() => {
      controller.abort();
      throw new Error('after abort');
    }, controller.signal);
    expect(outcomes).toEqual(['failure', 'ignored']);
  });

  it('snapshots the permits available, the time to the next one, waiters, keys and totals', async () => {
    const clock = new FakeClock();
    const rl = rateLimiter({ name: 'snap', ratePerSecond: 4, burst: 2, maxWaitMs: 1_000, clock });
    expect(rl.snapshot()).toEqual({
      kind: 'rateLimiter',
      name: 'snap',
      algorithm: 'token-bucket',
      ratePerSecond: 4,
      burst: 2,
      toleranceMs: 0,
      maxWaitMs: 1_000,
      available: 2,
      nextPermitInMs: 0,
      waiting: 0,
      keys: 0,
      maxKeys: undefined,
      admitted: 0,
      waited: 0,
      rejected: 0,
      evictedKeys: 0,
    });
    const calls = [1, 2, 3].map(() => rl.execute(() => 0));
    expect(rl.snapshot()).toMatchObject({ available: 0, nextPermitInMs: 500, waiting: 1, admitted: 2 });
    await clock.tick(250);
    await Promise.all(calls);
    expect(rl.snapshot()).toMatchObject({ available: 0, nextPermitInMs: 250, waiting: 0, waited: 1 });
  });
});
