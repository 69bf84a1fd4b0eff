import { describe, expect, it } from 'vitest';
import {
  BrokenCircuitError,
  BulkheadRejectedError,
  circuitBreaker,
  exponential,
  IsolatedCircuitError,
  type PolicyStateEvent,
} from '../../src/index.js';
import { deferred, FakeClock } from '../helpers.js';
import { boom, calls, fail, succeed } from './helpers.js';

function countBreaker(clock: FakeClock, extra: Parameters<typeof circuitBreaker>[0] = {}) {
  return circuitBreaker({
    window: { kind: 'count', size: 10 },
    minimumCalls: 4,
    failureRateThreshold: 0.5,
    breakDurationMs: 1_000,
    clock,
    ...extra,
  });
}

describe('circuit breaker transitions', () => {
  it.each([
    // [description, outcomes before the check (true = failure), expected state]
    ['stays closed below the minimum number of calls', [true, true, true], 'closed'],
    ['opens at the failure-rate threshold once the minimum is reached', [false, false, true, true], 'open'],
    // Rates are judged when a failure (or slow call) is recorded: a success never opens the circuit.
    ['is judged on failures, never on a success', [true, true, false, false], 'closed'],
    ['stays closed under the threshold', [true, false, false, false, false], 'closed'],
    ['opens on the call that crosses the threshold', [false, false, false, true, true, true], 'open'],
  ] as const)('%s', async (_name, outcomes, expected) => {
    const clock = new FakeClock();
    const breaker = countBreaker(clock);
    for (const failed of outcomes) await breaker.executeOutcome(failed ? fail : succeed);
    expect(breaker.state).toBe(expected);
  });

  it('does not open on the very first failure by default (minimum calls)', async () => {
    const breaker = circuitBreaker({ clock: new FakeClock() });
    await calls(breaker, 9, fail);
    expect(breaker.state).toBe('closed');
    await calls(breaker, 1, fail);
    expect(breaker.state).toBe('open');
  });

  it('judges only the last N calls of a count window', async () => {
    const clock = new FakeClock();
    const breaker = countBreaker(clock, { window: { kind: 'count', size: 4 }, failureRateThreshold: 0.75 });
    // f f s s s s f f : the last four are s s f f (50%) when the 8th call completes.
    for (const failed of [true, true, false, false, false, false, true, true]) {
      await breaker.executeOutcome(failed ? fail : succeed);
    }
    expect(breaker.state).toBe('closed');
    await breaker.executeOutcome(fail); // s f f f = 75%
    expect(breaker.state).toBe('open');
  });

  it('opens after N consecutive failures with a consecutive window; a success resets the count', async () => {
    const clock = new FakeClock();
    const breaker = circuitBreaker({ window: { kind: 'consecutive', failures: 3 }, clock });
    await calls(breaker, 2, fail);
    await calls(breaker, 1, succeed);
    await calls(breaker, 2, fail);
    expect(breaker.state).toBe('closed');
    await calls(breaker, 1, fail);
    expect(breaker.state).toBe('open');
  });

  it('rejects while open with BrokenCircuitError: retryAfterMs, state and the last failure as cause', async () => {
    const clock = new FakeClock();
    const breaker = countBreaker(clock);
    await calls(breaker, 4, fail);
    clock.advance(300);
    let called = false;
    const outcome = await breaker.executeOutcome(() => {
      called = true;
    });
    expect(called).toBe(false);
    expect(outcome.ok).toBe(false);
    const error = (outcome as { error: BrokenCircuitError }).error;
    expect(error).toBeInstanceOf(BrokenCircuitError);
    expect(error.code).toBe('BW_ERR_CIRCUIT_OPEN');
    expect(error.state).toBe('open');
    expect(error.retryAfterMs).toBe(700);
    expect(error.cause).toBe(boom);
    await expect(breaker.execute(succeed)).rejects.toBeInstanceOf(BrokenCircuitError);
  });

  it('moves to half-open lazily on the first call after the break, with no timer', async () => {
    const clock = new FakeClock();
    const breaker = countBreaker(clock);
    await calls(breaker, 4, fail);
    expect(clock.pendingTimers).toBe(0);
    clock.advance(1_000);
    expect(breaker.state).toBe('open');
    await expect(breaker.execute(succeed)).resolves.toBe('ok');
    expect(breaker.state).toBe('closed');
  });

  it('reopens when the probe fails', async () => {
    const clock = new FakeClock();
    const breaker = countBreaker(clock);
    await calls(breaker, 4, fail);
    clock.advance(1_000);
    await breaker.executeOutcome(fail);
    expect(breaker.state).toBe('open');
    expect(breaker.snapshot().retryAfterMs).toBe(1_000);
  });

  it('lets only halfOpen.maxCalls probes through and rejects the rest at once', async () => {
    const clock = new FakeClock();
    const breaker = countBreaker(clock, { halfOpen: { maxCalls: 2 } });
    await calls(breaker, 4, fail);
    clock.advance(1_000);
    const probes = [deferred(), deferred()];
    const running = probes.map((p) => breaker.execute(() => p.promise));
    const extra = await breaker.executeOutcome(succeed);
    expect(breaker.state).toBe('half-open');
    expect((extra as { error: BrokenCircuitError }).error.state).toBe('half-open');
    for (const p of probes) p.resolve('fine');
    await Promise.all(running);
    expect(breaker.state).toBe('closed');
  });

  it('closes after successThreshold successful probes and reopens once that is out of reach', async () => {
    const clock = new FakeClock();
    const breaker = countBreaker(clock, { halfOpen: { maxCalls: 4, successThreshold: 3 } });
    await calls(breaker, 4, fail);
    clock.advance(1_000);
    await calls(breaker, 1, fail); // one failure tolerated
    expect(breaker.state).toBe('half-open');
    await calls(breaker, 3, succeed);
    expect(breaker.state).toBe('closed');

    await calls(breaker, 4, fail);
    clock.advance(10_000);
    await calls(breaker, 2, fail); // two failures: 3 successes out of 4 impossible
    expect(breaker.state).toBe('open');
  });

  it('judges the probes as a window when given a half-open failure-rate threshold', async () => {
    const clock = new FakeClock();
    const breaker = countBreaker(clock, { halfOpen: { maxCalls: 10, failureRateThreshold: 0.3 } });
    await calls(breaker, 4, fail);
    clock.advance(1_000);
    await calls(breaker, 2, fail);
    await calls(breaker, 8, succeed); // 2/10 = 20% < 30%
    expect(breaker.state).toBe('closed');
  });

  it('frees a probe slot when the probe outcome is ignored', async () => {
    const clock = new FakeClock();
    const breaker = countBreaker(clock, { ignore: RangeError });
    await calls(breaker, 4, fail);
    clock.advance(1_000);
    await breaker.executeOutcome(() => {
      throw new RangeError('ignored');
    });
    expect(breaker.state).toBe('half-open');
    await breaker.execute(succeed);
    expect(breaker.state).toBe('closed');
  });

  it('leaves half-open after halfOpen.maxWaitMs when probes never finish', async () => {
    const clock = new FakeClock();
    const breaker = countBreaker(clock, {
      halfOpen: { maxCalls: 1, maxDurationMs: 5_000, afterMaxDuration: 'open' },
    });
    await calls(breaker, 4, fail);
    clock.advance(1_000);
    void breaker.execute(() => new Promise(() => {}));
    clock.advance(4_999);
    expect((await breaker.executeOutcome(succeed)).ok).toBe(false);
    clock.advance(1);
    expect((await breaker.executeOutcome(succeed)).ok).toBe(false);
    expect(breaker.state).toBe('open');

    const lenient = countBreaker(clock, {
      halfOpen: { maxCalls: 1, maxDurationMs: 100, afterMaxDuration: 'closed' },
    });
    await calls(lenient, 4, fail);
    clock.advance(1_000);
    void lenient.execute(() => new Promise(() => {}));
    clock.advance(100);
    expect(lenient.snapshot().state).toBe('closed');
  });

  it('with the defaults, a probe that hangs cannot keep the circuit half-open for good', async () => {
    const clock = new FakeClock();
    const breaker = countBreaker(clock);
    await calls(breaker, 4, fail);
    clock.advance(1_000);
    void breaker.execute(() => new Promise(() => {}));
    expect(breaker.state).toBe('half-open');
    // Saturated: the rejection says how long half-open may still last.
    clock.advance(10_000);
    const rejected = await breaker.executeOutcome(succeed);
    expect(rejected.ok).toBe(false);
    expect((rejected as { error: BrokenCircuitError }).error).toMatchObject({
      state: 'half-open',
      retryAfterMs: 20_000,
    });
    // Half-open ends after 30 s: the circuit opens again, and the next break lets a new probe close it.
    clock.advance(20_000);
    expect((await breaker.executeOutcome(succeed)).ok).toBe(false);
    expect(breaker.state).toBe('open');
    clock.advance(breaker.snapshot().retryAfterMs!);
    await breaker.execute(succeed);
    expect(breaker.state).toBe('closed');
  });

  it('grows the break with a backoff over consecutive opens and resets it on close', async () => {
    const clock = new FakeClock();
    const breaker = circuitBreaker({
      window: { kind: 'count', size: 10 },
      minimumCalls: 4,
      failureRateThreshold: 0.5,
      breakBackoff: exponential({ initialMs: 1_000, factor: 2, jitter: 'none' }),
      maxBreakDurationMs: 3_000,
      clock,
    });
    const breaks: number[] = [];
    breaker.onOpen((e) => breaks.push(e.breakMs!));
    await calls(breaker, 4, fail);
    for (let i = 0; i < 3; i++) {
      clock.advance(breaks.at(-1)!);
      await calls(breaker, 1, fail);
    }
    expect(breaks).toEqual([1_000, 2_000, 3_000, 3_000]);
    clock.advance(3_000);
    await calls(breaker, 1, succeed);
    await calls(breaker, 4, fail);
    expect(breaks.at(-1)).toBe(1_000);
  });

  it('starts each closed period with an empty window', async () => {
    const clock = new FakeClock();
    const breaker = countBreaker(clock);
    await calls(breaker, 4, fail);
    clock.advance(1_000);
    await calls(breaker, 1, succeed);
    await calls(breaker, 3, fail); // only three calls since closing: below the minimum
    expect(breaker.state).toBe('closed');
  });

  it('does not count rejections of inner policies (our own load shedding) as failures', async () => {
    const breaker = countBreaker(new FakeClock());
    await calls(breaker, 10, () => {
      throw BulkheadRejectedError.create('pool', 'full');
    });
    expect(breaker.state).toBe('closed');
    expect(breaker.snapshot().calls).toBe(0);
  });

  it('does not count calls the caller aborted', async () => {
    const breaker = countBreaker(new FakeClock());
    for (let i = 0; i < 10; i++) {
      const c = new AbortController();
      await breaker.executeOutcome(() => {
        c.abort(new Error('user left'));
        throw c.signal.reason;
      }, c.signal);
    }
    expect(breaker.state).toBe('closed');
  });

  it('counts errors it does not handle as successes and results it handles as failures', async () => {
    class Http500 extends Error {}
    const breaker = circuitBreaker<{ status: number }>({
      window: { kind: 'count', size: 4 },
      minimumCalls: 4,
      handle: Http500,
      handleResult: (r) => r.status === 503,
      clock: new FakeClock(),
    });
    await calls(breaker, 4, () => {
      throw new TypeError('404-ish');
    });
    expect(breaker.snapshot().failures).toBe(0);
    await calls(breaker, 4, () => ({ status: 503 }));
    expect(breaker.state).toBe('open');
  });

  it('emits transitions with reasons in order', async () => {
    const clock = new FakeClock();
    const breaker = countBreaker(clock);
    const seen: string[] = [];
    breaker.onStateChange((e: PolicyStateEvent) => seen.push(`${e.from}->${e.to}:${e.reason}`));
    breaker.onOpen((e) => seen.push(`open ${e.reason} ${e.failureRate} ${e.breakMs}`));
    breaker.onHalfOpen(() => seen.push('half-open'));
    breaker.onClose(() => seen.push('close'));
    breaker.onReject((e) => seen.push(`reject ${e.reason} ${e.retryAfterMs}`));
    await calls(breaker, 4, fail);
    await calls(breaker, 1, succeed);
    clock.advance(1_000);
    await calls(breaker, 1, succeed);
    expect(seen).toEqual([
      'closed->open:failure-rate',
      'open failure-rate 1 1000',
      'reject open 1000',
      'open->half-open:break-elapsed',
      'half-open',
      'half-open->closed:probes-succeeded',
      'close',
    ]);
  });

  it('can move to half-open on a timer instead, emitting when the break ends', async () => {
    const clock = new FakeClock();
    const breaker = countBreaker(clock, { halfOpenOnTimer: true });
    const seen: string[] = [];
    breaker.onHalfOpen((e) => seen.push(`${e.reason}@${e.at}`));
    await calls(breaker, 4, fail);
    expect(clock.pendingTimers).toBe(1);
    expect(clock.refTimers).toBe(0);
    clock.advance(1_000);
    expect(breaker.state).toBe('half-open');
    expect(seen).toEqual(['break-elapsed@1000']);
    breaker.reset();
    expect(clock.pendingTimers).toBe(0);
  });
});

describe('break timer', () => {
  it('re-arms when the native timer fires a little before the break ends', async () => {
    const clock = new FakeClock();
    // Native timers count whole ms from a stale loop time: the first one fires 1 ms early.
    let armed = 0;
    const early = {
      now: () => clock.now(),
      setTimer: (cb: () => void, ms: number, ref?: boolean) =>
        clock.setTimer(cb, armed++ === 0 ? ms - 1 : ms, ref),
      clearTimer: (handle: unknown) => clock.clearTimer(handle),
    };
    const breaker = countBreaker(clock, { halfOpenOnTimer: true, clock: early });
    await calls(breaker, 4, fail);
    clock.advance(999);
    expect(breaker.state).toBe('open');
    clock.advance(1);
    expect(breaker.state).toBe('half-open');
    expect(clock.pendingTimers).toBe(0);
  });
});

describe('manual control', () => {
  it('open(ms) opens for that long; close() closes; reset() clears everything', async () => {
    const clock = new FakeClock();
    const breaker = countBreaker(clock);
    breaker.open(250);
    expect(breaker.snapshot()).toMatchObject({ state: 'open', retryAfterMs: 250 });
    breaker.close();
    expect(breaker.state).toBe('closed');
    await calls(breaker, 3, fail);
    breaker.reset();
    await calls(breaker, 3, fail);
    expect(breaker.state).toBe('closed');
    expect(() => breaker.open(-1)).toThrow(RangeError);
  });

  it('isolate() holds the circuit open until every handle is released', async () => {
    const clock = new FakeClock();
    const breaker = countBreaker(clock);
    const a = breaker.isolate();
    const b = breaker.isolate();
    const outcome = await breaker.executeOutcome(succeed);
    expect((outcome as { error: unknown }).error).toBeInstanceOf(IsolatedCircuitError);
    expect((outcome as { error: IsolatedCircuitError }).error.code).toBe('BW_ERR_CIRCUIT_ISOLATED');
    breaker.close();
    breaker.open(1);
    expect(breaker.state).toBe('isolated');
    a();
    a();
    expect(breaker.state).toBe('isolated');
    b();
    expect(breaker.state).toBe('closed');
  });

  it('reset() ends an isolation and makes old handles inert', () => {
    const breaker = countBreaker(new FakeClock());
    const handle = breaker.isolate();
    breaker.reset();
    expect(breaker.state).toBe('closed');
    const again = breaker.isolate();
    handle();
    expect(breaker.state).toBe('isolated');
    again();
    expect(breaker.state).toBe('closed');
  });

  it('disabled lets everything through and records nothing', async () => {
    const breaker = countBreaker(new FakeClock());
    breaker.disable();
    await calls(breaker, 20, fail);
    expect(breaker.snapshot()).toMatchObject({ state: 'disabled', calls: 0 });
    breaker.close();
    expect(breaker.state).toBe('closed');
  });

  it('metrics-only records and reports but never opens', async () => {
    const breaker = countBreaker(new FakeClock());
    breaker.metricsOnly();
    const outcomes = await calls(breaker, 20, fail);
    expect(outcomes.every((o) => !o.ok && o.error === boom)).toBe(true);
    expect(breaker.snapshot()).toMatchObject({
      state: 'metrics-only',
      calls: 10,
      failures: 10,
      failureRate: 1,
    });
  });
});
