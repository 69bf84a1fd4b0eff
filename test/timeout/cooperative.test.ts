import { describe, expect, it } from 'vitest';
import { type PolicyTimeoutEvent, TimeoutError, type TimeoutEvent, timeout } from '../../src/index.js';
import { abortListeners, deferred, FakeClock, track } from '../helpers.js';

describe('cooperative timeout', () => {
  it('aborts the signal at the deadline and reports the abort as a TimeoutError', async () => {
    const clock = new FakeClock();
    const policy = timeout({ durationMs: 100, strategy: 'cooperative', clock });
    let seen: AbortSignal | undefined;
    const call = track(
      policy.execute(
        ({ signal }) =>
          new Promise((_, reject) => {
            seen = signal;
            signal.addEventListener('abort', () => reject(signal.reason));
          }),
      ),
    );
    await clock.tick(99);
    expect(seen?.aborted).toBe(false);
    expect(call.settled).toBe(false);
    await clock.tick(1);
    expect(seen?.aborted).toBe(true);
    expect(call.ok).toBe(false);
    expect(call.error).toBeInstanceOf(TimeoutError);
    expect((call.error as TimeoutError).code).toBe('BW_ERR_TIMEOUT');
    expect((call.error as TimeoutError).timeoutMs).toBe(100);
  });

  it('returns what the function returns, even after the deadline', async () => {
    const clock = new FakeClock();
    const policy = timeout({ durationMs: 100, strategy: 'cooperative', clock });
    const work = deferred<string>();
    const call = track(policy.execute(() => work.promise));
    await clock.tick(500);
    expect(call.settled).toBe(false);
    work.resolve('late but fine');
    await clock.tick(0);
    expect(call.value).toBe('late but fine');
  });

  it('turns a failure after the deadline into a TimeoutError carrying the failure as cause', async () => {
    const clock = new FakeClock();
    const policy = timeout({ durationMs: 100, strategy: 'cooperative', clock });
    const work = deferred<string>();
    const call = track(policy.execute(() => work.promise));
    await clock.tick(150);
    const original = new Error('socket hang up');
    work.reject(original);
    await clock.tick(0);
    expect(call.error).toBeInstanceOf(TimeoutError);
    expect((call.error as Error).cause).toBe(original);
  });

  it('passes a failure before the deadline through unchanged', async () => {
    const clock = new FakeClock();
    const policy = timeout({ durationMs: 100, strategy: 'cooperative', clock });
    const original = new Error('refused');
    await expect(policy.execute(() => Promise.reject(original))).rejects.toBe(original);
  });

  it('never aborts the signal after a successful return (a body may still be read)', async () => {
    const clock = new FakeClock();
    const policy = timeout({ durationMs: 100, strategy: 'cooperative', clock });
    let seen: AbortSignal | undefined;
    await policy.execute(({ signal }) => {
      seen = signal;
      return 'response';
    });
    await clock.tick(1_000);
    expect(seen?.aborted).toBe(false);
    expect(clock.pendingTimers).toBe(0);
  });

  it('tells a parent abort from a timeout: the parent reason, no onTimeout', async () => {
    const clock = new FakeClock();
    const policy = timeout({ durationMs: 100, strategy: 'cooperative', clock });
    let timeouts = 0;
    policy.onTimeout(() => timeouts++);
    const parent = new AbortController();
    const call = track(
      policy.execute(
        ({ signal }) =>
          new Promise((_, reject) => signal.addEventListener('abort', () => reject(signal.reason))),
        parent.signal,
      ),
    );
    await clock.tick(10);
    const reason = new Error('client went away');
    parent.abort(reason);
    await clock.tick(200);
    expect(call.error).toBe(reason);
    expect(timeouts).toBe(0);
    expect(abortListeners(parent.signal)).toBe(0);
  });

  it('creates no AbortController and arms nothing when the function never reads the signal', async () => {
    const clock = new FakeClock();
    const policy = timeout({ durationMs: 100, strategy: 'cooperative', clock });
    const Original = globalThis.AbortController;
    let created = 0;
    globalThis.AbortController = class extends Original {
      constructor() {
        super();
        created++;
      }
    };
    try {
      for (let i = 0; i < 10; i++) await policy.execute(() => i);
    } finally {
      globalThis.AbortController = Original;
    }
    expect(created).toBe(0);
    expect(clock.pendingTimers).toBe(0);
  });

  it('fires onTimeout at the deadline when someone listens, even if the signal is never read', async () => {
    const clock = new FakeClock();
    const policy = timeout({ durationMs: 100, strategy: 'cooperative', clock });
    const events: unknown[] = [];
    policy.onTimeout((e) => events.push(e));
    const work = deferred();
    track(policy.execute(() => work.promise));
    await clock.tick(100);
    expect(events).toEqual([{ type: 'timeout', policy: 'timeout', kind: 'timeout', timeoutMs: 100 }]);
    work.resolve(1);
  });

  it('delivers the same event object to onTimeout and onEvent, at the deadline for onEvent alone too', async () => {
    const clock = new FakeClock();
    const policy = timeout({ name: 'p', durationMs: 100, strategy: 'cooperative', clock });
    const all: TimeoutEvent[] = [];
    policy.onEvent((e) => all.push(e));
    const work = deferred();
    const call = track(policy.execute(() => work.promise));
    await clock.tick(100);
    expect(all).toEqual([{ type: 'timeout', policy: 'p', kind: 'timeout', timeoutMs: 100 }]);
    work.reject(new Error('late'));
    await clock.tick(0);
    expect(call.error).toBeInstanceOf(TimeoutError);
    expect(all.map((e) => e.type)).toEqual(['timeout', 'call']);
    expect(all[1]).toEqual({
      type: 'call',
      policy: 'p',
      kind: 'timeout',
      outcome: 'failure',
      durationMs: 100,
    });

    const timeouts: PolicyTimeoutEvent[] = [];
    policy.onTimeout((e) => timeouts.push(e));
    const again = deferred();
    track(policy.execute(() => again.promise));
    await clock.tick(100);
    expect(timeouts).toHaveLength(1);
    expect(all[2]).toBe(timeouts[0]);
    again.resolve(1);
    expect(policy.snapshot()).toMatchObject({ kind: 'timeout', calls: 2, timeouts: 2 });
  });

  it('aborts at once when the signal is first read after the deadline', async () => {
    const clock = new FakeClock();
    const policy = timeout({ durationMs: 100, strategy: 'cooperative', clock });
    const call = track(
      policy.execute(async (ctx) => {
        clock.advance(150);
        return ctx.signal.aborted;
      }),
    );
    await clock.tick(0);
    expect(call.value).toBe(true);
  });
});
