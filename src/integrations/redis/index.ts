// breakwater/redis: fleet-wide rate limits, circuit state and retry budgets shared through Redis.
// Optional peer: ioredis 5 (types only; the user passes their own clients). See docs/distributed.md.

export { BW_ERR_REDIS_UNAVAILABLE, RedisUnavailableError } from './errors.js';
export type {
  FleetApplyEvent,
  FleetBreaker,
  FleetBreakerSnapshot,
  FleetState,
  FleetTripEvent,
} from './fleet-breaker.js';
export { fleetBreaker } from './fleet-breaker.js';
export type { RedisCallStats, RedisErrorEvent, RedisOperation } from './guard.js';
export type {
  DegradeMode,
  FleetAggregateOptions,
  FleetBreakerOptions,
  RedisCallOptions,
  RedisClient,
  RedisRateLimiterOptions,
  RedisRetryBudgetOptions,
  RedisSubscriber,
  ResolvedFleetBreakerOptions,
  ResolvedRedisRateLimiterOptions,
  ResolvedRedisRetryBudgetOptions,
} from './options.js';
export type {
  PermitSource,
  RedisRateLimiterPolicy,
  RedisRateLimiterSnapshot,
  RedisRateLimitPermit,
} from './rate-limiter.js';
export { redisRateLimiter } from './rate-limiter.js';
export type { RedisRetryBudget, RedisRetryBudgetSnapshot } from './retry-budget.js';
export { redisRetryBudget } from './retry-budget.js';
