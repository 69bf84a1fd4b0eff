import { describe, expect, it } from 'vitest';
import { deadlineQueueFor } from '../../src/core/deadline-queue.js';
import { TimeoutError, timeout } from '../../src/index.js';
import { abortListeners, deferred, FakeClock, track } from '../helpers.js';

describe('aggressive timeout', () => {
  it('rejects at the deadline even when the work ignores its signal', async () => {
    const clock = new FakeClock();
    const policy = timeout({ durationMs: 50, clock });
    const work = deferred();
    const call = track(policy.execute(() => work.promise));
    await clock.tick(49);
    expect(call.settled).toBe(false);
    await clock.tick(1);
    expect(call.error).toBeInstanceOf(TimeoutError);
    expect((call.error as TimeoutError).policy).toBe('timeout');
  });

  it('aborts the signal of the abandoned work', async () => {
    const clock = new FakeClock();
    const policy = timeout({ durationMs: 50, clock });
    let seen: AbortSignal | undefined;
    track(
      policy.execute(({ signal }) => {
        seen = signal;
        return new Promise(() => {});
      }),
    );
    await clock.tick(50);
    expect(seen?.aborted).toBe(true);
    expect(seen?.reason).toBeInstanceOf(TimeoutError);
  });

  it('settles with the work when it finishes first, and disarms', async () => {
    const clock = new FakeClock();
    const policy = timeout({ durationMs: 50, clock });
    await expect(policy.execute(async () => 'fast')).resolves.toBe('fast');
    expect(deadlineQueueFor(clock).size).toBe(0);
    // The shared native timer is not cleared per call (that would cost a timer per call): it fires
    // once, finds nothing due and is gone.
    await clock.tick(50);
    expect(clock.pendingTimers).toBe(0);
  });

  it('rejects with the parent reason at once when the parent aborts', async () => {
    const clock = new FakeClock();
    const policy = timeout({ durationMs: 50, clock });
    let timeouts = 0;
    policy.onTimeout(() => timeouts++);
    const parent = new AbortController();
    const call = track(policy.execute(() => new Promise(() => {}), parent.signal));
    await clock.tick(10);
    expect(abortListeners(parent.signal)).toBe(1);
    parent.abort('bye');
    await clock.tick(0);
    expect(call.error).toBe('bye');
    await clock.tick(100);
    expect(timeouts).toBe(0);
    expect(abortListeners(parent.signal)).toBe(0);
  });

  it('rejects without calling the function when the parent signal is already aborted', async () => {
    const policy = timeout({ durationMs: 50, clock: new FakeClock() });
    let calls = 0;
    await expect(policy.execute(() => calls++, AbortSignal.abort('gone'))).rejects.toBe('gone');
    await expect(policy.executeOutcome(() => calls++, AbortSignal.abort('gone'))).resolves.toEqual({
      ok: false,
      error: 'gone',
    });
    expect(calls).toBe(0);
  });

  it('returns a TimeoutError outcome from executeOutcome', async () => {
    const clock = new FakeClock();
    const policy = timeout({ durationMs: 5, clock });
    const call = track(policy.executeOutcome(() => new Promise(() => {})));
    await clock.tick(5);
    expect(call.value).toMatchObject({ ok: false });
    expect((call.value as { error: unknown }).error).toBeInstanceOf(TimeoutError);
  });

  it('its deadline keeps the process alive while the call is in flight, and only then', async () => {
    const policy = timeout(60_000);
    // Only ref'd timers are reported as active resources keeping the loop alive.
    const active = () =>
      (process as unknown as { getActiveResourcesInfo(): string[] })
        .getActiveResourcesInfo()
        .filter((r) => r === 'Timeout').length;
    const before = active();
    const work = deferred();
    const call = policy.execute(() => work.promise);
    expect(active()).toBe(before + 1);
    work.resolve(1);
    await call;
    // Unref'd by the end of the turn in which the call ended.
    await new Promise((resolve) => setImmediate(resolve));
    expect(active()).toBe(before);
  });
});
