import { describe, expect, it } from 'vitest';
import {
  adaptiveTimeout,
  type PolicyTimeoutEvent,
  pipeline,
  retry,
  TimeoutError,
  type TimeoutEvent,
  timeout,
} from '../../src/index.js';
import { FakeClock, track } from '../helpers.js';

/** Runs n sequential calls through the policy, each taking `latency(i)` ms on the fake clock. */
async function drive(
  clock: FakeClock,
  policy: ReturnType<typeof adaptiveTimeout>,
  n: number,
  latency: (i: number) => number,
) {
  for (let i = 0; i < n; i++) {
    const call = track(
      policy.executeOutcome(() => new Promise((r) => clock.setTimer(() => r('ok'), latency(i)))),
    );
    await clock.tick(latency(i));
    await clock.tick(0);
    if (!call.settled) throw new Error('call did not settle');
  }
}

describe('adaptive timeout', () => {
  it('is of kind adaptiveTimeout: policy, snapshot and events', async () => {
    const clock = new FakeClock();
    const policy = adaptiveTimeout({ name: 'a', warmupMs: 50, clock });
    const all: TimeoutEvent[] = [];
    const timeouts: PolicyTimeoutEvent[] = [];
    policy.onEvent((e) => all.push(e));
    policy.onTimeout((e) => timeouts.push(e));
    const call = track(policy.executeOutcome(() => new Promise(() => {})));
    await clock.tick(50);
    expect(call.settled).toBe(true);
    expect(policy.kind).toBe('adaptiveTimeout');
    expect(policy.snapshot()).toMatchObject({ kind: 'adaptiveTimeout', name: 'a', calls: 1, timeouts: 1 });
    expect(timeouts).toEqual([{ type: 'timeout', policy: 'a', kind: 'adaptiveTimeout', timeoutMs: 50 }]);
    expect(all[0]).toBe(timeouts[0]);
    expect(all[1]).toEqual({
      type: 'call',
      policy: 'a',
      kind: 'adaptiveTimeout',
      outcome: 'failure',
      durationMs: 50,
    });
    expect(timeout(10).kind).toBe('timeout');
  });

  it('uses the warm-up value until it has enough samples', async () => {
    const clock = new FakeClock();
    const policy = adaptiveTimeout({ warmupMs: 800, minSamples: 20, clock });
    await drive(clock, policy, 19, () => 10);
    expect(policy.snapshot().durationMs).toBe(800);
  });

  it('follows percentile x multiplier, clamped, and tracks a latency shift within a bounded number of samples', async () => {
    const clock = new FakeClock();
    const policy = adaptiveTimeout({
      percentile: 99,
      multiplier: 2,
      minMs: 5,
      maxMs: 5_000,
      warmupMs: 1_000,
      minSamples: 50,
      windowMs: 5_000,
      maxChangePerSecond: 2,
      clock,
    });
    await drive(clock, policy, 400, () => 20);
    // p99 of 20 ms x 2 = 40 ms (within the histogram's 1.6% error).
    expect(policy.snapshot().durationMs).toBeGreaterThanOrEqual(39);
    expect(policy.snapshot().durationMs).toBeLessThanOrEqual(41);
    // Latency shifts to 100 ms (calls above the old timeout time out and are recorded at their budget).
    let n = 0;
    while (policy.snapshot().durationMs < 190 && n < 2_000) {
      await drive(clock, policy, 1, () => 100);
      n++;
    }
    expect(policy.snapshot().durationMs).toBeGreaterThanOrEqual(190);
    expect(n).toBeLessThan(50);
    console.log(`adaptive timeout: 40 ms -> ${policy.snapshot().durationMs} ms after ${n} calls at 100 ms`);
  });

  it('never moves faster than maxChangePerSecond', async () => {
    const clock = new FakeClock();
    const policy = adaptiveTimeout({
      minMs: 1,
      maxMs: 10_000,
      warmupMs: 1_000,
      minSamples: 1,
      maxChangePerSecond: 0.5,
      clock,
    });
    await drive(clock, policy, 1, () => 1);
    clock.advance(1_000);
    await drive(clock, policy, 1, () => 1);
    // One second at 50% per second: from 1000 down to no less than 500.
    expect(policy.snapshot().durationMs).toBeGreaterThanOrEqual(500);
    expect(policy.snapshot().durationMs).toBeLessThan(1_000);
  });

  it('gives retries more room when escalating, and is capped by an enclosing deadline', async () => {
    const clock = new FakeClock();
    const t = adaptiveTimeout({ warmupMs: 100, maxMs: 1_000, escalation: 2, clock });
    const deadlines: number[] = [];
    const policy = pipeline(retry({ maxRetries: 2, backoff: 0, clock }), t);
    const call = track(
      policy.execute((ctx) => {
        deadlines.push(ctx.deadline - clock.now());
        return new Promise(() => {});
      }),
    );
    await clock.tick(1_000);
    expect(deadlines).toEqual([100, 200, 400]);
    expect(call.error).toBeInstanceOf(TimeoutError);

    const capped = pipeline(timeout({ durationMs: 50, clock }), adaptiveTimeout({ warmupMs: 500, clock }));
    const seen = await capped.execute((ctx) => ctx.deadline - clock.now());
    expect(seen).toBe(50);
  });

  it('validates its options', () => {
    expect(() => adaptiveTimeout({ minMs: 100, maxMs: 10 })).toThrow(RangeError);
    expect(() => adaptiveTimeout({ percentile: 0 })).toThrow(RangeError);
    expect(() => adaptiveTimeout({ warmupMs: 20_000 })).toThrow(RangeError);
    expect(() => adaptiveTimeout({ escalation: 0.5 })).toThrow(RangeError);
    expect(() => adaptiveTimeout({ percentil: 99 } as never)).toThrow(TypeError);
  });
});
