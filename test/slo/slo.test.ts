import { describe, expect, it } from 'vitest';
import { type PolicyEvent, type PolicySloEvent, slo } from '../../src/index.js';
import { FakeClock } from '../helpers.js';

const MIN = 60_000;
const HOUR = 60 * MIN;

describe('SLO tracking', () => {
  it('computes compliance and the error budget left over the window', () => {
    const clock = new FakeClock();
    const s = slo({ availability: 0.99, clock });
    for (let i = 0; i < 1_000; i++) s.record(i % 200 === 0 ? 'failure' : 'success', 5);
    const [availability] = s.snapshot().objectives;
    // 5 failures in 1000: 0.5% of calls, half the 1% budget.
    expect(availability).toMatchObject({
      objective: 'availability',
      total: 1_000,
      bad: 5,
      compliance: 0.995,
    });
    expect(availability!.budgetRemaining).toBeCloseTo(0.5, 10);
  });

  it('tracks a latency objective over successful calls only', async () => {
    const clock = new FakeClock();
    const s = slo({ latency: { thresholdMs: 100, target: 0.9 }, clock });
    for (let i = 0; i < 10; i++) {
      await s.execute(async () => {
        clock.advance(i < 8 ? 50 : 150);
      });
    }
    await s.executeOutcome(() => Promise.reject(new Error('failures do not count for latency')));
    const [latency] = s.snapshot().objectives;
    expect(latency).toMatchObject({ objective: 'latency', total: 10, bad: 2, compliance: 0.8 });
    // 20% slow against a 10% allowance: twice the budget spent.
    expect(latency!.budgetRemaining).toBeCloseTo(-1, 10);
  });

  it('starts and ends multiwindow burn-rate alerts', () => {
    const clock = new FakeClock();
    const events: PolicySloEvent[] = [];
    const s = slo({
      name: 'checkout',
      availability: 0.999,
      resolutionMs: MIN,
      alerts: [{ longWindowMs: HOUR, shortWindowMs: 5 * MIN, burnRate: 14.4, severity: 'page' }],
      clock,
    });
    s.onAlert((e) => events.push(e));
    // An hour of healthy traffic, one call a second.
    for (let t = 0; t < HOUR; t += 1_000) {
      clock.advance(1_000);
      s.record('success', 10);
    }
    // Then 5% errors for half an hour: 50 x the allowed 0.1% in the short window, 25 x over the hour.
    for (let t = 0; t < 30 * MIN; t += 1_000) {
      clock.advance(1_000);
      s.record(t % 20_000 === 0 ? 'failure' : 'success', 10);
    }
    expect(events.map((e) => `${e.rule} ${e.state}`)).toEqual(['1h/5m start']);
    expect(events[0]).toEqual({
      type: 'slo',
      policy: 'checkout',
      kind: 'slo',
      objective: 'availability',
      rule: '1h/5m',
      severity: 'page',
      state: 'start',
      longBurnRate: expect.any(Number),
      shortBurnRate: expect.any(Number),
    });
    expect(s.snapshot().objectives[0]!.alerts[0]).toMatchObject({ firing: true });
    // Healthy again: the short window clears first and ends the alert.
    for (let t = 0; t < 10 * MIN; t += 1_000) {
      clock.advance(1_000);
      s.record('success', 10);
    }
    expect(events.map((e) => `${e.rule} ${e.state}`)).toEqual(['1h/5m start', '1h/5m end']);
    expect(events[0]!.longBurnRate).toBeGreaterThan(14.4);
    expect(events[0]!.shortBurnRate).toBeGreaterThan(14.4);
    expect(events[1]!.shortBurnRate).toBeLessThan(14.4);
  });

  it('delivers one event object to onAlert and onEvent', () => {
    const clock = new FakeClock();
    const s = slo({
      name: 'same',
      availability: 0.9,
      resolutionMs: MIN,
      alerts: [{ longWindowMs: 10 * MIN, shortWindowMs: MIN, burnRate: 2, severity: 'ticket' }],
      clock,
    });
    const alerts: PolicySloEvent[] = [];
    const all: PolicyEvent[] = [];
    s.onAlert((e) => alerts.push(e));
    s.onEvent((e) => all.push(e));
    // Every call fails: a burn rate of 10 over both windows, judged when the next bucket starts.
    s.record('failure', 1);
    clock.advance(MIN);
    s.record('failure', 1);
    expect(alerts).toEqual([
      {
        type: 'slo',
        policy: 'same',
        kind: 'slo',
        objective: 'availability',
        rule: '10m/1m',
        severity: 'ticket',
        state: 'start',
        longBurnRate: expect.closeTo(10, 9),
        shortBurnRate: expect.closeTo(10, 9),
      },
    ]);
    expect(all).toHaveLength(1);
    expect(all[0]).toBe(alerts[0]);
  });

  it('reports a call event per execution, with its outcome and duration', async () => {
    const clock = new FakeClock();
    const s = slo({ name: 'calls', availability: 0.9, clock });
    const events: PolicyEvent[] = [];
    s.onEvent((e) => events.push(e));
    await s.execute(async () => {
      clock.advance(12);
    });
    await s.executeOutcome(() => Promise.reject(new Error('down')));
    expect(events).toEqual([
      { type: 'call', policy: 'calls', kind: 'slo', outcome: 'success', verdict: 'success', durationMs: 12 },
      { type: 'call', policy: 'calls', kind: 'slo', outcome: 'failure', verdict: 'failure', durationMs: 0 },
    ]);
  });

  it('scales the default alerts with a shorter SLO window', () => {
    const s = slo({ availability: 0.99, windowMs: 30 * 60_000, resolutionMs: 1_000, clock: new FakeClock() });
    expect(s.options.alerts.map((a) => [a.longWindowMs, a.shortWindowMs, a.burnRate])).toEqual([
      [3_000, 1_000, 14.4],
      [15_000, 1_000, 6],
      [60_000, 5_000, 3],
      [180_000, 15_000, 1],
    ]);
  });

  it('forgets events older than the window', () => {
    const clock = new FakeClock();
    const s = slo({ availability: 0.9, windowMs: HOUR, resolutionMs: MIN, clock });
    s.record('failure', 1);
    clock.advance(2 * HOUR);
    s.record('success', 1);
    expect(s.snapshot().objectives[0]).toMatchObject({ total: 1, bad: 0, budgetRemaining: 1 });
  });

  it('validates options', () => {
    expect(() => slo({})).toThrow(TypeError);
    expect(() => slo({ availability: 1 })).toThrow(RangeError);
    expect(() => slo({ latency: { thresholdMs: 0, target: 0.9 } })).toThrow(RangeError);
    expect(() =>
      slo({ availability: 0.9, alerts: [{ longWindowMs: 1, shortWindowMs: 5, burnRate: 1 }] }),
    ).toThrow(RangeError);
  });
});
