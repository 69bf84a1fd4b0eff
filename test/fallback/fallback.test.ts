import { describe, expect, it } from 'vitest';
import {
  BulkheadRejectedError,
  type Failure,
  type FallbackEvent,
  fallback,
  type PolicyFallbackEvent,
} from '../../src/index.js';
import { FakeClock } from '../helpers.js';

describe('fallback', () => {
  it('replaces an error with the fallback value and hands it the failure and context', async () => {
    const error = new Error('down');
    const seen: { failure?: Failure; attempt?: number } = {};
    const policy = fallback({
      fallback: (failure, ctx) => {
        seen.failure = failure;
        seen.attempt = ctx.attempt;
        return 'cached';
      },
    });
    await expect(policy.execute(() => Promise.reject(error))).resolves.toBe('cached');
    expect(seen).toEqual({ failure: { kind: 'error', error }, attempt: 1 });
  });

  it('passes successes through without calling the fallback', async () => {
    let calls = 0;
    const policy = fallback({ fallback: () => calls++ });
    await expect(policy.execute(() => 'live')).resolves.toBe('live');
    expect(calls).toBe(0);
  });

  it('replaces rejections of inner policies, which is what it is for', async () => {
    const policy = fallback({ fallback: () => 'degraded' });
    await expect(
      policy.execute(() => Promise.reject(BulkheadRejectedError.create('db', 'full'))),
    ).resolves.toBe('degraded');
  });

  it('replaces results classified as failures', async () => {
    const policy = fallback<{ status: number }, { status: number }>({
      handleResult: (r) => r.status >= 500,
      fallback: (f) => ({ status: f.kind === 'result' ? f.result.status - 300 : 0 }),
    });
    await expect(policy.execute(() => ({ status: 503 }))).resolves.toEqual({ status: 203 });
  });

  it('only handles the errors it is told to', async () => {
    class Timeoutish extends Error {}
    const policy = fallback({ handle: [Timeoutish], fallback: () => 'fb' });
    const other = new RangeError('x');
    await expect(policy.execute(() => Promise.reject(new Timeoutish()))).resolves.toBe('fb');
    await expect(policy.execute(() => Promise.reject(other))).rejects.toBe(other);
  });

  it('rejects with the fallback error when the fallback itself fails', async () => {
    const fbError = new Error('fallback broke too');
    const policy = fallback({
      fallback: () => {
        throw fbError;
      },
    });
    await expect(policy.execute(() => Promise.reject(new Error('x')))).rejects.toBe(fbError);
    await expect(policy.executeOutcome(() => Promise.reject(new Error('x')))).resolves.toEqual({
      ok: false,
      error: fbError,
    });
  });

  it('does not run when the caller aborted', async () => {
    let calls = 0;
    const controller = new AbortController();
    const policy = fallback({ fallback: () => calls++ });
    const call = policy.execute(({ signal }) => {
      controller.abort('caller left');
      return Promise.reject(signal.reason);
    }, controller.signal);
    await expect(call).rejects.toBe('caller left');
    expect(calls).toBe(0);
  });

  it('emits onFallback with the failure', async () => {
    const events: unknown[] = [];
    const policy = fallback({ name: 'user-cache', fallback: () => null });
    policy.onFallback((e) => events.push(e));
    const error = new Error('x');
    await policy.execute(() => Promise.reject(error));
    expect(events).toEqual([
      { type: 'fallback', policy: 'user-cache', kind: 'fallback', failure: { kind: 'error', error } },
    ]);
  });

  it('delivers the same event object to onFallback and onEvent', async () => {
    const clock = new FakeClock();
    const all: FallbackEvent[] = [];
    const fallbacks: PolicyFallbackEvent[] = [];
    const policy = fallback({ name: 'p', fallback: () => 'fb', clock });
    policy.onEvent((e) => all.push(e));
    policy.onFallback((e) => fallbacks.push(e));
    await expect(policy.execute(() => Promise.reject(new Error('x')))).resolves.toBe('fb');
    expect(all.map((e) => e.type)).toEqual(['fallback', 'call']);
    expect(fallbacks).toHaveLength(1);
    expect(all[0]).toBe(fallbacks[0]);
    expect(all[1]).toEqual({
      type: 'call',
      policy: 'p',
      kind: 'fallback',
      outcome: 'success',
      durationMs: 0,
    });
    expect(policy.snapshot()).toEqual({ kind: 'fallback', name: 'p', calls: 1, fallbacks: 1 });
  });
});
