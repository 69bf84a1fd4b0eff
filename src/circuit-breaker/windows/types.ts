/**
 * Outcome counts a circuit breaker judges. Implementations keep running totals so reading them is O(1),
 * and allocate nothing per call. Time-based windows rotate lazily: `advance(now)` must be called before
 * reading totals, and `record` does it itself.
 */
export interface OutcomeWindow {
  /** Calls counted (successes and failures; ignored calls are never recorded). */
  readonly calls: number;
  readonly failures: number;
  /** Calls slower than the slow-call threshold, failed or not. */
  readonly slowCalls: number;
  record(failed: boolean, slow: boolean, now: number): void;
  /** Drops what has left the window by `now` (no-op for windows that do not depend on time). */
  advance(now: number): void;
  reset(): void;
  /** Plain data for warm restarts; times are relative to `now`. */
  export(now: number): WindowExport;
  /** Loads what `export` produced (from a window of the same shape); returns false if it does not fit. */
  import(data: WindowExport, now: number): boolean;
}

export type WindowExport =
  | { readonly kind: 'consecutive'; readonly failures: number }
  | { readonly kind: 'count'; readonly size: number; readonly outcomes: readonly number[] }
  | {
      readonly kind: 'time';
      readonly durationMs: number;
      readonly buckets: number;
      /** Oldest bucket first: [calls, failures, slowCalls] per bucket; the last is the current one. */
      readonly counts: readonly (readonly [number, number, number])[];
    };

/** Bit flags of one outcome in a count window. */
export const FAILED = 1;
export const SLOW = 2;
