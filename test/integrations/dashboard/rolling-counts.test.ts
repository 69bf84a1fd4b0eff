import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { RollingCounts } from '../../../src/integrations/dashboard/rolling-counts.js';
import { FakeClock } from '../../helpers.js';

describe('rolling counts', () => {
  it('keeps counts for a window of 10 slots of 1 s and drops them slot by slot', () => {
    const clock = new FakeClock();
    const counts = new RollingCounts(2, 10_000, 10, clock);
    counts.add(0, 0);
    counts.add(1, 500, 3);
    counts.add(0, 4_200);
    expect(counts.totals(4_200)).toEqual([2, 3]);
    // The slot [0, 1 s) leaves the window once 10 more slots have begun.
    expect(counts.totals(9_999)).toEqual([2, 3]);
    expect(counts.totals(10_000)).toEqual([1, 0]);
    expect(counts.totals(13_999)).toEqual([1, 0]);
    expect(counts.totals(14_000)).toEqual([0, 0]);
  });

  it('clears everything after an idle gap of a window or more', () => {
    const clock = new FakeClock();
    const counts = new RollingCounts(1, 10_000, 10, clock);
    for (let t = 0; t < 10_000; t += 100) counts.add(0, t);
    expect(counts.totals(9_999)).toEqual([100]);
    counts.add(0, 3_600_000);
    expect(counts.totals(3_600_000)).toEqual([1]);
  });

  it('covers the time since it started, then the window', () => {
    const clock = new FakeClock(5_000);
    const counts = new RollingCounts(1, 10_000, 10, clock);
    expect(counts.coveredMs(5_000)).toBe(0);
    expect(counts.coveredMs(7_250)).toBe(2_250);
    expect(counts.coveredMs(15_000)).toBe(9_000 + 0);
    expect(counts.coveredMs(15_400)).toBe(9_400);
    expect(counts.coveredMs(99_999)).toBe(9_999);
  });

  it('covers nothing, never less, for a time read just before it was made (a new policy in a frame)', () => {
    const clock = new FakeClock(5_000);
    const counts = new RollingCounts(1, 10_000, 10, clock);
    // The dashboard reads `now` once per frame, then makes the windows of policies it had not seen.
    expect(counts.coveredMs(4_999.75)).toBe(0);
    expect(counts.coveredMs(5_000.5)).toBe(0.5);
  });

  it('reports exactly the counts of the slots still in the window (property)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.integer({ min: 0, max: 3_000 }), fc.integer({ min: 0, max: 2 })), {
          maxLength: 200,
        }),
        (steps) => {
          const clock = new FakeClock();
          const counts = new RollingCounts(3, 1_000, 4, clock);
          const log: [number, number][] = [];
          let now = 0;
          for (const [gap, field] of steps) {
            now += gap;
            counts.add(field, now);
            log.push([now, field]);
            const expected = [0, 0, 0];
            // A slot is 250 ms; the window holds the current slot and the 3 before it.
            for (const [t, f] of log) if (Math.floor(now / 250) - Math.floor(t / 250) < 4) expected[f]!++;
            expect(counts.totals(now)).toEqual(expected);
          }
        },
      ),
    );
  });
});
