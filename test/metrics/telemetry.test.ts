import * as diagnosticsChannel from 'node:diagnostics_channel';
import { describe, expect, it } from 'vitest';
import {
  bulkhead,
  type Clock,
  circuitBreaker,
  fallback,
  hedge,
  type PolicyEvent,
  pipeline,
  policyRegistry,
  retry,
  timeout,
} from '../../src/index.js';
import { deferred, FakeClock, track } from '../helpers.js';

/** A fake clock that counts how often it is read. */
function countingClock() {
  const clock = new FakeClock();
  let reads = 0;
  const counting: Clock & { reads: () => number; inner: FakeClock } = {
    now: () => {
      reads++;
      return clock.now();
    },
    setTimer: (cb, ms, ref) => clock.setTimer(cb, ms, ref),
    clearTimer: (h) => clock.clearTimer(h),
    reads: () => reads,
    inner: clock,
  };
  return counting;
}

describe('uniform policy events', () => {
  it('every policy reports calls with durations, and its own events, in one shape', async () => {
    const clock = new FakeClock();
    const breaker = circuitBreaker({ name: 'cb', window: { kind: 'consecutive', failures: 1 }, clock });
    const pool = bulkhead({ name: 'pool', limit: 1, clock });
    const t = timeout({ name: 't', durationMs: 50, clock });
    const r = retry({ name: 'r', maxRetries: 1, backoff: 10, clock });
    const fb = fallback({ name: 'fb', fallback: () => 'fb', clock });
    const events: PolicyEvent[] = [];
    for (const p of [breaker, pool, t, r, fb]) p.onEvent((e) => events.push(e));
    const policy = pipeline(fb, r, breaker, pool, t);
    const call = track(policy.execute(() => new Promise(() => {})));
    await clock.tick(50);
    await clock.tick(10);
    await clock.tick(0);
    expect(call.value).toBe('fb');
    const brief = events.map((e) =>
      e.type === 'call'
        ? `${e.policy} call ${e.outcome} ${e.durationMs}`
        : e.type === 'retry'
          ? `${e.policy} retry ${e.attempt} ${e.delayMs}`
          : e.type === 'reject'
            ? `${e.policy} reject ${e.reason}`
            : e.type === 'state'
              ? `${e.policy} state ${e.from}->${e.to}`
              : e.type === 'give-up'
                ? `${e.policy} give-up ${e.reason}`
                : `${e.policy} ${e.type}`,
    );
    expect(brief).toEqual([
      't timeout',
      't call failure 50',
      'pool call failure 50',
      'cb state closed->open',
      'cb call failure 50',
      'r retry 1 10',
      'cb reject open',
      'r give-up max-attempts',
      'r call failure 60',
      'fb fallback',
      'fb call success 60',
    ]);
  });

  it('publishes the same events on diagnostics channels named breakwater:<kind>:<type>', async () => {
    const clock = new FakeClock();
    const breaker = circuitBreaker({ name: 'dc', window: { kind: 'consecutive', failures: 1 }, clock });
    const seen: unknown[] = [];
    const onState = (message: unknown) => seen.push(message);
    diagnosticsChannel.subscribe('breakwater:circuitBreaker:state', onState);
    try {
      await breaker.executeOutcome(() => Promise.reject(new Error('x')));
    } finally {
      diagnosticsChannel.unsubscribe('breakwater:circuitBreaker:state', onState);
    }
    expect(seen).toEqual([
      {
        type: 'state',
        policy: 'dc',
        kind: 'circuitBreaker',
        from: 'closed',
        to: 'open',
        reason: 'consecutive-failures',
        at: 0,
        breakMs: 10_000,
        calls: 1,
        failureRate: 1,
        slowCallRate: 0,
        lastFailure: expect.objectContaining({ message: 'x' }),
      },
    ]);
  });

  it('measures nothing when nobody listens: a closed breaker and a bulkhead never read the clock', async () => {
    const clock = countingClock();
    const policy = pipeline(circuitBreaker({ clock }), bulkhead({ limit: 5, clock }));
    const before = clock.reads();
    for (let i = 0; i < 100; i++) await policy.execute(() => i);
    expect(clock.reads()).toBe(before);
    const events: PolicyEvent[] = [];
    (policy.policies[0] as ReturnType<typeof circuitBreaker>).onEvent((e) => events.push(e));
    await policy.execute(() => 1);
    expect(clock.reads()).toBeGreaterThan(before);
    expect(events).toHaveLength(1);
  });

  it('measures nothing when nobody listens: retry, fallback and hedge read no clock for a success', async () => {
    const clock = countingClock();
    const policy = pipeline(
      fallback({ fallback: () => 0, clock }),
      retry({ backoff: 0, clock }),
      hedge({ delayMs: 1_000, clock }),
    );
    const before = clock.reads();
    for (let i = 0; i < 100; i++) await policy.execute(() => i);
    expect(clock.reads()).toBe(before);
    const events: PolicyEvent[] = [];
    (policy.policies[1] as ReturnType<typeof retry>).onEvent((e) => events.push(e));
    await policy.execute(() => 1);
    expect(clock.reads()).toBeGreaterThan(before);
    expect(events.map((e) => `${e.kind}:${e.type}`)).toEqual(['retry:call']);
  });

  it('publishes retry events on breakwater:retry:<type>, the same objects onEvent gets', async () => {
    const clock = new FakeClock();
    const r = retry({ name: 'dcr', maxRetries: 1, backoff: 0, clock });
    const all: PolicyEvent[] = [];
    r.onEvent((e) => all.push(e));
    const seen: unknown[] = [];
    const onRetry = (message: unknown) => seen.push(message);
    diagnosticsChannel.subscribe('breakwater:retry:retry', onRetry);
    try {
      await r.executeOutcome(() => Promise.reject(new Error('x')));
    } finally {
      diagnosticsChannel.unsubscribe('breakwater:retry:retry', onRetry);
    }
    expect(seen).toHaveLength(1);
    expect(seen[0]).toBe(all[0]);
    expect(seen[0]).toMatchObject({ type: 'retry', policy: 'dcr', kind: 'retry', attempt: 1, delayMs: 0 });
  });
});

describe('policy registry', () => {
  it('lists named policies with their snapshots and refuses duplicate names', () => {
    const clock = new FakeClock();
    const registry = policyRegistry();
    const users = pipeline(
      retry({ name: 'users-retry', clock }),
      circuitBreaker({ name: 'users-cb', clock }),
    );
    registry.add(users, bulkhead({ name: 'db', limit: 3, clock }));
    expect(registry.policies.map((p) => p.name)).toEqual(['users-retry', 'users-cb', 'db']);
    const snapshots = registry.snapshots();
    expect(snapshots['users-cb']).toMatchObject({ kind: 'circuitBreaker', state: 'closed' });
    expect(snapshots.db).toMatchObject({ kind: 'bulkhead', limit: 3, inflight: 0 });
    expect(() => registry.add(bulkhead({ name: 'db', limit: 1 }))).toThrow(TypeError);
    expect(registry.remove(registry.get('db')!)).toBe(true);
    expect(registry.get('db')).toBeUndefined();
  });

  it('forwards events of every policy only while it has listeners', async () => {
    const clock = countingClock();
    const registry = policyRegistry();
    const pool = bulkhead({ name: 'p', limit: 1, clock });
    registry.add(pool);
    const events: PolicyEvent[] = [];
    const stop = registry.onEvent((e) => events.push(e));
    const late = timeout({ name: 'late', durationMs: 100, clock });
    registry.add(late);
    await pool.execute(() => 1);
    await late.execute(() => 2);
    expect(events.map((e) => `${e.policy}:${e.type}`)).toEqual(['p:call', 'late:call']);
    stop();
    const reads = clock.reads();
    const hold = deferred();
    void pool.execute(() => hold.promise);
    expect(clock.reads()).toBe(reads);
    hold.resolve(0);
  });
});

describe('bulkhead events', () => {
  it('reports queue waits, rejections and limit changes', async () => {
    const clock = new FakeClock();
    const pool = bulkhead({ name: 'q', limit: 1, queue: 1, clock });
    const events: string[] = [];
    pool.onEvent((e) =>
      events.push(
        e.type === 'queue-wait'
          ? `wait ${e.waitedMs}`
          : e.type === 'reject'
            ? `reject ${e.reason}`
            : e.type === 'limit'
              ? `limit ${e.limit}`
              : e.type,
      ),
    );
    const hold = deferred();
    const first = pool.execute(() => hold.promise);
    const second = pool.execute(() => 2);
    await pool.executeOutcome(() => 3);
    clock.advance(7);
    pool.setLimit(2);
    await second;
    hold.resolve(1);
    await first;
    expect(events).toEqual(['reject full', 'limit 2', 'wait 7', 'call', 'call']);
  });
});
