import { describe, expect, it } from 'vitest';
import {
  adaptiveThrottle,
  circuitBreaker,
  fallback,
  hedge,
  type PolicyCallEvent,
  type PolicyEvent,
  pipeline,
  retry,
  slo,
  TimeoutError,
} from '../../src/index.js';
import { FakeClock } from '../../src/testing/index.js';

// A `call` event's `outcome` is what the caller of that policy got; `verdict` is the policy's own
// classification. An error a policy does not handle used to be reported as a success of that policy,
// so metrics and the dashboard showed 0 % errors for calls whose callers all failed.

function calls(policy: { onEvent: (l: (e: PolicyEvent) => void) => unknown }): PolicyCallEvent[] {
  const seen: PolicyCallEvent[] = [];
  policy.onEvent((e) => {
    if (e.type === 'call') seen.push(e);
  });
  return seen;
}

const boom = () => Promise.reject(new Error('not a timeout'));

describe('call events report what the caller got', () => {
  it('retry: an error it does not handle is a failure for the caller, a success for its classification', async () => {
    const clock = new FakeClock();
    const policy = retry({ handle: TimeoutError, backoff: 0, clock });
    const seen = calls(policy);
    await expect(policy.execute(boom)).rejects.toThrow('not a timeout');
    expect(seen).toEqual([expect.objectContaining({ outcome: 'failure', verdict: 'success' })]);
  });

  it('retry: retries that end in a handled failure are a failure both ways', async () => {
    const clock = new FakeClock();
    const policy = retry({ maxAttempts: 2, backoff: 0, clock });
    const seen = calls(policy);
    await expect(policy.execute(boom)).rejects.toThrow('not a timeout');
    expect(seen).toEqual([expect.objectContaining({ outcome: 'failure', verdict: 'failure' })]);
  });

  it('circuit breaker: outcome is the caller view, onFailure/onSuccess follow its verdict', async () => {
    const clock = new FakeClock();
    const breaker = circuitBreaker({ handle: TimeoutError, clock });
    const seen = calls(breaker);
    const failures: unknown[] = [];
    const successes: unknown[] = [];
    breaker.onFailure((e) => failures.push(e));
    breaker.onSuccess((e) => successes.push(e));
    await expect(breaker.execute(boom)).rejects.toThrow('not a timeout');
    expect(seen).toEqual([expect.objectContaining({ outcome: 'failure', verdict: 'success' })]);
    expect(failures).toEqual([]);
    expect(successes).toHaveLength(1);
  });

  it('hedge, adaptive throttle and slo report the caller view beside their verdict', async () => {
    const clock = new FakeClock();
    for (const policy of [
      hedge({ delayMs: 1_000, handle: TimeoutError, clock }),
      adaptiveThrottle({ handle: TimeoutError, clock }),
      slo({ availability: 0.99, handle: TimeoutError, clock }),
    ]) {
      const seen = calls(policy);
      await expect(policy.execute(boom)).rejects.toThrow('not a timeout');
      expect(seen, policy.kind).toEqual([
        expect.objectContaining({ outcome: 'failure', verdict: 'success' }),
      ]);
    }
  });

  it('an outer retry around a fallback that recovers: both report a success', async () => {
    const clock = new FakeClock();
    const outer = retry({ handle: TimeoutError, backoff: 0, clock });
    const inner = fallback({ fallback: () => 'cached', clock });
    const seenOuter = calls(outer);
    const seenInner = calls(inner);
    await expect(pipeline(outer, inner).execute(boom)).resolves.toBe('cached');
    expect(seenOuter).toEqual([expect.objectContaining({ outcome: 'success', verdict: 'success' })]);
    expect(seenInner).toEqual([expect.objectContaining({ outcome: 'success' })]);
  });

  it('a caller that aborts gets ignored, not failure', async () => {
    const clock = new FakeClock();
    const policy = retry({ backoff: 0, clock });
    const seen = calls(policy);
    const controller = new AbortController();
    const running = policy.execute(
      (ctx) =>
        new Promise((_, reject) => ctx.signal.addEventListener('abort', () => reject(ctx.signal.reason))),
      controller.signal,
    );
    controller.abort(new Error('caller left'));
    await expect(running).rejects.toThrow('caller left');
    expect(seen).toEqual([expect.objectContaining({ outcome: 'ignored' })]);
  });
});
