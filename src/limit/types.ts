import type { Subscribe } from '../core/events.js';

/**
 * One completed call, as seen by an adaptive concurrency limit.
 * Times are milliseconds on the policy clock (monotonic).
 */
export interface LimitSample {
  /** When the call started (clock time). */
  readonly startedAt: number;
  /** How long it took, ms. */
  readonly rttMs: number;
  /** Calls in flight when it started, itself included. */
  readonly inflight: number;
  /**
   * The call was dropped: it timed out, or the downstream shed it (an overload signal), as opposed to an
   * ordinary failure or success.
   */
  readonly dropped: boolean;
}

/**
 * An adaptive concurrency limit (AIMD, Vegas, Gradient2, ...). A bulkhead asks `limit` before admitting a
 * call and reports every completed call with `onSample`. Implementations are pure state machines: no
 * timers, no I/O; time only comes from the samples.
 */
export interface ConcurrencyLimit {
  /** Current limit: an integer in [minLimit, maxLimit]. */
  readonly limit: number;
  onSample(sample: LimitSample): void;
  /** Fires with the new limit whenever it changes. */
  readonly onLimitChange: Subscribe<number>;
}
