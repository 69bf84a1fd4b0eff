import { describe, expect, it } from 'vitest';
import { circuitBreaker, type PolicyCallEvent } from '../../src/index.js';
import { deferred, FakeClock } from '../helpers.js';

describe('slow calls', () => {
  it('opens on the slow-call rate, counting slow successes and failures', async () => {
    const clock = new FakeClock();
    const breaker = circuitBreaker({
      window: { kind: 'count', size: 4 },
      minimumCalls: 4,
      slowCallDurationMs: 100,
      slowCallRateThreshold: 0.5,
      clock,
    });
    const slowEvents: PolicyCallEvent[] = [];
    breaker.onSlowCall((e) => slowEvents.push(e));
    const slowCall = () =>
      breaker.executeOutcome(async () => {
        clock.advance(150);
        return 'ok but slow';
      });
    await breaker.executeOutcome(() => 'fast');
    await breaker.executeOutcome(() => 'fast');
    await slowCall();
    expect(breaker.state).toBe('closed');
    await slowCall();
    expect(breaker.state).toBe('open');
    expect(slowEvents.map((e) => e.durationMs)).toEqual([150, 150]);
  });

  it('reports durations to onSuccess and onFailure listeners', async () => {
    const clock = new FakeClock();
    const breaker = circuitBreaker({ clock });
    const seen: string[] = [];
    breaker.onSuccess((e) => seen.push(`ok ${e.durationMs}`));
    breaker.onFailure((e) =>
      seen.push(`fail ${e.durationMs} ${(e.failure as { error: Error }).error.message}`),
    );
    await breaker.executeOutcome(async () => {
      clock.advance(12);
    });
    await breaker.executeOutcome(async () => {
      clock.advance(30);
      throw new Error('bad');
    });
    expect(seen).toEqual(['ok 12', 'fail 30 bad']);
  });

  it('counts calls still hanging past the threshold, so a downstream that never answers opens the circuit', async () => {
    const clock = new FakeClock();
    const breaker = circuitBreaker({
      window: { kind: 'count', size: 20 },
      minimumCalls: 5,
      slowCallDurationMs: 1_000,
      slowCallRateThreshold: 0.8,
      countInflightSlowCalls: true,
      clock,
    });
    const hangs = Array.from({ length: 5 }, () => deferred());
    const running = hangs.map((h) => breaker.executeOutcome(() => h.promise));
    clock.advance(999);
    expect((await breaker.executeOutcome(() => 'fine')).ok).toBe(true);
    expect(breaker.snapshot().slowCalls).toBe(0);
    clock.advance(2);
    // Five calls older than 1 s, one fast success: 5/6 slow >= 80%.
    expect(breaker.snapshot()).toMatchObject({ slowCalls: 5, calls: 6 });
    const next = await breaker.executeOutcome(() => 'never called');
    expect(next.ok).toBe(false);
    expect(breaker.state).toBe('open');
    for (const h of hangs) h.resolve('finally');
    await Promise.all(running);
    expect(breaker.snapshot().inflight).toBe(0);
  });
});
