/** The kind of policy an event or snapshot comes from (also the middle of its diagnostics channel names). */
export type PolicyKind =
  | 'timeout'
  | 'retry'
  | 'fallback'
  | 'circuit-breaker'
  | 'bulkhead'
  | 'rate-limiter'
  | 'throttle'
  | 'hedging'
  | 'coalesce'
  | 'cache'
  | 'batch'
  | 'chaos'
  | 'slo';

interface EventBase {
  /** Name of the policy (its `name` option). */
  readonly policy: string;
  readonly kind: PolicyKind;
}

/** One execution through the policy ended. */
export interface PolicyCallEvent extends EventBase {
  readonly type: 'call';
  /** As the policy judged it; `ignored` covers caller aborts and outcomes classified as neither. */
  readonly outcome: 'success' | 'failure' | 'ignored';
  /** From entering the policy to the outcome, ms. */
  readonly durationMs: number;
}

/** The policy refused a call without running it. */
export interface PolicyRejectEvent extends EventBase {
  readonly type: 'reject';
  /** `open`, `half-open`, `isolated` (breaker); `full`, `wait-timeout` (bulkhead); `rate-limited`, ... */
  readonly reason: string;
  readonly retryAfterMs: number | undefined;
}

/** A circuit breaker changed state. */
export interface PolicyStateEvent extends EventBase {
  readonly type: 'state';
  readonly from: string;
  readonly to: string;
  readonly reason: string;
}

/** A retry is about to wait `delayMs` after attempt `attempt` failed. */
export interface PolicyRetryEvent extends EventBase {
  readonly type: 'retry';
  readonly attempt: number;
  readonly delayMs: number;
}

/** A retry policy stopped retrying while the outcome was still a failure. */
export interface PolicyGiveUpEvent extends EventBase {
  readonly type: 'give-up';
  readonly attempts: number;
  readonly reason: string;
}

/** A deadline passed. */
export interface PolicyTimeoutEvent extends EventBase {
  readonly type: 'timeout';
  readonly timeoutMs: number;
}

/** A queued call got its slot after waiting `waitedMs`. */
export interface PolicyQueueWaitEvent extends EventBase {
  readonly type: 'queue-wait';
  readonly waitedMs: number;
}

/** A fallback replaced a failure. */
export interface PolicyFallbackEvent extends EventBase {
  readonly type: 'fallback';
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
}

/** A fault was injected. */
export interface PolicyFaultEvent extends EventBase {
  readonly type: 'fault';
  readonly fault: 'error' | 'latency' | 'result' | 'custom';
}

/** A service-level objective's burn-rate alert started or ended. */
export interface PolicySloEvent extends EventBase {
  readonly type: 'slo';
  readonly objective: string;
  readonly alert: 'start' | 'end';
  /** The alert's rule, e.g. `1h/5m` for the long and short windows, and its burn-rate threshold. */
  readonly rule: string;
  readonly burnRate: number;
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
