import { describe, expect, it } from 'vitest';
import { circuitBreaker, type PolicyCallEvent } from '../../src/index.js';
import { deferred, FakeClock } from '../helpers.js';

// `slowCallDurationMs` is a strict bound: a call is slow when it takes longer than the threshold, so a
// call of exactly the threshold is not slow, whether it has completed or is still running.
describe('a call lasting exactly slowCallDurationMs', () => {
  const options = (clock: FakeClock) => ({
    window: { kind: 'count', size: 10 } as const,
    minimumCalls: 1,
    slowCallDurationMs: 100,
    slowCallRateThreshold: 1,
    clock,
  });

  it('is not slow once completed; one more millisecond is', async () => {
    const clock = new FakeClock();
    const breaker = circuitBreaker(options(clock));
    const slow: PolicyCallEvent[] = [];
    breaker.onSlowCall((e) => slow.push(e));
    const lasting = (ms: number) =>
      breaker.executeOutcome(async () => {
        clock.advance(ms);
        return 'ok';
      });
    await lasting(100);
    expect(breaker.snapshot()).toMatchObject({ state: 'closed', calls: 1, slowCalls: 0 });
    expect(slow).toEqual([]);
    await lasting(101);
    expect(slow.map((e) => e.durationMs)).toEqual([101]);
    expect(breaker.recorded).toMatchObject({ calls: 2, slowCalls: 1 });
  });

  it('is not counted as slow while still in flight; one more millisecond is', async () => {
    const clock = new FakeClock();
    const breaker = circuitBreaker({ ...options(clock), countInflightSlowCalls: true });
    const hang = deferred<string>();
    const running = breaker.executeOutcome(() => hang.promise);
    clock.advance(100);
    expect(breaker.snapshot()).toMatchObject({ calls: 0, slowCalls: 0 });
    // Admission judges the in-flight calls too: at exactly the threshold nothing is slow, so no open.
    expect((await breaker.executeOutcome(() => 'fast')).ok).toBe(true);
    expect(breaker.state).toBe('closed');
    clock.advance(1);
    expect(breaker.snapshot()).toMatchObject({ calls: 2, slowCalls: 1 });
    hang.resolve('finally');
    await running;
  });
});
