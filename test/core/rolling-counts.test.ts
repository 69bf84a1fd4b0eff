import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { RollingCounts } from '../../src/core/rolling-counts.js';

describe('RollingCounts', () => {
  it('holds exactly the counts of the last buckets, in totals and in recent sums (property)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 12 }),
        fc.integer({ min: -5_000, max: 5_000 }),
        fc.array(fc.record({ gap: fc.integer({ min: 0, max: 300 }), counter: fc.nat(2), n: fc.nat(3) }), {
          maxLength: 80,
          size: 'max',
        }),
        fc.integer({ min: 1, max: 15 }),
        (buckets, start, steps, span) => {
          const bucketMs = 100;
          const w = new RollingCounts(3, buckets, bucketMs);
          const log: { epoch: number; counter: number; n: number }[] = [];
          let now = start;
          for (const step of steps) {
            now += step.gap;
            w.advance(now);
            w.add(step.counter, step.n);
            const epoch = Math.floor(now / bucketMs);
            log.push({ epoch, counter: step.counter, n: step.n });
            for (let c = 0; c < 3; c++) {
              const sum = (within: number) =>
                log.filter((e) => e.counter === c && epoch - e.epoch < within).reduce((s, e) => s + e.n, 0);
              expect(w.totals[c]).toBe(sum(buckets));
              expect(w.recent(c, span)).toBe(sum(Math.min(span, buckets)));
            }
          }
        },
      ),
    );
  });

  it('takes one back only from a bucket still in the window that holds one', () => {
    const w = new RollingCounts(2, 4, 10);
    w.advance(-25);
    w.add(1);
    const epoch = w.epoch;
    w.advance(0);
    w.remove(1, epoch);
    w.remove(1, epoch);
    expect([...w.totals]).toEqual([0, 0]);
    w.add(1);
    w.advance(40);
    w.remove(1, 0); // the bucket of t=0 left the window with its count
    expect([...w.totals]).toEqual([0, 0]);
    expect(w.recent(1, 4)).toBe(0);
  });

  it('sums nothing before the first advance', () => {
    expect(new RollingCounts(1, 3, 10).recent(0, 3)).toBe(0);
  });
});
