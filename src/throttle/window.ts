/**
 * Requests and accepts of the last `durationMs`, in `buckets` equal buckets with running totals: the
 * state of client-side adaptive throttling, with no clock or random source (every method that depends
 * on time takes `now`).
 *
 * Buckets rotate lazily from the clock: moving to a later bucket clears every bucket skipped on the way,
 * so after an idle gap longer than the window nothing stale is counted. O(1) amortised per call (a
 * rotation clears each bucket at most once per window; a longer gap clears them all at once).
 */
export class ThrottleWindow {
  readonly durationMs: number;
  readonly buckets: number;
  readonly bucketMs: number;
  /** Totals over the window. */
  requests = 0;
  accepts = 0;
  readonly #requests: Float64Array;
  readonly #accepts: Float64Array;
  /** Absolute index (floor(now / bucketMs)) of the current bucket, and its slot in the ring. */
  epoch = Number.NEGATIVE_INFINITY;
  #slot = 0;

  constructor(durationMs: number, buckets: number) {
    this.durationMs = durationMs;
    this.buckets = buckets;
    this.bucketMs = durationMs / buckets;
    this.#requests = new Float64Array(buckets);
    this.#accepts = new Float64Array(buckets);
  }

  advance(now: number): void {
    const epoch = Math.floor(now / this.bucketMs);
    const steps = epoch - this.epoch;
    if (steps <= 0) return;
    if (steps >= this.buckets) {
      this.#requests.fill(0);
      this.#accepts.fill(0);
      this.requests = this.accepts = 0;
    } else {
      for (let e = this.epoch + 1; e <= epoch; e++) {
        const i = this.#ring(e);
        this.requests -= this.#requests[i]!;
        this.accepts -= this.#accepts[i]!;
        this.#requests[i] = this.#accepts[i] = 0;
      }
    }
    this.epoch = epoch;
    this.#slot = this.#ring(epoch);
  }

  /**
   * The SRE book's local rejection probability, max(0, (requests - k * accepts) / (requests + padding)),
   * as of the last `advance`.
   */
  probability(k: number, padding: number): number {
    const excess = this.requests - k * this.accepts;
    return excess <= 0 ? 0 : excess / (this.requests + padding);
  }

  /** Counts a request (sent or rejected locally) in the current bucket. */
  addRequest(): void {
    this.#requests[this.#slot]!++;
    this.requests++;
  }

  /**
   * Counts an accept in the current bucket, i.e. the bucket of the latest `advance` (the latest call):
   * reading the clock again when each call ends would cost more than the few ms of age it corrects.
   */
  addAccept(): void {
    this.#accepts[this.#slot]!++;
    this.accepts++;
  }

  /** Un-counts a request made in bucket `epoch`, if that bucket is still in the window. */
  removeRequest(epoch: number): void {
    if (epoch > this.epoch || this.epoch - epoch >= this.buckets) return;
    const i = this.#ring(epoch);
    if (this.#requests[i]! <= 0) return;
    this.#requests[i]!--;
    this.requests--;
  }

  #ring(epoch: number): number {
    const i = epoch % this.buckets;
    return i < 0 ? i + this.buckets : i;
  }
}
