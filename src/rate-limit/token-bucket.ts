import { EPSILON, type RateAlgorithm } from './types.js';

/**
 * Token bucket: holds up to `capacity` permits and refills continuously at `ratePerMs`. Bursts of up to
 * `capacity` calls pass at once after a quiet period; over any window of W ms at most
 * `ratePerMs * W + capacity` permits are granted.
 *
 * The refill is continuous, not a whole batch at each interval boundary: batch refills let two full
 * bursts through back to back around a boundary (twice the intended rate for a moment).
 *
 * Reservations take the level below zero: at level -x, waiting calls hold slots up to `at + x / ratePerMs`
 * (when the level climbs back to 0). Below zero the cap never applies, so giving the latest slot back
 * (`release`: +1) is exact.
 */
export class TokenBucket implements RateAlgorithm {
  readonly ratePerMs: number;
  readonly capacity: number;
  /** Level at `at`, refilled lazily on access. */
  tokens: number;
  at: number;

  constructor(ratePerMs: number, capacity: number, now: number) {
    this.ratePerMs = ratePerMs;
    this.capacity = capacity;
    this.tokens = capacity;
    this.at = now;
  }

  #level(now: number): number {
    const elapsed = now - this.at;
    // A clock read before `at` (never for a monotonic clock) must not drain the bucket.
    if (elapsed > 0) {
      this.tokens = Math.min(this.capacity, this.tokens + elapsed * this.ratePerMs);
      this.at = now;
    }
    return this.tokens;
  }

  acquire(now: number, maxWaitMs: number): number {
    const level = this.#level(now);
    if (level >= 1 - EPSILON) {
      this.tokens = level - 1;
      return 0;
    }
    const wait = (1 - level) / this.ratePerMs;
    if (wait > maxWaitMs) return -wait;
    this.tokens = level - 1;
    return wait;
  }

  release(now: number): void {
    this.tokens = Math.min(this.capacity, this.#level(now) + 1);
  }

  available(now: number): number {
    const level = this.#level(now);
    return level < 1 - EPSILON ? 0 : Math.floor(level + EPSILON);
  }

  waitTime(now: number): number {
    const level = this.#level(now);
    return level >= 1 - EPSILON ? 0 : (1 - level) / this.ratePerMs;
  }

  idle(now: number): boolean {
    return this.#level(now) >= this.capacity - EPSILON;
  }
}
