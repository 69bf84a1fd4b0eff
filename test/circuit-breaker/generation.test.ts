import { describe, expect, it } from 'vitest';
import { circuitBreaker } from '../../src/index.js';
import { deferred, FakeClock } from '../helpers.js';
import { calls, fail, succeed } from './helpers.js';

describe('generation guard', () => {
  it('a slow call that began while closed and fails after the circuit opened does not touch the new state', async () => {
    const clock = new FakeClock();
    const breaker = circuitBreaker({
      window: { kind: 'count', size: 4 },
      minimumCalls: 2,
      breakDurationMs: 1_000,
      clock,
    });
    const slow = deferred();
    const running = breaker.executeOutcome(() => slow.promise);
    await calls(breaker, 2, fail); // opens
    expect(breaker.state).toBe('open');
    clock.advance(1_000);
    await calls(breaker, 1, succeed); // probe succeeds: closed, fresh window
    expect(breaker.state).toBe('closed');
    slow.reject(new Error('late failure from the previous period'));
    await running;
    expect(breaker.snapshot()).toMatchObject({ state: 'closed', calls: 0, failures: 0 });
    await calls(breaker, 1, fail);
    expect(breaker.state).toBe('closed'); // one failure in the new window: below the minimum
  });

  it('a stale success does not count as a half-open probe', async () => {
    const clock = new FakeClock();
    const breaker = circuitBreaker({
      window: { kind: 'consecutive', failures: 1 },
      breakDurationMs: 10,
      clock,
    });
    const old = deferred();
    const running = breaker.execute(() => old.promise);
    await calls(breaker, 1, fail);
    clock.advance(10);
    const probe = deferred();
    const probing = breaker.execute(() => probe.promise);
    old.resolve('stale');
    await running;
    expect(breaker.snapshot()).toMatchObject({ state: 'half-open', halfOpen: { probes: 1, successes: 0 } });
    probe.resolve('fresh');
    await probing;
    expect(breaker.state).toBe('closed');
  });

  it('many overlapping calls across transitions: only the current period is ever counted', async () => {
    const clock = new FakeClock();
    const breaker = circuitBreaker({
      window: { kind: 'count', size: 50 },
      minimumCalls: 10,
      breakDurationMs: 100,
      halfOpen: { maxCalls: 3 },
      clock,
    });
    const pending: { d: ReturnType<typeof deferred>; p: Promise<unknown> }[] = [];
    for (let i = 0; i < 30; i++) {
      const d = deferred();
      pending.push({ d, p: breaker.executeOutcome(() => d.promise) });
    }
    expect(breaker.snapshot().inflight).toBe(30);
    // Ten fail: the circuit opens; the other twenty settle later, in a different generation.
    for (const { d, p } of pending.slice(0, 10)) {
      d.reject(new Error('x'));
      await p;
    }
    expect(breaker.state).toBe('open');
    clock.advance(100);
    const probes = [0, 1, 2].map(() => breaker.executeOutcome(succeed));
    await Promise.all(probes);
    expect(breaker.state).toBe('closed');
    for (const { d, p } of pending.slice(10)) {
      d.reject(new Error('stale'));
      await p;
    }
    expect(breaker.snapshot()).toMatchObject({ state: 'closed', calls: 0, inflight: 0 });
  });
});
