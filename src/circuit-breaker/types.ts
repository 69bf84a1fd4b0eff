import type { BrokenCircuitError, CircuitStateName } from '../core/errors.js';
import type { Disposer, Subscribe } from '../core/events.js';
import type { Policy } from '../core/policy.js';
import type {
  CircuitBreakerEvent,
  PolicyCallEvent,
  PolicyRejectEvent,
  PolicyStateEvent,
} from '../metrics/events.js';
import type { Observable, SnapshotBase } from '../metrics/observable.js';
import type { ResolvedCircuitBreakerOptions } from './options.js';
import type { WindowExport } from './windows/types.js';

export interface CircuitSnapshot extends SnapshotBase {
  readonly kind: 'circuitBreaker';
  readonly state: CircuitStateName;
  /** Clock time of the last transition. */
  readonly since: number;
  /** Time until an open circuit lets a probe through (0 when it would now), else undefined. */
  readonly retryAfterMs: number | undefined;
  /** Calls in the window (plus in-flight slow calls when those are counted). */
  readonly calls: number;
  readonly failures: number;
  readonly slowCalls: number;
  readonly failureRate: number;
  readonly slowCallRate: number;
  /** Calls running through the breaker now. */
  readonly inflight: number;
  readonly consecutiveOpens: number;
  /** Probes admitted and their verdicts so far, while half-open. */
  readonly halfOpen:
    | { readonly probes: number; readonly successes: number; readonly failures: number }
    | undefined;
  /**
   * Calls, failures and slow calls recorded while closed, since creation: they only grow, so a poller
   * can take differences (fleet aggregation reads these instead of listening to every call).
   */
  readonly recorded: { readonly calls: number; readonly failures: number; readonly slowCalls: number };
}

/** Serialisable state for warm restarts (`toJSON()` / `restore()`). Times are durations, never clock values. */
export interface CircuitBreakerState {
  readonly version: 1;
  readonly state: 'closed' | 'open';
  /** Remaining break when open, ms. */
  readonly openForMs: number;
  readonly consecutiveOpens: number;
  readonly lastBreakMs: number;
  readonly window: WindowExport;
}

/** A permit from `tryAcquire()`: report exactly one outcome (further reports are ignored). */
export interface CircuitPermit {
  /** The call returned `result` (judged by `handleResult` when configured). */
  success(result?: unknown): void;
  failure(error: unknown): void;
  /** The call ended without saying anything about the downstream (cancelled): nothing is recorded. */
  release(): void;
}

export interface CircuitBreakerPolicy<R = unknown> extends Policy<R>, Observable {
  readonly kind: 'circuitBreaker';
  readonly name: string;
  readonly options: ResolvedCircuitBreakerOptions;
  readonly state: CircuitStateName;
  /** Running totals recorded while closed (see `CircuitSnapshot.recorded`); reading them has no side effect. */
  readonly recorded: CircuitSnapshot['recorded'];
  snapshot(): CircuitSnapshot;
  /** Opens now, for `durationMs` or the next break of the backoff. Ignored while isolated. */
  open(durationMs?: number): void;
  /** Closes now (clears the window and the break backoff). Ignored while isolated. */
  close(): void;
  /** Back to a fresh closed circuit: window, backoff and every isolation handle cleared. */
  reset(): void;
  /** Forces the circuit open until every returned disposer has been called. */
  isolate(): Disposer;
  /** Lets every call through and records nothing, until close(). */
  disable(): void;
  /** Records and reports as usual but never opens, until close(). */
  metricsOnly(): void;
  /** For integrations without a promise to wrap: a permit, or the rejection. */
  tryAcquire(): CircuitPermit | BrokenCircuitError;
  toJSON(): CircuitBreakerState;
  /** Loads what toJSON() produced (from a breaker with the same window). */
  restore(state: CircuitBreakerState): void;
  /** Every event of the breaker: calls, rejections, state changes. */
  readonly onEvent: Subscribe<CircuitBreakerEvent>;
  /** Views of the same stream. */
  readonly onStateChange: Subscribe<PolicyStateEvent>;
  readonly onOpen: Subscribe<PolicyStateEvent>;
  readonly onHalfOpen: Subscribe<PolicyStateEvent>;
  readonly onClose: Subscribe<PolicyStateEvent>;
  readonly onReject: Subscribe<PolicyRejectEvent>;
  /** Calls the breaker judged (reported only while someone listens, like every duration). */
  readonly onSuccess: Subscribe<PolicyCallEvent>;
  readonly onFailure: Subscribe<PolicyCallEvent>;
  readonly onSlowCall: Subscribe<PolicyCallEvent>;
}
