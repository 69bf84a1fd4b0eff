import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { aimdLimit } from '../../src/limit/aimd.js';
import { gradient2Limit } from '../../src/limit/gradient2.js';
import type { LimitBoundsOptions } from '../../src/limit/options.js';
import type { ConcurrencyLimit, LimitSample } from '../../src/limit/types.js';
import { vegasLimit } from '../../src/limit/vegas.js';

const bounds = fc
  .tuple(
    fc.integer({ min: 1, max: 200 }),
    fc.integer({ min: 0, max: 200 }),
    fc.double({ min: 0, max: 1, noNaN: true }),
  )
  .map(([minLimit, span, at]): Required<LimitBoundsOptions> => {
    const maxLimit = minLimit + span;
    return { minLimit, maxLimit, initialLimit: minLimit + Math.round(span * at) };
  });

// Mostly plausible samples, with the odd hostile value (NaN, negative, infinite, huge) mixed in.
const rtt = fc.oneof(
  { weight: 8, arbitrary: fc.double({ min: 0, max: 5_000, noNaN: true }) },
  { weight: 1, arbitrary: fc.double() },
);
const sampleStep = fc.record({
  gapMs: fc.double({ min: 0, max: 50, noNaN: true }),
  rttMs: rtt,
  inflight: fc.integer({ min: 0, max: 400 }),
  dropped: fc.boolean(),
});

type Step = { gapMs: number; rttMs: number; inflight: number; dropped: boolean };

/** Every sample keeps the limit an integer in [min, max], and every event reports a real change. */
function holds(limit: ConcurrencyLimit, b: Required<LimitBoundsOptions>, steps: readonly Step[]): void {
  const events: number[] = [];
  limit.onLimitChange((value) => events.push(value));
  let previous = limit.limit;
  let now = 0;
  for (const step of steps) {
    now += step.gapMs;
    const s: LimitSample = {
      startedAt: now,
      rttMs: step.rttMs,
      inflight: step.inflight,
      dropped: step.dropped,
    };
    limit.onSample(s);
    const current = limit.limit;
    expect(Number.isInteger(current)).toBe(true);
    expect(current).toBeGreaterThanOrEqual(b.minLimit);
    expect(current).toBeLessThanOrEqual(b.maxLimit);
    if (current === previous) expect(events).toHaveLength(0);
    else expect(events).toEqual([current]);
    events.length = 0;
    previous = current;
  }
}

const runs = { numRuns: 300 };

describe('every adaptive limit stays an integer within [minLimit, maxLimit]', () => {
  it('aimdLimit', () => {
    fc.assert(
      fc.property(
        bounds,
        fc.double({ min: 0.5, max: 0.99, noNaN: true }),
        fc.double({ min: 0.01, max: 50, noNaN: true }),
        fc.option(fc.double({ min: 1, max: 1_000, noNaN: true }), { nil: undefined }),
        fc.array(sampleStep, { maxLength: 300 }),
        (b, backoffRatio, increment, timeoutMs, steps) => {
          const options = timeoutMs === undefined ? {} : { timeoutMs };
          holds(aimdLimit({ ...b, backoffRatio, increment, ...options }), b, steps);
        },
      ),
      runs,
    );
  });

  it('vegasLimit', () => {
    fc.assert(
      fc.property(
        bounds,
        fc.double({ min: 0.01, max: 1, noNaN: true }),
        fc.integer({ min: 1, max: 50 }),
        fc.double({ min: 0, max: 0.999, noNaN: true }),
        fc.array(sampleStep, { maxLength: 300 }),
        (b, smoothing, probeMultiplier, draw, steps) => {
          holds(vegasLimit({ ...b, smoothing, probeMultiplier, random: () => draw }), b, steps);
        },
      ),
      runs,
    );
  });

  it('gradient2Limit', () => {
    fc.assert(
      fc.property(
        bounds,
        fc.double({ min: 0.01, max: 1, noNaN: true }),
        fc.double({ min: 1, max: 5, noNaN: true }),
        fc.integer({ min: 1, max: 20 }),
        fc.integer({ min: 1, max: 5 }),
        fc.array(sampleStep, { maxLength: 300 }),
        (b, smoothing, tolerance, longWindow, windowSize, steps) => {
          holds(
            gradient2Limit({ ...b, smoothing, tolerance, longWindow, windowSize, windowMs: 20 }),
            b,
            steps,
          );
        },
      ),
      runs,
    );
  });
});
