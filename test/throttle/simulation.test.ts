import { describe, expect, it } from 'vitest';
import { type AdaptiveThrottleOptions, adaptiveThrottle } from '../../src/throttle/index.js';
import { FakeClock } from '../helpers.js';

// Closed loop on a fake clock: clients ask for D requests per second, evenly spaced; the backend accepts
// only C per second (a token bucket of its own) and answers the rest with an overload error at once.

class OverloadError extends Error {}

/** Small seeded PRNG (mulberry32): the runs are repeatable. */
function seeded(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

interface Sample {
  at: number;
  /** Rejected locally by the throttle. */
  local: boolean;
  /** Reached the backend. */
  sent: boolean;
  accepted: boolean;
}

function simulation(demandPerSecond: number, options: AdaptiveThrottleOptions) {
  const clock = new FakeClock();
  const throttle = adaptiveThrottle({ ...options, handle: OverloadError, clock });
  let capacity = 0;
  let tokens = 5;
  let refilledAt = 0;
  const backend = (): string => {
    const now = clock.now();
    tokens = Math.min(5, tokens + ((now - refilledAt) * capacity) / 1_000);
    refilledAt = now;
    if (capacity === Number.POSITIVE_INFINITY || tokens >= 1) {
      tokens -= 1;
      return 'ok';
    }
    throw new OverloadError('503 overloaded');
  };
  const samples: Sample[] = [];
  const stepMs = 1_000 / demandPerSecond;
  return {
    clock,
    throttle,
    samples,
    /** Sets the backend's capacity (accepts per second; Infinity: healthy). */
    backend(acceptsPerSecond: number) {
      capacity = acceptsPerSecond;
    },
    async run(ms: number) {
      for (const end = clock.now() + ms; clock.now() < end; clock.advance(stepMs)) {
        let sent = false;
        const outcome = await throttle.executeOutcome(() => {
          sent = true;
          return backend();
        });
        samples.push({ at: clock.now(), local: !sent, sent, accepted: outcome.ok });
      }
    },
    /** Figures over [from, to): local rejection share and per-second rates. */
    over(from: number, to: number) {
      const s = samples.filter((x) => x.at >= from && x.at < to);
      const seconds = (to - from) / 1_000;
      return {
        localShare: s.filter((x) => x.local).length / s.length,
        loadPerSecond: s.filter((x) => x.sent).length / seconds,
        acceptsPerSecond: s.filter((x) => x.accepted).length / seconds,
      };
    },
    lastLocalRejection(): number {
      let last = Number.NEGATIVE_INFINITY;
      for (const x of samples) if (x.local) last = x.at;
      return last;
    },
  };
}

const WINDOW = 120_000;

describe('adaptive throttling against a backend that accepts C requests per second', () => {
  it.each([
    { k: 2, demand: 100, capacity: 20 },
    { k: 1.5, demand: 50, capacity: 10 },
    { k: 1.1, demand: 100, capacity: 20 },
  ])(
    'k = $k, D = $demand/s, C = $capacity/s: converges to the fixed point, backend load -> k * accepts',
    async ({ k, demand, capacity }) => {
      const sim = simulation(demand, { k, windowMs: WINDOW, random: seeded(42) });
      sim.backend(capacity);
      await sim.run(5 * WINDOW);
      const end = sim.clock.now();
      const last = sim.over(end - WINDOW, end);
      const { requests, accepts, rejectionProbability } = sim.throttle.snapshot();
      // The formula's value for the window reached...
      const fixedPoint = Math.max(0, (requests - k * accepts) / (requests + 1));
      expect(rejectionProbability).toBeCloseTo(fixedPoint, 12);
      // ...is the share of calls actually rejected locally over that window,
      expect(Math.abs(last.localShare - fixedPoint)).toBeLessThan(0.02);
      // the backend receives k times what it accepts,
      expect(last.loadPerSecond / (k * last.acceptsPerSecond)).toBeGreaterThan(0.95);
      expect(last.loadPerSecond / (k * last.acceptsPerSecond)).toBeLessThan(1.05);
      // and with the backend saturated at C, the share is about 1 - k * C / D.
      if (k * capacity > capacity + 5) {
        expect(last.acceptsPerSecond).toBeGreaterThan(capacity * 0.97);
        expect(Math.abs(last.localShare - (1 - (k * capacity) / demand))).toBeLessThan(0.03);
      }
    },
  );

  it('stops throttling within one window after the backend recovers', async () => {
    const sim = simulation(100, { k: 2, windowMs: WINDOW, random: seeded(7) });
    sim.backend(20);
    await sim.run(3 * WINDOW);
    const recoveredAt = sim.clock.now();
    expect(sim.over(recoveredAt - 10_000, recoveredAt).localShare).toBeGreaterThan(0.5);
    sim.backend(Number.POSITIVE_INFINITY);
    await sim.run(2 * WINDOW);
    const stoppedAfter = sim.lastLocalRejection() - recoveredAt;
    // Model: (W / k) * ln((D - C) / (C * (k - 1))) = 60 s * ln 4, about 83 s.
    expect(stoppedAfter).toBeGreaterThan(0);
    expect(stoppedAfter).toBeLessThan(WINDOW);
    const after = sim.over(recoveredAt + WINDOW, sim.clock.now());
    expect(after).toEqual({ localShare: 0, loadPerSecond: 100, acceptsPerSecond: 100 });
    expect(sim.throttle.snapshot().rejectionProbability).toBe(0);
  });

  it('in a total outage lets about one request per window through; a bound keeps probing and recovers sooner', async () => {
    const unbounded = simulation(100, { k: 2, windowMs: WINDOW, random: seeded(1) });
    const bounded = simulation(100, {
      k: 2,
      windowMs: WINDOW,
      random: seeded(1),
      maxRejectionProbability: 0.9,
    });
    for (const sim of [unbounded, bounded]) {
      sim.backend(0);
      await sim.run(4 * WINDOW);
    }
    const outage = (sim: typeof bounded) => sim.over(3 * WINDOW, 4 * WINDOW);
    expect(outage(unbounded).loadPerSecond * (WINDOW / 1_000)).toBeLessThanOrEqual(3);
    expect(Math.abs(outage(bounded).loadPerSecond - 10)).toBeLessThan(1);
    const recoveredAt = 4 * WINDOW;
    for (const sim of [unbounded, bounded]) {
      sim.backend(Number.POSITIVE_INFINITY);
      await sim.run(2 * WINDOW);
    }
    // Bounded at m = 0.9: (W / k) * (1 + ln 10), about 198 s; unbounded: still throttling two windows on.
    const boundedStop = bounded.lastLocalRejection() - recoveredAt;
    expect(boundedStop).toBeLessThan(2 * WINDOW);
    expect(bounded.over(recoveredAt + 2 * WINDOW - 10_000, recoveredAt + 2 * WINDOW).localShare).toBe(0);
    expect(unbounded.lastLocalRejection()).toBeGreaterThan(recoveredAt + 2 * WINDOW - 1_000);
  });
});
