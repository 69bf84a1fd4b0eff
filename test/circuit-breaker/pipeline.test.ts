import { describe, expect, it } from 'vitest';
import {
  BrokenCircuitError,
  bulkhead,
  circuitBreaker,
  fallback,
  pipeline,
  retry,
  TimeoutError,
  timeout,
} from '../../src/index.js';
import { FakeClock, track } from '../helpers.js';

describe('circuit breaker in pipelines', () => {
  it('counts timeouts of an inner timeout as failures', async () => {
    const clock = new FakeClock();
    const breaker = circuitBreaker({ window: { kind: 'consecutive', failures: 2 }, clock });
    const policy = pipeline(breaker, timeout({ durationMs: 50, strategy: 'cooperative', clock }));
    for (let i = 0; i < 2; i++) {
      const call = track(
        policy.execute(
          ({ signal }) =>
            new Promise((_, reject) => signal.addEventListener('abort', () => reject(signal.reason))),
        ),
      );
      await clock.tick(50);
      expect(call.error).toBeInstanceOf(TimeoutError);
    }
    expect(breaker.state).toBe('open');
  });

  it('a retry outside the breaker stops at an open circuit whose break is longer than maxDelayMs', async () => {
    const clock = new FakeClock();
    const breaker = circuitBreaker({
      window: { kind: 'consecutive', failures: 2 },
      breakDurationMs: 60_000,
      clock,
    });
    let calls = 0;
    const policy = pipeline(retry({ maxRetries: 5, backoff: 10, maxDelayMs: 1_000, clock }), breaker);
    const call = track(
      policy.execute(() => {
        calls++;
        throw new Error('down');
      }),
    );
    await clock.tick(100);
    expect(calls).toBe(2);
    expect(call.error).toBeInstanceOf(BrokenCircuitError);
  });

  it('a fallback outside the breaker answers while it is open', async () => {
    const clock = new FakeClock();
    const breaker = circuitBreaker({ window: { kind: 'consecutive', failures: 1 }, clock });
    const policy = pipeline(
      fallback({
        fallback: (f) => (f.kind === 'error' && f.error instanceof BrokenCircuitError ? 'cached' : 'error'),
      }),
      breaker,
    );
    await policy.execute(() => Promise.reject(new Error('x')));
    await expect(policy.execute(() => 'live')).resolves.toBe('cached');
  });

  it('a rejection by the first of several fused gates is a rejected promise, never a synchronous throw', async () => {
    const clock = new FakeClock();
    const breaker = circuitBreaker({ clock });
    breaker.open();
    const policy = pipeline(
      breaker,
      bulkhead({ limit: 1, clock }),
      timeout({ durationMs: 100, strategy: 'cooperative', clock }),
    );
    let call: Promise<unknown> | undefined;
    expect(() => {
      call = policy.execute(() => 1);
    }).not.toThrow();
    await expect(call).rejects.toBeInstanceOf(BrokenCircuitError);
    await expect(policy.executeOutcome(() => 1)).resolves.toMatchObject({ ok: false });
  });

  it('fuses with a cooperative timeout and keeps both behaviours', async () => {
    const clock = new FakeClock();
    const breaker = circuitBreaker({ window: { kind: 'consecutive', failures: 3 }, clock });
    const policy = pipeline(breaker, timeout({ durationMs: 100, strategy: 'cooperative', clock }));
    const seen = await policy.execute((ctx) => ctx.deadline);
    expect(seen).toBe(100);
    expect(breaker.snapshot().calls).toBe(0); // a success ends the (empty) failure streak
  });
});
