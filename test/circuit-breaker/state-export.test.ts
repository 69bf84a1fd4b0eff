import { describe, expect, it } from 'vitest';
import { BrokenCircuitError, circuitBreaker } from '../../src/index.js';
import { FakeClock } from '../helpers.js';
import { calls, fail, succeed } from './helpers.js';

describe('snapshot', () => {
  it('reports state, rates, counts, in-flight calls and the time of the last transition', async () => {
    const clock = new FakeClock(5_000);
    const breaker = circuitBreaker({
      name: 'users',
      window: { kind: 'count', size: 10 },
      minimumCalls: 10,
      clock,
    });
    await calls(breaker, 3, fail);
    await calls(breaker, 1, succeed);
    let inside: unknown;
    await breaker.execute(() => {
      inside = breaker.snapshot().inflight;
    });
    expect(inside).toBe(1);
    expect(breaker.snapshot()).toEqual({
      kind: 'circuitBreaker',
      name: 'users',
      state: 'closed',
      since: 5_000,
      retryAfterMs: undefined,
      calls: 5,
      failures: 3,
      slowCalls: 0,
      failureRate: 0.6,
      slowCallRate: 0,
      inflight: 0,
      consecutiveOpens: 0,
      halfOpen: undefined,
      recorded: { calls: 5, failures: 3, slowCalls: 0 },
    });
  });
});

describe('toJSON / restore', () => {
  it('carries closed counts to a new breaker', async () => {
    const clock = new FakeClock();
    const options = { window: { kind: 'count', size: 10 }, minimumCalls: 5, clock } as const;
    const before = circuitBreaker(options);
    await calls(before, 4, fail);
    const saved = JSON.parse(JSON.stringify(before));
    const after = circuitBreaker(options);
    after.restore(saved);
    expect(after.snapshot()).toMatchObject({ state: 'closed', calls: 4, failures: 4 });
    await calls(after, 1, fail);
    expect(after.state).toBe('open');
  });

  it('restores an open circuit with its remaining break, measured on the new clock', async () => {
    const first = new FakeClock(1_000_000);
    const before = circuitBreaker({
      window: { kind: 'consecutive', failures: 1 },
      breakDurationMs: 10_000,
      clock: first,
    });
    await calls(before, 1, fail);
    first.advance(4_000);
    const saved = before.toJSON();
    expect(saved).toMatchObject({ version: 1, state: 'open', openForMs: 6_000, consecutiveOpens: 1 });

    const second = new FakeClock(42); // another process: an unrelated monotonic clock
    const after = circuitBreaker({
      window: { kind: 'consecutive', failures: 1 },
      breakDurationMs: 10_000,
      clock: second,
    });
    after.restore(saved);
    const outcome = await after.executeOutcome(succeed);
    expect((outcome as { error: BrokenCircuitError }).error.retryAfterMs).toBe(6_000);
    second.advance(6_000);
    await expect(after.execute(succeed)).resolves.toBe('ok');
    expect(after.state).toBe('closed');
  });

  it('saves half-open as open with nothing left to wait', async () => {
    const clock = new FakeClock();
    const b = circuitBreaker({ window: { kind: 'consecutive', failures: 1 }, breakDurationMs: 10, clock });
    await calls(b, 1, fail);
    clock.advance(10);
    void b.execute(() => new Promise(() => {}));
    expect(b.state).toBe('half-open');
    expect(b.toJSON()).toMatchObject({ state: 'open', openForMs: 0 });
  });

  it('starts the window empty when the saved window has another shape, and rejects garbage', () => {
    const clock = new FakeClock();
    const a = circuitBreaker({ window: { kind: 'count', size: 10 }, clock });
    const b = circuitBreaker({ window: { kind: 'time' }, clock });
    b.restore(a.toJSON());
    expect(b.snapshot().calls).toBe(0);
    expect(() => b.restore({ version: 2 } as never)).toThrow(TypeError);
    expect(() => b.restore({ ...a.toJSON(), openForMs: -1 })).toThrow(RangeError);
  });
});

describe('permits (tryAcquire)', () => {
  it('records outcomes reported by hand, once each', () => {
    const clock = new FakeClock();
    const breaker = circuitBreaker({ window: { kind: 'consecutive', failures: 2 }, clock });
    const a = breaker.tryAcquire();
    const b = breaker.tryAcquire();
    if (a instanceof BrokenCircuitError || b instanceof BrokenCircuitError) throw new Error('unexpected');
    expect(breaker.snapshot().inflight).toBe(2);
    a.failure(new Error('x'));
    a.failure(new Error('counted once'));
    expect(breaker.state).toBe('closed');
    b.failure(new Error('y'));
    expect(breaker.state).toBe('open');
    expect(breaker.tryAcquire()).toBeInstanceOf(BrokenCircuitError);
    expect(breaker.snapshot().inflight).toBe(0);
  });

  it('release() frees a half-open probe without judging', () => {
    const clock = new FakeClock();
    const breaker = circuitBreaker({
      window: { kind: 'consecutive', failures: 1 },
      breakDurationMs: 5,
      clock,
    });
    (breaker.tryAcquire() as { failure(e: unknown): void }).failure(new Error('x'));
    clock.advance(5);
    const probe = breaker.tryAcquire() as { release(): void };
    expect(breaker.tryAcquire()).toBeInstanceOf(BrokenCircuitError);
    probe.release();
    const next = breaker.tryAcquire() as { success(): void };
    next.success();
    expect(breaker.state).toBe('closed');
  });
});

describe('recorded totals', () => {
  it('count what closed periods recorded, never ignored calls, probes or stale results', async () => {
    const clock = new FakeClock();
    const breaker = circuitBreaker({
      window: { kind: 'consecutive', failures: 2 },
      breakDurationMs: 10,
      ignore: RangeError,
      clock,
    });
    await calls(breaker, 1, succeed);
    await calls(breaker, 1, () => {
      throw new RangeError('ignored');
    });
    await calls(breaker, 2, fail); // opens
    await calls(breaker, 3, succeed); // rejected while open
    clock.advance(10);
    await calls(breaker, 1, succeed); // a probe: half-open, not counted
    expect(breaker.state).toBe('closed');
    expect(breaker.recorded).toEqual({ calls: 3, failures: 2, slowCalls: 0 });
    expect(breaker.snapshot().recorded).toEqual(breaker.recorded);
  });
});
