import { Emitter, type Subscribe } from '../core/events.js';
import type { ConcurrencyLimit, LimitSample } from './types.js';

/**
 * What the three algorithms share: a real-valued estimate (so smoothing and small steps accumulate)
 * behind an integer limit that a bulkhead compares with its in-flight count.
 */
export abstract class AdjustableLimit implements ConcurrencyLimit {
  /** Unrounded estimate, always within [min, max]. */
  protected estimate: number;
  #limit: number;
  readonly #min: number;
  readonly #max: number;
  readonly #changes = new Emitter<number>();
  readonly onLimitChange: Subscribe<number> = this.#changes.subscribe;
  /** Completion time of the sample that last changed the integer limit. */
  #changedAt = Number.NEGATIVE_INFINITY;

  constructor(initial: number, min: number, max: number) {
    this.estimate = initial;
    this.#limit = initial;
    this.#min = min;
    this.#max = max;
  }

  get limit(): number {
    return this.#limit;
  }

  abstract onSample(sample: LimitSample): void;

  /**
   * The call started before the limit last changed, so its outcome describes the old limit. Acting on it
   * would count one congestion event once per call in flight (a burst of timeouts would cut the limit
   * once per timeout), or credit the new limit with the old one's good latency.
   */
  protected stale(sample: LimitSample): boolean {
    return sample.startedAt < this.#changedAt;
  }

  /**
   * Stores a new estimate, clamped to [min, max], and emits when the rounded limit changes. Call it last
   * in `onSample`, so listeners see consistent state. A NaN (from a user-supplied function) is ignored
   * rather than poisoning every later estimate.
   */
  protected adjust(estimate: number, now: number): void {
    if (Number.isNaN(estimate)) return;
    const clamped = estimate < this.#min ? this.#min : estimate > this.#max ? this.#max : estimate;
    this.estimate = clamped;
    const next = Math.round(clamped);
    if (next === this.#limit) return;
    this.#limit = next;
    this.#changedAt = now;
    this.#changes.emit(next);
  }
}

/**
 * A sample whose rtt is negative, NaN or infinite says nothing about the downstream and would poison
 * running averages for good, so every algorithm skips it.
 */
export function usableRtt(rttMs: number): boolean {
  return rttMs >= 0 && rttMs < Number.POSITIVE_INFINITY;
}
