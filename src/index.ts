export type { BatchOptions, BatchPolicy, BatchResult, BatchSnapshot } from './batch/index.js';
export { batch } from './batch/index.js';
export type {
  BulkheadOptions,
  BulkheadPolicy,
  BulkheadSnapshot,
  PartitionSnapshot,
} from './bulkhead/index.js';
export { bulkhead } from './bulkhead/index.js';
export type {
  FaultKind,
  FaultOptions,
  FaultPolicy,
  FaultSnapshot,
} from './chaos/index.js';
export { injectBehavior, injectError, injectLatency, injectResult } from './chaos/index.js';
export type {
  CircuitBreakerOptions,
  CircuitBreakerPolicy,
  CircuitBreakerState,
  CircuitPermit,
  CircuitSnapshot,
  HalfOpenOptions,
  Transition,
  TransitionReason,
  WindowExport,
  WindowOptions,
} from './circuit-breaker/index.js';
export { circuitBreaker } from './circuit-breaker/index.js';
export type {
  CoalesceCacheOptions,
  CoalesceOptions,
  CoalescePolicy,
  CoalesceSnapshot,
} from './coalesce/index.js';
export { coalesce } from './coalesce/index.js';
export type { ClassifyOptions, ErrorClass, ErrorMatcher } from './core/classify.js';
export type { Clock, RandomSource, TimerHandle } from './core/clock.js';
export { systemClock } from './core/clock.js';
export type { CommonOptions } from './core/common-options.js';
export type { Context, ExecuteOptions, Scope, Task } from './core/context.js';
export type { BulkheadRejectReason, CircuitStateName, ErrorOptions, ErrorRow } from './core/errors.js';
export {
  BreakwaterError,
  BrokenCircuitError,
  BulkheadRejectedError,
  BW_ERR,
  BW_ERR_BULKHEAD_REJECTED,
  BW_ERR_CIRCUIT_ISOLATED,
  BW_ERR_CIRCUIT_OPEN,
  BW_ERR_INVALID_OPTION,
  BW_ERR_RATE_LIMITED,
  BW_ERR_REJECTED,
  BW_ERR_THROTTLED,
  BW_ERR_TIMEOUT,
  ERRORS,
  IsolatedCircuitError,
  isUnknownOutcome,
  RateLimitedError,
  RejectedError,
  ThrottledError,
  TimeoutError,
} from './core/errors.js';
export type { Disposer, Listener, Subscribe } from './core/events.js';
export type { Failure } from './core/failure.js';
export { FakeClock } from './core/fake-clock.js';
export type { InvalidOptionError } from './core/options.js';
export type { Outcome } from './core/outcome.js';
export { Fail } from './core/outcome.js';
export type { Policy } from './core/policy.js';
export { definePolicy, isPolicy, stagesOf } from './core/policy.js';
export { seededRandom } from './core/random.js';
export type { CallbackErrorEvent } from './core/report.js';
export { CALLBACK_ERROR_CHANNEL } from './core/report.js';
export type { Gate, Result, Runner, ScopeGate, Stage, Wrapper } from './core/stage.js';
export { Recovery } from './core/stage.js';
export type {
  FallbackFn,
  FallbackOptions,
  FallbackPolicy,
  FallbackSnapshot,
} from './fallback/index.js';
export { fallback } from './fallback/index.js';
export type { HedgeOptions, HedgePolicy, HedgeSnapshot } from './hedging/index.js';
export { hedge } from './hedging/index.js';
export type { AimdLimit } from './limit/aimd.js';
export { aimdLimit } from './limit/aimd.js';
export type { Gradient2Limit } from './limit/gradient2.js';
export { gradient2Limit } from './limit/gradient2.js';
export type {
  AimdLimitOptions,
  Gradient2LimitOptions,
  LimitBoundsOptions,
  PerLimit,
  VegasLimitOptions,
} from './limit/options.js';
export type { ConcurrencyLimit, LimitSample } from './limit/types.js';
export type { VegasLimit } from './limit/vegas.js';
export { vegasLimit } from './limit/vegas.js';
export type {
  AdaptiveThrottleEvent,
  BatchEvent,
  BulkheadEvent,
  CircuitBreakerEvent,
  CoalesceEvent,
  EventOf,
  FallbackEvent,
  FaultEvent,
  HedgeEvent,
  PolicyBatchEvent,
  PolicyCacheEvent,
  PolicyCallEvent,
  PolicyEvent,
  PolicyEventType,
  PolicyFallbackEvent,
  PolicyFaultEvent,
  PolicyGiveUpEvent,
  PolicyHedgeEvent,
  PolicyKind,
  PolicyLimitEvent,
  PolicyQueueWaitEvent,
  PolicyRejectEvent,
  PolicyRetryEvent,
  PolicySloEvent,
  PolicyStateEvent,
  PolicyTimeoutEvent,
  RateLimiterEvent,
  RetryEvent,
  SloEvent,
  TimeoutEvent,
} from './metrics/events.js';
export type { Observable, ObservableGroup, SnapshotBase } from './metrics/observable.js';
export type { PolicyRegistry, Registrable } from './metrics/registry.js';
export { policyRegistry } from './metrics/registry.js';
export type { Pipeline, PipelineAccepts, PipelineAdds } from './pipeline.js';
export { pipeline } from './pipeline.js';
export type {
  KeyedRateLimitOptions,
  RateLimitAlgorithm,
  RateLimiterOptions,
  RateLimiterPolicy,
  RateLimiterSnapshot,
  RateLimitPermit,
} from './rate-limit/index.js';
export { rateLimiter } from './rate-limit/index.js';
export type {
  Backoff,
  ExponentialOptions,
  GiveUpReason,
  Jitter,
  RatioBudgetOptions,
  RetryBudget,
  RetryBudgetSnapshot,
  RetryDelayInfo,
  RetryOptions,
  RetryPolicy,
  RetrySnapshot,
  TokenBudgetOptions,
} from './retry/index.js';
export { constant, custom, exponential, linear, retry, retryBudget, tokenBudget } from './retry/index.js';
export type {
  AlertState,
  BurnRateAlert,
  ObjectiveState,
  SloOptions,
  SloPolicy,
  SloSnapshot,
} from './slo/index.js';
export { DEFAULT_ALERTS, slo } from './slo/index.js';
export type {
  AdaptiveThrottleOptions,
  AdaptiveThrottlePolicy,
  AdaptiveThrottleSnapshot,
  ThrottlePermit,
} from './throttle/index.js';
export { adaptiveThrottle } from './throttle/index.js';
export type {
  AdaptiveTimeoutOptions,
  ResolvedAdaptiveTimeoutOptions,
  TimeoutOptions,
  TimeoutPolicy,
  TimeoutSnapshot,
  TimeoutStrategy,
} from './timeout/index.js';
export { adaptiveTimeout, timeout } from './timeout/index.js';
