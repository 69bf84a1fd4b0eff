import { RollingCounts } from '../core/rolling-counts.js';

const TOTAL = 0;
const BAD = 1;

/**
 * Counts of all and of bad events in time buckets, rotated lazily from the clock: `record` is O(1)
 * amortised, and sums over any window up to the ring's span cost one pass over its buckets.
 */
export class EventSeries extends RollingCounts {
  constructor(spanMs: number, bucketMs: number) {
    super(2, Math.max(1, Math.ceil(spanMs / bucketMs)), bucketMs);
  }

  record(bad: boolean, now: number): void {
    this.advance(now);
    this.add(TOTAL);
    if (bad) this.add(BAD);
  }

  /** Total and bad events of the last `windowMs` (rounded up to whole buckets), as of the last advance. */
  sum(windowMs: number): { total: number; bad: number } {
    const n = Math.ceil(windowMs / this.bucketMs);
    return { total: this.recent(TOTAL, n), bad: this.recent(BAD, n) };
  }
}
