import type { OutcomeWindow, WindowExport } from './types.js';

/**
 * Calls of the last `durationMs`, in `buckets` equal buckets with running totals. Buckets are rotated
 * lazily from the clock: moving to a later bucket clears every bucket skipped on the way, so after an
 * idle gap longer than the window nothing stale is counted (cockatiel's SamplingBreaker advances one
 * bucket per call and keeps counting hour-old calls after an idle hour). O(1) per call, amortised: a
 * rotation touches each bucket at most once per window, and a gap longer than the window clears all at
 * once.
 */
export class TimeWindow implements OutcomeWindow {
  readonly durationMs: number;
  readonly buckets: number;
  readonly bucketMs: number;
  calls = 0;
  failures = 0;
  slowCalls = 0;
  // Per bucket: calls, failures, slow calls. Counts stay exact integers far beyond any real rate.
  readonly #calls: Float64Array;
  readonly #failures: Float64Array;
  readonly #slow: Float64Array;
  /** Absolute index (floor(now / bucketMs)) of the current bucket. */
  #epoch = Number.NEGATIVE_INFINITY;

  constructor(durationMs: number, buckets: number) {
    this.durationMs = durationMs;
    this.buckets = buckets;
    this.bucketMs = durationMs / buckets;
    this.#calls = new Float64Array(buckets);
    this.#failures = new Float64Array(buckets);
    this.#slow = new Float64Array(buckets);
  }

  advance(now: number): void {
    const epoch = Math.floor(now / this.bucketMs);
    const steps = epoch - this.#epoch;
    if (steps <= 0) return;
    if (steps >= this.buckets) {
      this.#clear();
    } else {
      for (let e = this.#epoch + 1; e <= epoch; e++) {
        const i = this.#slot(e);
        this.calls -= this.#calls[i]!;
        this.failures -= this.#failures[i]!;
        this.slowCalls -= this.#slow[i]!;
        this.#calls[i] = this.#failures[i] = this.#slow[i] = 0;
      }
    }
    this.#epoch = epoch;
  }

  record(failed: boolean, slow: boolean, now: number): void {
    this.advance(now);
    const i = this.#slot(this.#epoch);
    this.#calls[i]!++;
    this.calls++;
    if (failed) {
      this.#failures[i]!++;
      this.failures++;
    }
    if (slow) {
      this.#slow[i]!++;
      this.slowCalls++;
    }
  }

  /** The bucket of an epoch; epochs are negative on a clock that starts below zero. */
  #slot(epoch: number): number {
    const i = epoch % this.buckets;
    return i < 0 ? i + this.buckets : i;
  }

  reset(): void {
    this.#clear();
  }

  #clear(): void {
    this.#calls.fill(0);
    this.#failures.fill(0);
    this.#slow.fill(0);
    this.calls = this.failures = this.slowCalls = 0;
  }

  export(now: number): WindowExport {
    this.advance(now);
    const counts: [number, number, number][] = [];
    for (let k = this.buckets - 1; k >= 0; k--) {
      const e = this.#epoch - k;
      const i = this.#slot(e);
      counts.push([this.#calls[i]!, this.#failures[i]!, this.#slow[i]!]);
    }
    return { kind: 'time', durationMs: this.durationMs, buckets: this.buckets, counts };
  }

  import(data: WindowExport, now: number): boolean {
    if (data.kind !== 'time' || data.durationMs !== this.durationMs || data.buckets !== this.buckets)
      return false;
    if (!Array.isArray(data.counts) || data.counts.length !== this.buckets) return false;
    const valid = (n: unknown) => typeof n === 'number' && Number.isInteger(n) && n >= 0;
    if (!data.counts.every((c) => Array.isArray(c) && c.length === 3 && c.every(valid))) return false;
    this.#clear();
    // Bucket k of the export (oldest first) is re-homed at the same age relative to `now`, so restored
    // counts expire when they would have (to within one bucket).
    this.#epoch = Math.floor(now / this.bucketMs);
    for (let k = 0; k < this.buckets; k++) {
      const [calls, failures, slow] = data.counts[k]!;
      const i = this.#slot(this.#epoch - (this.buckets - 1 - k));
      this.#calls[i] = calls;
      this.#failures[i] = Math.min(failures, calls);
      this.#slow[i] = Math.min(slow, calls);
      this.calls += calls;
      this.failures += this.#failures[i]!;
      this.slowCalls += this.#slow[i]!;
    }
    return true;
  }
}
