import { EPSILON, type RateAlgorithm } from './types.js';

/**
 * Smooth limiter: the Generic Cell Rate Algorithm (GCRA, "virtual scheduling"), a leaky bucket used as a
 * meter. Permits are spaced `intervalMs` apart; a call may come up to `toleranceMs` early. Its only
 * state is the theoretical arrival time (`tat`) of the next permit.
 *
 * A call at `now` conforms when `now >= tat - toleranceMs`; it then moves `tat` to
 * `max(tat, now) + intervalMs`. So any two granted permits i < j are at least
 * `(j - i) * intervalMs - toleranceMs` apart: with the default tolerance of 0, calls are evenly spaced
 * and there is no burst at all. (A tolerance of `(b - 1) * intervalMs` makes this a token bucket of
 * capacity b; this limiter is for small tolerances that absorb timer and arrival jitter.)
 */
export class SmoothLimiter implements RateAlgorithm {
  readonly intervalMs: number;
  readonly toleranceMs: number;
  tat: number;

  constructor(intervalMs: number, toleranceMs: number, now: number) {
    this.intervalMs = intervalMs;
    this.toleranceMs = toleranceMs;
    this.tat = now;
  }

  acquire(now: number, maxWaitMs: number): number {
    const tat = Math.max(this.tat, now);
    const wait = tat - this.toleranceMs - now;
    if (wait <= EPSILON * this.intervalMs) {
      this.tat = tat + this.intervalMs;
      return 0;
    }
    if (wait > maxWaitMs) return -wait;
    // The permit is granted at tat - tolerance, which conforms; max(tat, that) + interval is tat + interval.
    this.tat = tat + this.intervalMs;
    return wait;
  }

  release(_now: number): void {
    this.tat -= this.intervalMs;
  }

  available(now: number): number {
    const slack = now + this.toleranceMs - Math.max(this.tat, now);
    return slack < -EPSILON * this.intervalMs ? 0 : Math.floor(slack / this.intervalMs + EPSILON) + 1;
  }

  waitTime(now: number): number {
    const wait = Math.max(this.tat, now) - this.toleranceMs - now;
    return wait <= EPSILON * this.intervalMs ? 0 : wait;
  }

  idle(now: number): boolean {
    return this.tat <= now;
  }
}
