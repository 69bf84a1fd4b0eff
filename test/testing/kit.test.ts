import { describe, expect, it } from 'vitest';
import { circuitBreaker, fallback, pipeline, retry, retryBudget, slo, timeout } from '../../src/index.js';
import { FakeClock, runLoad, seededRandom, simulatedDownstream } from '../../src/testing/index.js';

describe('test kit', () => {
  it('proves an endpoint meets its SLO with 30% downstream errors and 2 s latency spikes', async () => {
    const clock = new FakeClock();
    const random = seededRandom(2026);
    const downstream = simulatedDownstream({
      clock,
      random,
      errorRate: 0.3,
      latencyMs: (r) => (r() < 0.05 ? 2_000 : 20),
    });
    const objective = slo({ availability: 0.99, latency: { thresholdMs: 500, target: 0.99 }, clock });
    const endpoint = pipeline(
      objective,
      fallback({ fallback: () => 'cached' }),
      retry({ maxRetries: 3, backoff: 10, budget: retryBudget({ ratio: 1, clock }), clock, random }),
      circuitBreaker({ clock }),
      timeout({ durationMs: 100, clock }),
    );
    const report = await runLoad({
      clock,
      calls: 2_000,
      intervalMs: 5,
      call: () => endpoint.execute(downstream),
    });
    expect(report.successRatio).toBe(1);
    expect(report.latency.p99).toBeLessThanOrEqual(500);
    const [availability, latency] = objective.snapshot().objectives;
    expect(availability!.compliance).toBeGreaterThanOrEqual(0.99);
    expect(latency!.compliance).toBeGreaterThanOrEqual(0.99);
  });

  it('replays exactly: the same seed gives the same report', async () => {
    const run = async () => {
      const clock = new FakeClock();
      const downstream = simulatedDownstream({
        clock,
        random: seededRandom(5),
        errorRate: 0.2,
        latencyMs: (r) => 5 + r() * 50,
      });
      const policy = pipeline(
        retry({ maxRetries: 1, backoff: 0, clock }),
        timeout({ durationMs: 40, clock }),
      );
      return runLoad({ clock, calls: 300, call: () => policy.execute(downstream) });
    };
    expect(await run()).toEqual(await run());
  });

  it('follows a schedule of phases', async () => {
    const clock = new FakeClock();
    const downstream = simulatedDownstream({
      clock,
      latencyMs: 1,
      phases: [
        { untilMs: 1_000, errorRate: 0 },
        { untilMs: 2_000, errorRate: 1 },
      ],
    });
    const report = await runLoad({
      clock,
      calls: 300,
      intervalMs: 10,
      call: () => pipeline().execute(downstream),
    });
    expect(report.failed).toBe(100);
    expect(report.failures).toEqual({ Error: 100 });
    expect(downstream.calls).toBe(300);
    expect(downstream.inflight).toBe(0);
  });

  it('FakeClock refuses a start that is not a finite number, and runs from a negative one', async () => {
    expect(() => new FakeClock(Number.NaN)).toThrow(RangeError);
    expect(() => new FakeClock(Number.POSITIVE_INFINITY)).toThrow(/FakeClock\(start\)/);
    const clock = new FakeClock(-5_000);
    const breaker = circuitBreaker({ window: { kind: 'time', durationMs: 1_000 }, minimumCalls: 2, clock });
    await breaker.executeOutcome(() => Promise.reject(new Error('down')));
    clock.advance(10);
    await breaker.executeOutcome(() => Promise.reject(new Error('down')));
    expect(breaker.state).toBe('open');
    expect(breaker.snapshot()).toMatchObject({ failures: 0, consecutiveOpens: 1 });
  });
});
