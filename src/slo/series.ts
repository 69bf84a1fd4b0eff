/**
 * Counts of good and bad events in time buckets, rotated lazily from the clock (like the breaker's time
 * window): `record` is O(1) amortised, and sums over any window up to the ring's span cost one pass over
 * its buckets. Memory is fixed at construction.
 */
export class EventSeries {
  readonly bucketMs: number;
  readonly buckets: number;
  readonly #total: Float64Array;
  readonly #bad: Float64Array;
  #epoch = Number.NEGATIVE_INFINITY;

  constructor(spanMs: number, bucketMs: number) {
    this.bucketMs = bucketMs;
    this.buckets = Math.max(1, Math.ceil(spanMs / bucketMs));
    this.#total = new Float64Array(this.buckets);
    this.#bad = new Float64Array(this.buckets);
  }

  /** Moves to the bucket of `now`, clearing the buckets skipped on the way; true if it moved. */
  advance(now: number): boolean {
    const epoch = Math.floor(now / this.bucketMs);
    const steps = epoch - this.#epoch;
    if (steps <= 0) return false;
    if (steps >= this.buckets) {
      this.#total.fill(0);
      this.#bad.fill(0);
    } else {
      for (let e = this.#epoch + 1; e <= epoch; e++) {
        const i = e % this.buckets;
        this.#total[i] = 0;
        this.#bad[i] = 0;
      }
    }
    this.#epoch = epoch;
    return true;
  }

  record(bad: boolean, now: number): void {
    this.advance(now);
    const i = this.#epoch % this.buckets;
    this.#total[i]!++;
    if (bad) this.#bad[i]!++;
  }

  /** Total and bad events of the last `windowMs` (rounded up to whole buckets), as of the last advance. */
  sum(windowMs: number): { total: number; bad: number } {
    const n = Math.min(this.buckets, Math.ceil(windowMs / this.bucketMs));
    let total = 0;
    let bad = 0;
    if (this.#epoch === Number.NEGATIVE_INFINITY) return { total, bad };
    for (let k = 0; k < n; k++) {
      const i = (((this.#epoch - k) % this.buckets) + this.buckets) % this.buckets;
      total += this.#total[i]!;
      bad += this.#bad[i]!;
    }
    return { total, bad };
  }
}
