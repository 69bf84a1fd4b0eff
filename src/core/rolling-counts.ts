/**
 * A few counters over a sliding window of equal time buckets, with running totals: the state of the
 * retry budgets, client-side throttling and SLO series. Takes `now` instead of reading a clock.
 *
 * Buckets rotate lazily: moving to a later bucket clears every bucket skipped on the way, so after an
 * idle gap longer than the window nothing stale is counted. O(1) amortised per call (a rotation clears
 * each bucket at most once per window; a longer gap clears them all at once). Memory is fixed at
 * construction. Epochs may be negative (a clock that starts below zero).
 */
export class RollingCounts {
  readonly buckets: number;
  readonly bucketMs: number;
  /** Each counter summed over the window, as of the last `advance`. */
  readonly totals: Float64Array;
  /** floor(now / bucketMs) of the current bucket. */
  epoch = Number.NEGATIVE_INFINITY;
  readonly #counters: number;
  /** Bucket-major: the counts of bucket i are at [i * counters, (i + 1) * counters). */
  readonly #counts: Float64Array;
  /** Offset of the current bucket in #counts. */
  #at = 0;

  constructor(counters: number, buckets: number, bucketMs: number) {
    this.buckets = buckets;
    this.bucketMs = bucketMs;
    this.totals = new Float64Array(counters);
    this.#counters = counters;
    this.#counts = new Float64Array(counters * buckets);
  }

  /** Moves to the bucket of `now`, clearing the buckets skipped on the way; true if it moved. */
  advance(now: number): boolean {
    const epoch = Math.floor(now / this.bucketMs);
    const steps = epoch - this.epoch;
    if (steps <= 0) return false;
    const n = this.#counters;
    if (steps >= this.buckets) {
      this.#counts.fill(0);
      this.totals.fill(0);
    } else {
      for (let e = this.epoch + 1; e <= epoch; e++) {
        const at = this.#offset(e);
        for (let c = 0; c < n; c++) {
          this.totals[c]! -= this.#counts[at + c]!;
          this.#counts[at + c] = 0;
        }
      }
    }
    this.epoch = epoch;
    this.#at = this.#offset(epoch);
    return true;
  }

  /** Adds `n` to `counter` in the current bucket (the bucket of the last `advance`). */
  add(counter: number, n = 1): void {
    this.#counts[this.#at + counter]! += n;
    this.totals[counter]! += n;
  }

  /** Takes one back from `counter` in bucket `epoch`, if that bucket is still in the window and holds one. */
  remove(counter: number, epoch: number): void {
    if (epoch > this.epoch || this.epoch - epoch >= this.buckets) return;
    const i = this.#offset(epoch) + counter;
    if (this.#counts[i]! <= 0) return;
    this.#counts[i]!--;
    this.totals[counter]!--;
  }

  /** `counter` summed over the last `buckets` buckets (at most the window), as of the last `advance`. */
  recent(counter: number, buckets: number): number {
    if (this.epoch === Number.NEGATIVE_INFINITY) return 0;
    let sum = 0;
    for (let k = Math.min(this.buckets, buckets) - 1; k >= 0; k--) {
      sum += this.#counts[this.#offset(this.epoch - k) + counter]!;
    }
    return sum;
  }

  #offset(epoch: number): number {
    const i = epoch % this.buckets;
    return (i < 0 ? i + this.buckets : i) * this.#counters;
  }
}
