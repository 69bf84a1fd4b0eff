import type { CircuitStateName } from '../core/errors.js';
import type { Failure } from '../core/failure.js';

// One typed event stream per policy: every event a policy reports is one of these, built once and
// delivered to `onEvent`, to the policy's typed views of it (`onOpen`, `onRetry`, ...), to the
// diagnostics channel `breakwater:<kind>:<type>` and to the exporters. One payload per event, so the
// views cannot drift from each other.

/** The kind of policy an event or snapshot comes from: the name of the factory that built it. */
export type PolicyKind =
  | 'timeout'
  | 'adaptiveTimeout'
  | 'retry'
  | 'fallback'
  | 'circuitBreaker'
  | 'bulkhead'
  | 'rateLimiter'
  | 'redisRateLimiter'
  | 'adaptiveThrottle'
  | 'hedge'
  | 'coalesce'
  | 'batch'
  | 'injectError'
  | 'injectLatency'
  | 'injectResult'
  | 'injectBehavior'
  | 'slo';

interface EventBase {
  /** Name of the policy (its `name` option). */
  readonly policy: string;
  readonly kind: PolicyKind;
}

/** One execution through the policy ended. */
export interface PolicyCallEvent extends EventBase {
  readonly type: 'call';
  /**
   * What the caller of this policy got: `success` (a value), `failure` (an error or a failed result), or
   * `ignored` when the call was called off (the caller aborted, a hedge lost).
   */
  readonly outcome: 'success' | 'failure' | 'ignored';
  /**
   * How the policy classified the outcome, for policies that classify (circuit breaker, retry, hedge,
   * adaptive throttle, slo): `failure` matched its `handle`/`handleResult`, `ignored` matched `ignore`
   * or was called off, `success` is anything else, an error it does not handle included.
   */
  readonly verdict?: 'success' | 'failure' | 'ignored';
  /** From entering the policy to the outcome, ms. */
  readonly durationMs: number;
  /** What the call failed with (circuit breaker: failures and slow failures). */
  readonly failure?: Failure | undefined;
  /** Slower than `slowCallDurationMs` (circuit breaker). */
  readonly slow?: boolean;
  /** The partition of the call (bulkhead). */
  readonly partition?: string;
}

/** The policy refused a call without running it. */
export interface PolicyRejectEvent extends EventBase {
  readonly type: 'reject';
  /**
   * Why: the circuit's state (`open`, `half-open`, `isolated`), `full` or `wait-timeout` (bulkhead),
   * `rate-limited` (rate limiters), `throttled` (adaptive throttle).
   */
  readonly reason: string;
  readonly retryAfterMs: number | undefined;
  /** The partition of the call (bulkhead). */
  readonly partition?: string;
  /** The call's key (rate limiters; undefined when unkeyed). High cardinality: never a metric label. */
  readonly key?: string | undefined;
  /** Who refused (Redis rate limiter): Redis, the local share, or `fail-closed`. */
  readonly source?: 'redis' | 'local-share' | 'fail-closed';
  /** The local rejection probability (adaptive throttle). */
  readonly probability?: number;
}

/** A circuit breaker changed state. */
export interface PolicyStateEvent extends EventBase {
  readonly type: 'state';
  readonly from: CircuitStateName;
  readonly to: CircuitStateName;
  readonly reason: string;
  /** Clock time of the transition. */
  readonly at: number;
  /** Length of the break, when `to` is 'open'. */
  readonly breakMs: number | undefined;
  /** The window just before the transition (which clears it). */
  readonly calls: number;
  readonly failureRate: number;
  readonly slowCallRate: number;
  /** The failure that made the circuit open, when `to` is 'open' (else undefined). */
  readonly lastFailure: unknown;
}

/** A retry is about to wait `delayMs` after attempt `attempt` failed. */
export interface PolicyRetryEvent extends EventBase {
  readonly type: 'retry';
  readonly attempt: number;
  readonly delayMs: number;
  readonly failure: Failure;
}

/** A retry policy stopped retrying while the outcome was still a failure. */
export interface PolicyGiveUpEvent extends EventBase {
  readonly type: 'give-up';
  readonly attempts: number;
  readonly reason: string;
  readonly failure: Failure;
}

/** A deadline passed. */
export interface PolicyTimeoutEvent extends EventBase {
  readonly type: 'timeout';
  readonly timeoutMs: number;
}

/** A queued call got its slot (bulkhead) or its permit (rate limiter) after waiting `waitedMs`. */
export interface PolicyQueueWaitEvent extends EventBase {
  readonly type: 'queue-wait';
  readonly waitedMs: number;
  /** The partition of the call (bulkhead). */
  readonly partition?: string;
}

/** A fallback replaced a failure. */
export interface PolicyFallbackEvent extends EventBase {
  readonly type: 'fallback';
  readonly failure: Failure;
}

/** An adaptive limit moved. */
export interface PolicyLimitEvent extends EventBase {
  readonly type: 'limit';
  readonly limit: number;
}

/** A keyed call found a cached result (`hit`), did not (`miss`), or joined one already in flight (`coalesced`). */
export interface PolicyCacheEvent extends EventBase {
  readonly type: 'hit' | 'miss' | 'coalesced';
  /** The call's key. High cardinality: never use it as a metric label. */
  readonly key: string;
}

/** A batch of `size` calls was sent as one. */
export interface PolicyBatchEvent extends EventBase {
  readonly type: 'batch';
  readonly size: number;
}

/** A hedged attempt was started (`attempt` 2 is the first hedge). */
export interface PolicyHedgeEvent extends EventBase {
  readonly type: 'hedge';
  readonly attempt: number;
  /** The delay passed, or the previous attempt failed. */
  readonly trigger: 'delay' | 'failure';
}

/** A fault was injected. */
export interface PolicyFaultEvent extends EventBase {
  readonly type: 'fault';
  readonly fault: 'error' | 'latency' | 'result' | 'custom';
}

/** A service-level objective's burn-rate alert started or ended. */
export interface PolicySloEvent extends EventBase {
  readonly type: 'slo';
  readonly objective: 'availability' | 'latency';
  /** The alert's rule, e.g. `1h/5m` for the long and short windows. */
  readonly rule: string;
  readonly severity: 'page' | 'ticket';
  readonly state: 'start' | 'end';
  /** Burn rates over the rule's long and short windows. */
  readonly longBurnRate: number;
  readonly shortBurnRate: number;
}

/** Every event a policy reports through `onEvent` and diagnostics channels. */
export type PolicyEvent =
  | PolicyCallEvent
  | PolicyRejectEvent
  | PolicyStateEvent
  | PolicyRetryEvent
  | PolicyGiveUpEvent
  | PolicyTimeoutEvent
  | PolicyQueueWaitEvent
  | PolicyFallbackEvent
  | PolicyLimitEvent
  | PolicyCacheEvent
  | PolicyBatchEvent
  | PolicyHedgeEvent
  | PolicyFaultEvent
  | PolicySloEvent;

export type PolicyEventType = PolicyEvent['type'];

/** The event of a type. */
export type EventOf<T extends PolicyEventType> = Extract<PolicyEvent, { readonly type: T }>;

// Each policy's own stream: the events it can report.
export type CircuitBreakerEvent = PolicyCallEvent | PolicyRejectEvent | PolicyStateEvent;
export type BulkheadEvent = PolicyCallEvent | PolicyRejectEvent | PolicyQueueWaitEvent | PolicyLimitEvent;
export type TimeoutEvent = PolicyCallEvent | PolicyTimeoutEvent;
export type RetryEvent = PolicyCallEvent | PolicyRetryEvent | PolicyGiveUpEvent;
export type FallbackEvent = PolicyCallEvent | PolicyFallbackEvent;
export type RateLimiterEvent = PolicyCallEvent | PolicyRejectEvent | PolicyQueueWaitEvent;
export type AdaptiveThrottleEvent = PolicyCallEvent | PolicyRejectEvent;
export type HedgeEvent = PolicyCallEvent | PolicyHedgeEvent;
export type CoalesceEvent = PolicyCallEvent | PolicyCacheEvent;
export type BatchEvent = PolicyCallEvent | PolicyBatchEvent;
export type FaultEvent = PolicyFaultEvent;
export type SloEvent = PolicyCallEvent | PolicySloEvent;
