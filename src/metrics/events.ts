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
  | 'chaos';

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
  | PolicyLimitEvent;

export type PolicyEventType = PolicyEvent['type'];
