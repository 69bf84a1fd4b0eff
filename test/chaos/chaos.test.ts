import { describe, expect, it } from 'vitest';
import {
  injectBehavior,
  injectError,
  injectLatency,
  injectResult,
  type PolicyEvent,
  type PolicyFaultEvent,
  pipeline,
  retry,
  seededRandom,
} from '../../src/index.js';
import { FakeClock, track } from '../helpers.js';

describe('seededRandom', () => {
  it('replays the same sequence for the same seed, in [0, 1)', () => {
    const a = seededRandom(42);
    const b = seededRandom(42);
    const xs = Array.from({ length: 1000 }, () => a());
    expect(Array.from({ length: 1000 }, () => b())).toEqual(xs);
    expect(xs.every((x) => x >= 0 && x < 1)).toBe(true);
    expect(seededRandom(43)()).not.toBe(xs[0]);
  });
});

describe('fault injection', () => {
  it('injects errors at the configured rate, within statistical bounds for a fixed seed', async () => {
    const fault = injectError({ rate: 0.3, error: new Error('injected'), random: seededRandom(7) });
    let reached = 0;
    let failed = 0;
    for (let i = 0; i < 10_000; i++) {
      const o = await fault.executeOutcome(() => {
        reached++;
        return 'ok';
      });
      if (!o.ok) failed++;
    }
    // Binomial(10000, 0.3): sd = 45.8; 4 sd either side.
    expect(failed).toBeGreaterThan(3_000 - 184);
    expect(failed).toBeLessThan(3_000 + 184);
    expect(reached + failed).toBe(10_000);
    expect(fault.snapshot()).toMatchObject({
      kind: 'injectError',
      fault: 'error',
      calls: 10_000,
      injected: failed,
    });
  });

  it('is repeatable: the same seed injects into the same calls', async () => {
    const run = async () => {
      const fault = injectError({ rate: 0.5, error: new Error('x'), random: seededRandom(99) });
      const out: boolean[] = [];
      for (let i = 0; i < 50; i++) out.push((await fault.executeOutcome(() => 1)).ok);
      return out;
    };
    expect(await run()).toEqual(await run());
  });

  it('can be switched off and on, and its rate changed, at run time', async () => {
    const fault = injectError({ rate: 1, error: new Error('x'), random: seededRandom(1) });
    expect((await fault.executeOutcome(() => 'ok')).ok).toBe(false);
    fault.disable();
    expect(fault.enabled).toBe(false);
    await expect(fault.execute(() => 'ok')).resolves.toBe('ok');
    fault.enable();
    fault.setRate(0);
    await expect(fault.execute(() => 'ok')).resolves.toBe('ok');
    expect(() => fault.setRate(1.5)).toThrow(RangeError);
  });

  it('injects results instead of calling the task', async () => {
    let called = false;
    const fault = injectResult({ rate: 1, result: { status: 503 } });
    await expect(
      fault.execute(() => {
        called = true;
        return { status: 200 };
      }),
    ).resolves.toEqual({ status: 503 });
    expect(called).toBe(false);
  });

  it('adds latency on the policy clock, and gives up waiting when the caller aborts', async () => {
    const clock = new FakeClock();
    const fault = injectLatency({ rate: 1, latencyMs: 2_000, clock });
    const call = track(fault.execute(() => 'late'));
    await clock.tick(1_999);
    expect(call.settled).toBe(false);
    await clock.tick(1);
    expect(call.value).toBe('late');
    const controller = new AbortController();
    const aborted = track(fault.execute(() => 'never', controller.signal));
    await clock.tick(100);
    controller.abort('stop');
    await clock.tick(0);
    expect(aborted.error).toBe('stop');
    expect(clock.pendingTimers).toBe(0);
  });

  it('runs a custom behaviour before the task', async () => {
    const seen: string[] = [];
    const fault = injectBehavior({ rate: 1, behavior: () => void seen.push('behaviour') });
    await fault.execute(() => seen.push('task'));
    expect(seen).toEqual(['behaviour', 'task']);
  });

  it('composes in pipelines: a retry outside recovers from injected errors', async () => {
    const clock = new FakeClock();
    const policy = pipeline(
      retry({ maxRetries: 5, backoff: 0, clock }),
      injectError({ rate: 0.5, error: new Error('flaky'), random: seededRandom(3) }),
    );
    let ok = 0;
    for (let i = 0; i < 100; i++) if ((await policy.executeOutcome(() => 'ok')).ok) ok++;
    expect(ok).toBeGreaterThanOrEqual(95);
  });

  it('takes its kind from its factory, in snapshots and events', async () => {
    const faults = [
      injectError({ name: 'e', rate: 1, error: new Error('x') }),
      injectLatency({ name: 'l', rate: 1, latencyMs: 0 }),
      injectResult({ name: 'r', rate: 1, result: 1 }),
      injectBehavior({ name: 'b', rate: 1, behavior: () => {} }),
    ];
    const events: PolicyEvent[] = [];
    for (const f of faults) {
      f.onEvent((e) => events.push(e));
      await f.executeOutcome(() => 0);
    }
    expect(faults.map((f) => [f.kind, f.snapshot().kind])).toEqual([
      ['injectError', 'injectError'],
      ['injectLatency', 'injectLatency'],
      ['injectResult', 'injectResult'],
      ['injectBehavior', 'injectBehavior'],
    ]);
    expect(events).toEqual([
      { type: 'fault', policy: 'e', kind: 'injectError', fault: 'error' },
      { type: 'fault', policy: 'l', kind: 'injectLatency', fault: 'latency' },
      { type: 'fault', policy: 'r', kind: 'injectResult', fault: 'result' },
      { type: 'fault', policy: 'b', kind: 'injectBehavior', fault: 'custom' },
    ]);
  });

  it('delivers one event object to onFault, onEvent and its diagnostics channel', async () => {
    const dc = await import('node:diagnostics_channel');
    const fault = injectError({ name: 'same', rate: 1, error: new Error('x') });
    const typed: PolicyFaultEvent[] = [];
    const all: PolicyEvent[] = [];
    const published: unknown[] = [];
    const listener = (message: unknown) => published.push(message);
    fault.onFault((e) => typed.push(e));
    fault.onEvent((e) => all.push(e));
    dc.subscribe('breakwater:injectError:fault', listener);
    try {
      await fault.executeOutcome(() => 'ok');
    } finally {
      dc.unsubscribe('breakwater:injectError:fault', listener);
    }
    expect(typed).toEqual([{ type: 'fault', policy: 'same', kind: 'injectError', fault: 'error' }]);
    expect(all[0]).toBe(typed[0]);
    expect(published[0]).toBe(typed[0]);
  });

  it('validates options', () => {
    expect(() => injectError({ rate: 2, error: new Error('x') })).toThrow(RangeError);
    expect(() => injectError({ error: new Error('x') } as never)).toThrow(TypeError);
    expect(() => injectError({ rate: 0.5, error: 'x' as never })).toThrow(TypeError);
    expect(() => injectLatency({ rate: 0.5, latencyMs: -1 })).toThrow(RangeError);
    expect(() => injectLatency({ rate: 0.5 } as never)).toThrow(/injectLatency\.latencyMs/);
  });
});
