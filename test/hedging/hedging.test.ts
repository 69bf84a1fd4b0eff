import { describe, expect, it } from 'vitest';
import {
  type Context,
  circuitBreaker,
  type HedgeEvent,
  hedge,
  type PolicyHedgeEvent,
  pipeline,
  retryBudget,
  timeout,
  tokenBudget,
} from '../../src/index.js';
import { abortListeners, FakeClock, flush, track } from '../helpers.js';

/** A downstream attempt that answers `value` after `ms`, or rejects with its signal's reason when aborted. */
function answer(clock: FakeClock, ctx: Context, ms: number, value: string | Error) {
  return new Promise((resolve, reject) => {
    const t = clock.setTimer(() => (value instanceof Error ? reject(value) : resolve(value)), ms);
    ctx.signal.addEventListener('abort', () => {
      clock.clearTimer(t);
      reject(ctx.signal.reason);
    });
  });
}

describe('hedge', () => {
  it('starts another attempt after the delay; the first success wins and the loser is aborted', async () => {
    const clock = new FakeClock();
    const policy = hedge({ delayMs: 50, clock });
    const signals: AbortSignal[] = [];
    const call = track(
      policy.execute((ctx) => {
        signals.push(ctx.signal);
        return answer(clock, ctx, ctx.attempt === 1 ? 1_000 : 20, `attempt ${ctx.attempt}`);
      }),
    );
    await clock.tick(49);
    expect(signals).toHaveLength(1);
    await clock.tick(1);
    expect(signals).toHaveLength(2);
    await clock.tick(20);
    expect(call.value).toBe('attempt 2');
    expect(signals[0]!.aborted).toBe(true);
    expect((signals[0]!.reason as DOMException).name).toBe('AbortError');
    expect(signals[1]!.aborted).toBe(false);
    expect(clock.pendingTimers).toBe(0);
    expect(policy.snapshot()).toMatchObject({ kind: 'hedge', calls: 1, hedges: 1, hedgeWins: 1 });
  });

  it('does not hedge a call that answers before the delay', async () => {
    const clock = new FakeClock();
    const policy = hedge({ delayMs: 50, clock });
    let attempts = 0;
    const call = track(
      policy.execute((ctx) => {
        attempts++;
        return answer(clock, ctx, 30, 'fast');
      }),
    );
    await clock.tick(100);
    expect(call.value).toBe('fast');
    expect(attempts).toBe(1);
  });

  it('starts the next attempt at once when one fails, and returns the last failure when all fail', async () => {
    const clock = new FakeClock();
    const policy = hedge({ delayMs: 1_000, maxHedges: 2, clock });
    const starts: number[] = [];
    const hedges: PolicyHedgeEvent[] = [];
    policy.onHedge((e) => hedges.push(e));
    const call = track(
      policy.execute((ctx) => {
        starts.push(clock.now());
        return answer(clock, ctx, 10, new Error(`failed ${ctx.attempt}`));
      }),
    );
    await clock.tick(100);
    expect(starts).toEqual([0, 10, 20]);
    expect((call.error as Error).message).toBe('failed 3');
    expect(hedges).toEqual([
      { type: 'hedge', policy: 'hedge', kind: 'hedge', attempt: 2, trigger: 'failure' },
      { type: 'hedge', policy: 'hedge', kind: 'hedge', attempt: 3, trigger: 'failure' },
    ]);
  });

  it('delivers the same event object to onHedge and onEvent', async () => {
    const clock = new FakeClock();
    const policy = hedge({ name: 'p', delayMs: 50, clock });
    const all: HedgeEvent[] = [];
    const hedges: PolicyHedgeEvent[] = [];
    policy.onEvent((e) => all.push(e));
    policy.onHedge((e) => hedges.push(e));
    const call = track(
      policy.execute((ctx) => answer(clock, ctx, ctx.attempt === 1 ? 1_000 : 20, `attempt ${ctx.attempt}`)),
    );
    await clock.tick(100);
    expect(call.value).toBe('attempt 2');
    expect(hedges).toEqual([{ type: 'hedge', policy: 'p', kind: 'hedge', attempt: 2, trigger: 'delay' }]);
    expect(all.map((e) => e.type)).toEqual(['hedge', 'call']);
    expect(all[0]).toBe(hedges[0]);
    expect(all[1]).toEqual({
      type: 'call',
      policy: 'p',
      kind: 'hedge',
      outcome: 'success',
      verdict: 'success',
      durationMs: 70,
    });
  });

  it('never runs more than maxHedges extra attempts', async () => {
    const clock = new FakeClock();
    const policy = hedge({ delayMs: 10, maxHedges: 2, clock });
    let attempts = 0;
    track(
      policy.execute((ctx) => {
        attempts++;
        return answer(clock, ctx, 10_000, 'slow');
      }),
    );
    await clock.tick(1_000);
    expect(attempts).toBe(3);
  });

  it('asks the shared retry budget before each hedge', async () => {
    const clock = new FakeClock();
    const budget = tokenBudget({ maxTokens: 2, tokenRatio: 0.1 });
    budget.recordOutcome(true); // 1 token left: not more than half
    const policy = hedge({ delayMs: 10, budget, clock });
    let attempts = 0;
    const call = track(
      policy.execute((ctx) => {
        attempts++;
        return answer(clock, ctx, 100, 'only one');
      }),
    );
    await clock.tick(200);
    expect(call.value).toBe('only one');
    expect(attempts).toBe(1);
    expect(retryBudget).toBeTypeOf('function');
  });

  it('aborts every attempt when the caller aborts', async () => {
    const clock = new FakeClock();
    const policy = hedge({ delayMs: 10, clock });
    const controller = new AbortController();
    const signals: AbortSignal[] = [];
    const call = track(
      policy.execute((ctx) => {
        signals.push(ctx.signal);
        return answer(clock, ctx, 1_000, 'x');
      }, controller.signal),
    );
    await clock.tick(20);
    controller.abort('caller left');
    await clock.tick(0);
    expect(call.error).toBe('caller left');
    expect(signals.every((s) => s.aborted)).toBe(true);
  });

  it('hedges after a latency percentile once it has enough samples', async () => {
    const clock = new FakeClock();
    const policy = hedge({ percentile: 50, minSamples: 10, delayMs: 500, clock });
    for (let i = 0; i < 20; i++) {
      const call = track(policy.execute((ctx) => answer(clock, ctx, 40, 'ok')));
      await clock.tick(40);
      expect(call.value).toBe('ok');
    }
    clock.advance(1_000);
    expect(policy.snapshot().delayMs).toBeGreaterThan(38);
    expect(policy.snapshot().delayMs).toBeLessThan(42);
  });
});

describe('hedging against a heavy-tailed downstream', () => {
  it('cuts p99 latency by a measured factor for a bounded extra load', async () => {
    // 95% of attempts take 10 ms, 5% take 500 ms (a GC pause, a slow replica), from a seeded generator.
    let seed = 42;
    const random = () => {
      seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
      return seed / 2 ** 31;
    };
    const latency = () => (random() < 0.95 ? 10 : 500);
    const run = async (hedged: boolean) => {
      const clock = new FakeClock();
      const policy = hedge({ delayMs: 30, maxHedges: 1, clock });
      let attempts = 0;
      const durations: number[] = [];
      for (let i = 0; i < 2_000; i++) {
        const start = clock.now();
        const task = (ctx: Context) => {
          attempts++;
          return answer(clock, ctx, latency(), 'ok');
        };
        const call = track(
          hedged ? policy.execute(task) : task({ signal: new AbortController().signal } as Context),
        );
        while (!call.settled) await clock.tick(5);
        durations.push(clock.now() - start);
      }
      durations.sort((a, b) => a - b);
      return { p99: durations[Math.ceil(0.99 * durations.length) - 1]!, load: attempts / 2_000 };
    };
    const plain = await run(false);
    const hedged = await run(true);
    expect(plain.p99).toBe(500);
    expect(hedged.p99).toBeLessThanOrEqual(45);
    // Only the slow twentieth is hedged: about 5% more attempts.
    expect(hedged.load).toBeLessThan(1.08);
    console.log(
      `hedging: p99 ${plain.p99} ms -> ${hedged.p99} ms (${(plain.p99 / hedged.p99).toFixed(1)}x), load x${hedged.load.toFixed(3)}`,
    );
  });

  it('a losing attempt aborted by the hedge is not a downstream failure for an inner breaker', async () => {
    const clock = new FakeClock();
    const breaker = circuitBreaker({ window: { kind: 'count', size: 4 }, minimumCalls: 2, clock });
    // The placement docs/hedging.md recommends: every attempt is counted and bounded like a call.
    const policy = pipeline(hedge({ delayMs: 20, clock }), breaker, timeout({ durationMs: 1_000, clock }));
    for (let i = 0; i < 6; i++) {
      // A healthy downstream answering in 50 ms: each call is hedged at 20 ms, the first attempt wins
      // at 50 and the hedge (due at 70) is aborted.
      const call = track(policy.execute((ctx) => answer(clock, ctx, 50, 'ok')));
      await clock.tick(50);
      expect(call.value).toBe('ok');
    }
    expect(breaker.state).toBe('closed');
    expect(breaker.snapshot()).toMatchObject({ failures: 0 });
  });

  it('rejects at once with the caller reason when the caller aborts, even if attempts ignore their signal', async () => {
    const clock = new FakeClock();
    const policy = hedge({ delayMs: 20, clock });
    const caller = new AbortController();
    const late = (ms: number) => new Promise((resolve) => clock.setTimer(() => resolve('late'), ms));
    const call = track(policy.execute(() => late(500), caller.signal));
    await clock.tick(30);
    const reason = new Error('caller left');
    caller.abort(reason);
    await flush();
    expect(call.settled).toBe(true);
    expect(call.error).toBe(reason);
    expect(abortListeners(caller.signal)).toBe(0);
  });

  it('a cooperative deadline around the hedge ends the race at the deadline', async () => {
    const clock = new FakeClock();
    const policy = pipeline(
      timeout({ durationMs: 100, strategy: 'cooperative', clock, name: 'budget' }),
      hedge({ delayMs: 20, clock }),
    );
    const call = track(policy.execute(() => new Promise(() => {})));
    await clock.tick(100);
    expect(call.settled).toBe(true);
    expect((call.error as Error).name).toBe('TimeoutError');
  });
});
