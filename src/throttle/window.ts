import { RollingCounts } from '../core/rolling-counts.js';

const REQUESTS = 0;
const ACCEPTS = 1;

/**
 * Requests and accepts of the last `durationMs`, in `buckets` equal buckets: the state of client-side
 * adaptive throttling, with no clock or random source (every method that depends on time takes `now`).
 */
export class ThrottleWindow extends RollingCounts {
  constructor(durationMs: number, buckets: number) {
    super(2, buckets, durationMs / buckets);
  }

  /** Requests in the window, local rejections included. */
  get requests(): number {
    return this.totals[REQUESTS]!;
  }

  /** Accepts by the backend in the window. */
  get accepts(): number {
    return this.totals[ACCEPTS]!;
  }

  /**
   * The SRE book's local rejection probability, max(0, (requests - k * accepts) / (requests + padding)),
   * as of the last `advance`.
   */
  probability(k: number, padding: number): number {
    const requests = this.totals[REQUESTS]!;
    const excess = requests - k * this.totals[ACCEPTS]!;
    return excess <= 0 ? 0 : excess / (requests + padding);
  }

  /** Counts a request (sent or rejected locally) in the current bucket. */
  addRequest(): void {
    this.add(REQUESTS);
  }

  /**
   * Counts an accept in the current bucket, i.e. the bucket of the latest `advance` (the latest call):
   * reading the clock again when each call ends would cost more than the few ms of age it corrects.
   */
  addAccept(): void {
    this.add(ACCEPTS);
  }

  /** Un-counts a request made in bucket `epoch`, if that bucket is still in the window. */
  removeRequest(epoch: number): void {
    this.remove(REQUESTS, epoch);
  }
}
