import { describe, expect, it } from 'vitest';
import { aimdLimit } from '../../src/limit/aimd.js';
import { gradient2Limit } from '../../src/limit/gradient2.js';
import { vegasLimit } from '../../src/limit/vegas.js';
import { DEFAULT_SCENARIO, limitAt, type SimulationEnv, simulate } from './simulation.js';

// Default scenario: capacity C = 20 concurrent calls at 10 ms (ideal throughput 2,000 calls/s), 200
// closed-loop callers, ±10 % latency jitter, drops past 100 ms, 40 s simulated; latency × 5 during
// [20 s, 25 s). Steady state is measured over [5 s, 20 s). Every run is seeded, hence exactly repeatable:
// the bounds below are what each algorithm honestly achieves here, with some margin, not ideals.
const C = DEFAULT_SCENARIO.capacity;
const IDEAL_THROUGHPUT = (C / DEFAULT_SCENARIO.baseLatencyMs) * 1000;

const aimd = () => aimdLimit({ timeoutMs: 15 });
const vegas = ({ random }: SimulationEnv) => vegasLimit({ random });
const gradient2 = () => gradient2Limit();

describe('simulation: closed loop against a downstream of capacity 20', () => {
  it('is deterministic for a seed', () => {
    const a = simulate(vegas, { durationMs: 5_000, spike: undefined });
    const b = simulate(vegas, { durationMs: 5_000, spike: undefined });
    expect(a.trace).toEqual(b.trace);
    expect(simulate(vegas, { durationMs: 5_000, spike: undefined, seed: 2 }).trace).not.toEqual(a.trace);
  });

  describe('AIMD (timeoutMs 15 = 1.5 × base latency)', () => {
    const { summary } = simulate(aimd);

    it('settles where latency reaches timeoutMs: about 1.5 C', () => {
      expect(summary.steadyMeanLimit).toBeGreaterThanOrEqual(1.25 * C);
      expect(summary.steadyMeanLimit).toBeLessThanOrEqual(1.75 * C);
      expect(summary.steadyMinLimit).toBeGreaterThanOrEqual(C);
      expect(summary.steadyMaxLimit).toBeLessThanOrEqual(2 * C);
      expect(summary.steadyThroughput).toBeGreaterThanOrEqual(0.98 * IDEAL_THROUGHPUT);
    });

    it('collapses during the spike, every call being slower than timeoutMs, and recovers within a second', () => {
      expect(summary.spikeMinLimit).toBeLessThanOrEqual(2);
      expect(summary.recoveryMs).toBeLessThan(1_000);
      expect(summary.afterMeanLimit).toBeGreaterThanOrEqual(1.25 * C);
      expect(summary.afterMeanLimit).toBeLessThanOrEqual(1.75 * C);
    });

    it('without timeoutMs, only drops stop it: it settles far above capacity', () => {
      const loose = simulate(() => aimdLimit(), { spike: undefined, durationMs: 20_000 });
      expect(loose.summary.steadyMeanLimit).toBeGreaterThan(5 * C);
      expect(loose.summary.drops).toBeGreaterThan(0);
    });
  });

  describe('Vegas (defaults)', () => {
    const { summary, trace } = simulate(vegas);

    it('settles a few calls above capacity (the alpha..beta queue), at full throughput and near-base latency', () => {
      expect(summary.steadyMeanLimit).toBeGreaterThanOrEqual(C);
      expect(summary.steadyMeanLimit).toBeLessThanOrEqual(1.3 * C);
      expect(summary.steadyThroughput).toBeGreaterThanOrEqual(0.97 * IDEAL_THROUGHPUT);
      expect(summary.steadyMeanRttMs).toBeLessThanOrEqual(1.25 * DEFAULT_SCENARIO.baseLatencyMs);
    });

    it('cuts at the spike, re-learns the slower base by probing, and ends the run near capacity', () => {
      const spike = DEFAULT_SCENARIO.spike!;
      expect(limitAt(trace, spike.startMs + 250)).toBeLessThan(limitAt(trace, spike.startMs));
      expect(summary.spikeMinLimit).toBeLessThanOrEqual(0.5 * C);
      // Concurrency capacity is unchanged by a latency spike, so once probed the limit belongs near C again.
      expect(summary.spikeMeanLimit).toBeGreaterThanOrEqual(0.6 * C);
      expect(summary.recoveryMs).toBeLessThan(1_000);
      expect(summary.afterMeanLimit).toBeGreaterThanOrEqual(C);
      expect(summary.afterMeanLimit).toBeLessThanOrEqual(1.3 * C);
    });

    it('without probes, holds the cut through the spike and recovers within 100 ms of its end', () => {
      const { summary: s } = simulate(({ random }) => vegasLimit({ random, probeMultiplier: 1e9 }));
      expect(s.spikeMinLimit).toBeLessThanOrEqual(0.5 * C);
      expect(s.spikeMeanLimit).toBeLessThan(0.75 * C);
      expect(s.recoveryMs).toBeLessThan(100);
      expect(s.steadyMinLimit).toBeGreaterThanOrEqual(C);
    });
  });

  describe('Gradient2 (defaults)', () => {
    const { summary } = simulate(gradient2);

    it('climbs until latency is about tolerance × its long-term average: between C and 2 C', () => {
      expect(summary.steadyMeanLimit).toBeGreaterThanOrEqual(C);
      expect(summary.steadyMeanLimit).toBeLessThanOrEqual(2 * C);
      expect(summary.steadyMaxLimit).toBeLessThanOrEqual(2 * C);
      expect(summary.steadyThroughput).toBeGreaterThanOrEqual(0.98 * IDEAL_THROUGHPUT);
    });

    it('goes down during the spike and recovers within 15 s of its end', () => {
      expect(summary.spikeMinLimit).toBeLessThanOrEqual(0.75 * summary.steadyMeanLimit);
      expect(summary.recoveryMs).toBeLessThan(15_000);
      expect(summary.afterMeanLimit).toBeGreaterThanOrEqual(C);
      expect(summary.afterMeanLimit).toBeLessThanOrEqual(2 * C);
    });
  });

  describe('a downstream that loses three quarters of its capacity for 5 s', () => {
    const degraded = { spike: { startMs: 20_000, endMs: 25_000, factor: 1, capacityFactor: 0.25 } };

    it('AIMD and Vegas follow it down to about the new capacity and come back', () => {
      for (const factory of [aimd, vegas]) {
        const { summary } = simulate(factory, degraded);
        expect(summary.spikeMeanLimit).toBeLessThanOrEqual(0.75 * C);
        expect(summary.spikeMinLimit).toBeGreaterThanOrEqual(0.2 * C);
        expect(summary.recoveryMs).toBeLessThan(1_000);
      }
    });
  });
});
