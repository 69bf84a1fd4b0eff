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

  describe('calls their callers gave up on', () => {
    /** A downstream that hangs until its signal aborts, as fetch(url, { signal }) does. */
    const hung = (ctx: { signal: AbortSignal }) =>
      new Promise((_, reject) => ctx.signal.addEventListener('abort', () => reject(ctx.signal.reason)));
    const breakerFor = (clock: FakeClock) =>
      circuitBreaker({
        window: { kind: 'count', size: 10 },
        minimumCalls: 3,
        slowCallDurationMs: 100,
        slowCallRateThreshold: 0.5,
        clock,
      });
    async function abandonAfter(breaker: ReturnType<typeof circuitBreaker>, clock: FakeClock, ms: number) {
      const caller = new AbortController();
      const call = breaker.executeOutcome(hung, caller.signal);
      clock.advance(ms);
      caller.abort(new Error('caller deadline'));
      const outcome = await call;
      expect(outcome.ok).toBe(false);
    }

    it('count as slow calls once slower than slowCallDurationMs: a hung downstream opens the circuit', async () => {
      const clock = new FakeClock();
      const breaker = breakerFor(clock);
      const calls: PolicyCallEvent[] = [];
      breaker.onEvent((e) => {
        if (e.type === 'call') calls.push(e);
      });
      for (let i = 0; i < 3; i++) await abandonAfter(breaker, clock, 150);
      expect(breaker.state).toBe('open');
      expect(breaker.snapshot()).toMatchObject({ state: 'open', failures: 0 });
      // The caller saw its own abort (ignored); the window recorded a slow call, not a failure.
      expect(calls[0]).toMatchObject({ outcome: 'ignored', verdict: 'success', slow: true, durationMs: 150 });
    });

    it('are not counted at all when the caller left before the call was slow', async () => {
      const clock = new FakeClock();
      const breaker = breakerFor(clock);
      for (let i = 0; i < 5; i++) await abandonAfter(breaker, clock, 50);
      expect(breaker.snapshot()).toMatchObject({ state: 'closed', calls: 0, slowCalls: 0, failures: 0 });
    });
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
