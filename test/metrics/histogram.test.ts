import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { LatencyHistogram, RollingHistogram } from '../../src/metrics/histogram.js';
import { FakeClock } from '../helpers.js';

const LOWEST = 0.001;
const HIGHEST = 3_600_000;
const STANDARD = [0, 50, 90, 99, 99.9, 100];

/**
 * The exact percentile the histogram approximates: nearest rank, the value at 1-based rank ceil(p/100 * n)
 * (at least 1) of the sorted values. The tiny tolerance makes p = 99.9 of 1000 values rank 999, as in
 * decimal arithmetic, instead of 1000 because 99.9 / 100 * 1000 rounds to 999.0000000000001.
 */
function exactPercentile(sorted: readonly number[], p: number): number {
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length * (1 - 1e-12)));
  return sorted[rank - 1]!;
}

function withinError(reported: number, exact: number, relativeError: number): boolean {
  // The bound is exact in real arithmetic; allow float rounding of the scaling and midpoint.
  return Math.abs(reported - exact) <= relativeError * exact + exact * 1e-12;
}

function thrown(fn: () => unknown): Error & { code?: string; option?: string } {
  try {
    fn();
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected a throw');
}

// Latencies as services see them: spread over many octaves, or clustered with many ties.
const spreadValue = fc.double({ min: LOWEST, max: HIGHEST, noNaN: true });
const logUniformValue = fc
  .double({ min: Math.log(LOWEST), max: Math.log(HIGHEST), noNaN: true })
  .map((x) => Math.min(HIGHEST, Math.max(LOWEST, Math.exp(x))));
const tiedValue = fc.integer({ min: 1, max: 300 }).map((n) => n / 10);
const latencies = fc.array(fc.oneof(spreadValue, logUniformValue, tiedValue), {
  minLength: 1,
  maxLength: 400,
});
const percentile = fc.oneof(fc.constantFrom(...STANDARD), fc.double({ min: 0, max: 100, noNaN: true }));

describe('LatencyHistogram', () => {
  it('reports NaN for every statistic while empty', () => {
    const h = new LatencyHistogram();
    expect(h.count).toBe(0);
    expect(h.min).toBeNaN();
    expect(h.max).toBeNaN();
    expect(h.mean).toBeNaN();
    expect(h.valueAtPercentile(50)).toBeNaN();
    expect(h.percentiles([50, 99])).toEqual([Number.NaN, Number.NaN]);
  });

  it('uses 1024 buckets (8 KiB) for 1 us to 1 h within 1/64 by default', () => {
    const h = new LatencyHistogram();
    expect(h.lowestDiscernibleMs).toBe(LOWEST);
    expect(h.highestTrackableMs).toBe(HIGHEST);
    expect(h.relativeError).toBe(1 / 64);
    expect(h.bucketCount).toBe(32 * 32);
    expect(h.memoryBytes).toBe(8 * 1024);
  });

  it('rounds maxRelativeError down to 1 / (2 * a power of two)', () => {
    expect(new LatencyHistogram({ maxRelativeError: 0.01 }).relativeError).toBe(1 / 128);
    expect(new LatencyHistogram({ maxRelativeError: 1 / 64 }).relativeError).toBe(1 / 64);
    expect(new LatencyHistogram({ maxRelativeError: 0.5 }).relativeError).toBe(0.5);
    expect(new LatencyHistogram({ maxRelativeError: 0.001 }).bucketCount).toBe(32 * 512);
  });

  it('returns a single recorded value exactly at every percentile', () => {
    const h = new LatencyHistogram();
    h.record(12.345);
    for (const p of STANDARD) expect(h.valueAtPercentile(p)).toBe(12.345);
    expect([h.min, h.max, h.mean]).toEqual([12.345, 12.345, 12.345]);
  });

  it('keeps min, max and mean exact', () => {
    const h = new LatencyHistogram();
    for (const v of [3.2, 0.75, 120, 9.05]) h.record(v);
    expect(h.count).toBe(4);
    expect(h.min).toBe(0.75);
    expect(h.max).toBe(120);
    expect(h.mean).toBeCloseTo((3.2 + 0.75 + 120 + 9.05) / 4, 12);
    expect(h.valueAtPercentile(0)).toBe(0.75);
    expect(h.valueAtPercentile(100)).toBe(120);
  });

  it('answers the nearest rank: p50 of 1..100 is the 50th value, p99.9 of 1..1000 the 999th', () => {
    const h = new LatencyHistogram({ maxRelativeError: 0.001 });
    for (let i = 1; i <= 100; i++) h.record(i);
    expect(h.valueAtPercentile(50)).toBeCloseTo(50, 1);
    expect(h.valueAtPercentile(50.5)).toBeCloseTo(51, 1);
    const k = new LatencyHistogram({ maxRelativeError: 0.0001 });
    for (let i = 1; i <= 1000; i++) k.record(i);
    expect(Math.abs(k.valueAtPercentile(99.9) - 999)).toBeLessThan(0.1);
  });

  it('clamps values outside its range, counts them, and ignores NaN', () => {
    const h = new LatencyHistogram({ lowestDiscernibleMs: 0.01, highestTrackableMs: 1_000 });
    h.record(0);
    h.record(-3);
    h.record(0.001);
    h.record(5_000);
    h.record(Number.POSITIVE_INFINITY);
    h.record(Number.NaN);
    expect(h.count).toBe(5);
    expect(h.underflowCount).toBe(3);
    expect(h.overflowCount).toBe(2);
    expect(h.min).toBe(0.01);
    expect(h.max).toBe(1_000);
    expect(h.valueAtPercentile(0)).toBe(0.01);
    expect(h.valueAtPercentile(100)).toBe(1_000);
    expect(h.mean).toBeCloseTo((3 * 0.01 + 2 * 1_000) / 5, 12);
  });

  it('records the range ends in the first and last buckets without overrunning', () => {
    for (const options of [
      {},
      { lowestDiscernibleMs: 1, highestTrackableMs: 2 ** 40 },
      { maxRelativeError: 0.5 },
    ]) {
      const h = new LatencyHistogram(options);
      h.record(h.lowestDiscernibleMs);
      h.record(h.highestTrackableMs);
      expect(h.count).toBe(2);
      expect(h.valueAtPercentile(0)).toBe(h.lowestDiscernibleMs);
      expect(h.valueAtPercentile(100)).toBe(h.highestTrackableMs);
    }
  });

  it('reset forgets everything, including the clamp counters', () => {
    const h = new LatencyHistogram();
    for (const v of [0, 1, 2, 1e9]) h.record(v);
    h.reset();
    expect([h.count, h.underflowCount, h.overflowCount]).toEqual([0, 0, 0]);
    expect(h.valueAtPercentile(50)).toBeNaN();
    h.record(7);
    expect(h.percentiles([0, 50, 100])).toEqual([7, 7, 7]);
  });

  it('add merges counts, clamp counters, min, max and mean', () => {
    const a = new LatencyHistogram();
    const b = new LatencyHistogram();
    a.record(1);
    a.record(0);
    b.record(100);
    b.record(1e12);
    a.add(b);
    expect(a.count).toBe(4);
    expect([a.underflowCount, a.overflowCount]).toEqual([1, 1]);
    expect(a.min).toBe(LOWEST);
    expect(a.max).toBe(HIGHEST);
    expect(b.count).toBe(2);
    a.add(new LatencyHistogram());
    expect(a.count).toBe(4);
  });

  it('refuses to add a histogram of another layout', () => {
    const a = new LatencyHistogram();
    expect(() => a.add(new LatencyHistogram({ maxRelativeError: 0.01 }))).toThrow(RangeError);
    expect(() => a.add(new LatencyHistogram({ highestTrackableMs: 1_000 }))).toThrow(RangeError);
  });

  it('rejects percentiles outside [0, 100]', () => {
    const h = new LatencyHistogram();
    h.record(1);
    for (const p of [-1, 100.5, Number.NaN]) {
      expect(() => h.valueAtPercentile(p)).toThrow(RangeError);
      expect(() => h.percentiles([50, p])).toThrow(RangeError);
    }
  });

  it('percentiles writes into the array it is given and accepts any order', () => {
    const h = new LatencyHistogram();
    for (let i = 1; i <= 1000; i++) h.record(i);
    const out = [1, 2, 3, 4, 5];
    const result = h.percentiles([99, 50, 99.9, 0, 50], out);
    expect(result).toBe(out);
    expect(out).toEqual([99, 50, 99.9, 0, 50].map((p) => h.valueAtPercentile(p)));
  });

  it('every percentile is within relativeError of the exact nearest-rank percentile', () => {
    fc.assert(
      fc.property(
        latencies,
        fc.array(percentile, { minLength: 1, maxLength: 8 }),
        fc.constantFrom(0.5, 0.1, 0.02, 0.01, 0.001),
        (values, ps, maxRelativeError) => {
          const h = new LatencyHistogram({ maxRelativeError });
          for (const v of values) h.record(v);
          const sorted = [...values].sort((x, y) => x - y);
          const many = h.percentiles(ps);
          ps.forEach((p, k) => {
            const exact = exactPercentile(sorted, p);
            const reported = h.valueAtPercentile(p);
            expect(withinError(reported, exact, h.relativeError), `p${p}: ${reported} vs ${exact}`).toBe(
              true,
            );
            expect(many[k]).toBe(reported);
          });
          expect(h.count).toBe(values.length);
          expect(h.min).toBe(sorted[0]);
          expect(h.max).toBe(sorted[sorted.length - 1]);
        },
      ),
      { numRuns: 500 },
    );
  });

  it('percentiles never decrease as p grows', () => {
    fc.assert(
      fc.property(latencies, (values) => {
        const h = new LatencyHistogram();
        for (const v of values) h.record(v);
        const ps = [0, 1, 10, 25, 50, 75, 90, 99, 99.9, 99.99, 100];
        const reported = h.percentiles(ps);
        for (let k = 1; k < reported.length; k++)
          expect(reported[k]!).toBeGreaterThanOrEqual(reported[k - 1]!);
      }),
    );
  });

  it('merging two histograms answers as if every value went into one', () => {
    fc.assert(
      fc.property(latencies, latencies, (left, right) => {
        const a = new LatencyHistogram();
        const b = new LatencyHistogram();
        const both = new LatencyHistogram();
        for (const v of left) {
          a.record(v);
          both.record(v);
        }
        for (const v of right) {
          b.record(v);
          both.record(v);
        }
        a.add(b);
        expect(a.percentiles(STANDARD)).toEqual(both.percentiles(STANDARD));
        expect([a.count, a.min, a.max]).toEqual([both.count, both.min, both.max]);
      }),
    );
  });
});

describe('RollingHistogram', () => {
  it('defaults to 60 s in 6 sub-histograms, 56 KiB of counts in all', () => {
    const r = new RollingHistogram({ clock: new FakeClock() });
    expect(r.windowMs).toBe(60_000);
    expect(r.buckets).toBe(6);
    expect(r.relativeError).toBe(1 / 64);
    expect(r.memoryBytes).toBe(7 * 8 * 1024);
  });

  it('forgets a value once it is a window old and keeps it until then (sub-histograms of 10 s)', () => {
    const clock = new FakeClock(0);
    const r = new RollingHistogram({ clock, windowMs: 60_000, buckets: 6 });
    r.record(5);
    clock.advance(30_000);
    r.record(50);
    expect(r.count).toBe(2);
    expect(r.max).toBe(50);
    clock.advance(29_999);
    expect(r.count).toBe(2);
    clock.advance(1);
    expect(r.count).toBe(1);
    expect(r.valueAtPercentile(0)).toBe(50);
    clock.advance(30_000);
    expect(r.count).toBe(0);
    expect(r.valueAtPercentile(50)).toBeNaN();
  });

  it('clears every sub-histogram after an idle gap, not one per call', () => {
    const clock = new FakeClock(0);
    const r = new RollingHistogram({ clock, windowMs: 6_000, buckets: 6 });
    for (let i = 0; i < 6; i++) {
      r.record(10 + i);
      clock.advance(1_000);
    }
    expect(r.count).toBe(5);
    clock.advance(60 * 60_000);
    expect(r.count).toBe(0);
    expect(r.percentiles([50, 99])).toEqual([Number.NaN, Number.NaN]);
    r.record(3);
    expect(r.count).toBe(1);
    expect(r.percentiles([0, 50, 100])).toEqual([3, 3, 3]);
  });

  it('takes the time of a record from the caller when given, without reading the clock', () => {
    let reads = 0;
    const clock = {
      now: () => {
        reads++;
        return 0;
      },
    };
    const r = new RollingHistogram({ clock, windowMs: 1_000, buckets: 2 });
    reads = 0;
    r.record(1, 100);
    r.record(2, 700);
    expect(reads).toBe(0);
    // The clock still says 0: a query at an earlier time keeps the current sub-histogram.
    expect(r.count).toBe(2);
    r.record(3, 1_200);
    expect(r.count).toBe(2);
    expect(r.min).toBe(2);
  });

  it('never reports values older than the window and always those newer than window minus a slot', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 1_000 }),
        fc.integer({ min: 1, max: 10 }),
        fc.integer({ min: 0, max: 1_000_000 }),
        fc.array(
          fc.record({
            gap: fc.oneof(fc.integer({ min: 0, max: 200 }), fc.integer({ min: 0, max: 30_000 })),
            value: fc.oneof(spreadValue, tiedValue),
            query: fc.boolean(),
          }),
          { maxLength: 60 },
        ),
        fc.integer({ min: 0, max: 30_000 }),
        (slotMs, buckets, start, events, finalGap) => {
          const windowMs = slotMs * buckets;
          const clock = new FakeClock(start);
          const r = new RollingHistogram({ clock, windowMs, buckets });
          const recorded: { at: number; value: number }[] = [];
          for (const { gap, value, query } of events) {
            clock.advance(gap);
            r.record(value);
            recorded.push({ at: clock.now(), value });
            if (query) r.valueAtPercentile(50);
          }
          clock.advance(finalGap);
          const now = clock.now();
          const live = recorded.filter(
            ({ at }) => Math.floor(now / slotMs) - Math.floor(at / slotMs) < buckets,
          );
          for (const { at } of recorded) {
            const kept = live.some((l) => l.at === at);
            if (now - at >= windowMs) expect(kept).toBe(false);
            if (now - at < windowMs - slotMs) expect(kept).toBe(true);
          }
          const reference = new LatencyHistogram();
          for (const { value } of live) reference.record(value);
          expect(r.count).toBe(live.length);
          expect(r.percentiles(STANDARD)).toEqual(reference.percentiles(STANDARD));
          expect([r.min, r.max]).toEqual([reference.min, reference.max]);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('reports nothing after any idle gap of a window or more', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 100_000 }),
        fc.integer({ min: 1, max: 20 }),
        fc.array(fc.tuple(fc.integer({ min: 0, max: 10_000 }), spreadValue), { minLength: 1, maxLength: 50 }),
        fc.integer({ min: 0, max: 10_000_000 }),
        (windowMs, buckets, events, extra) => {
          const clock = new FakeClock(0);
          const r = new RollingHistogram({ clock, windowMs, buckets });
          for (const [gap, value] of events) {
            clock.advance(gap);
            r.record(value);
          }
          clock.advance(windowMs + extra);
          expect(r.count).toBe(0);
          expect(r.valueAtPercentile(99)).toBeNaN();
          r.record(42);
          expect(r.count).toBe(1);
          expect(r.valueAtPercentile(50)).toBe(42);
        },
      ),
    );
  });

  it('merged() exposes the whole live window as one histogram', () => {
    const clock = new FakeClock(0);
    const r = new RollingHistogram({ clock, windowMs: 1_000, buckets: 4 });
    r.record(1);
    clock.advance(300);
    r.record(0);
    const merged = r.merged();
    expect([merged.count, merged.underflowCount, merged.min, merged.max]).toEqual([2, 1, LOWEST, 1]);
    expect(r.mean).toBeCloseTo((1 + LOWEST) / 2, 12);
  });

  it('reset forgets the whole window', () => {
    const clock = new FakeClock(0);
    const r = new RollingHistogram({ clock });
    r.record(1);
    clock.advance(20_000);
    r.record(2);
    r.reset();
    expect(r.count).toBe(0);
    expect(r.valueAtPercentile(50)).toBeNaN();
    r.record(3);
    expect(r.valueAtPercentile(50)).toBe(3);
  });
});

describe('histogram options', () => {
  it.each([
    ['histogram.lowestDiscernibleMs', () => new LatencyHistogram({ lowestDiscernibleMs: 0 }), RangeError],
    [
      'histogram.lowestDiscernibleMs',
      () => new LatencyHistogram({ lowestDiscernibleMs: '1' as never }),
      TypeError,
    ],
    ['histogram.highestTrackableMs', () => new LatencyHistogram({ highestTrackableMs: -1 }), RangeError],
    [
      'histogram.highestTrackableMs',
      () => new LatencyHistogram({ highestTrackableMs: Number.NaN }),
      TypeError,
    ],
    [
      'histogram.highestTrackableMs',
      () => new LatencyHistogram({ lowestDiscernibleMs: 10, highestTrackableMs: 15 }),
      RangeError,
    ],
    [
      'histogram.highestTrackableMs',
      () => new LatencyHistogram({ lowestDiscernibleMs: 1e-9, highestTrackableMs: 1e12 }),
      RangeError,
    ],
    ['histogram.maxRelativeError', () => new LatencyHistogram({ maxRelativeError: 0 }), RangeError],
    ['histogram.maxRelativeError', () => new LatencyHistogram({ maxRelativeError: 0.6 }), RangeError],
    [
      'histogram.maxRelativeError',
      () => new LatencyHistogram({ maxRelativeError: 0.00001, lowestDiscernibleMs: 1e-6 }),
      RangeError,
    ],
    ['histogram.significantDigits', () => new LatencyHistogram({ significantDigits: 2 } as never), TypeError],
    ['histogram', () => new LatencyHistogram(5 as never), TypeError],
    [
      'timeout.latency.maxRelativeError',
      () => new LatencyHistogram({ maxRelativeError: 1 }, 'timeout.latency'),
      RangeError,
    ],
    ['rollingHistogram.windowMs', () => new RollingHistogram({ windowMs: 0 }), RangeError],
    ['rollingHistogram.windowMs', () => new RollingHistogram({ windowMs: 0.5 }), RangeError],
    [
      'rollingHistogram.windowMs',
      () => new RollingHistogram({ windowMs: Number.POSITIVE_INFINITY }),
      RangeError,
    ],
    ['rollingHistogram.buckets', () => new RollingHistogram({ buckets: 0 }), RangeError],
    ['rollingHistogram.buckets', () => new RollingHistogram({ buckets: 2.5 }), RangeError],
    ['rollingHistogram.clock', () => new RollingHistogram({ clock: {} as never }), TypeError],
    ['rollingHistogram.clock', () => new RollingHistogram({ clock: null as never }), TypeError],
    [
      'rollingHistogram.lowestDiscernibleMs',
      () => new RollingHistogram({ lowestDiscernibleMs: -1 }),
      RangeError,
    ],
    ['rollingHistogram.window', () => new RollingHistogram({ window: 5 } as never), TypeError],
  ])('%s is checked', (option, build, kind) => {
    const error = thrown(build);
    expect(error).toBeInstanceOf(kind);
    expect(error.code).toBe('BW_ERR_INVALID_OPTION');
    expect(error.option).toBe(option);
  });

  it('accepts a clock that only has now()', () => {
    expect(() => new RollingHistogram({ clock: { now: () => 0 } })).not.toThrow();
  });
});
