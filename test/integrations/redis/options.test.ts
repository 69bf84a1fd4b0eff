import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { circuitBreaker } from '../../../src/index.js';
import {
  BW_ERR_REDIS_UNAVAILABLE,
  fleetBreaker,
  RedisUnavailableError,
  redisRateLimiter,
  redisRetryBudget,
} from '../../../src/integrations/redis/index.js';

// A client that never connects: construction must validate without touching Redis.
const client = new Redis({ lazyConnect: true });
afterAll(() => client.disconnect());

function invalid(option: string, kind: typeof TypeError | typeof RangeError = TypeError) {
  return expect.objectContaining({ code: 'BW_ERR_INVALID_OPTION', option, constructor: kind });
}

describe('redis options', () => {
  it('rejects a missing or wrong client with a typed error', () => {
    expect(() => redisRateLimiter({ name: 'x', ratePerSecond: 1 } as never)).toThrow(
      invalid('redisRateLimiter.client'),
    );
    expect(() => redisRateLimiter({ client: {} as never, name: 'x', ratePerSecond: 1 })).toThrow(
      invalid('redisRateLimiter.client'),
    );
    expect(() => redisRetryBudget({ name: 'x' } as never)).toThrow(invalid('redisRetryBudget.client'));
    expect(() => fleetBreaker(circuitBreaker(), {} as never)).toThrow(invalid('fleetBreaker.client'));
    expect(() => redisRateLimiter(undefined as never)).toThrow(invalid('redisRateLimiter'));
  });

  it('rejects bad limits with a RangeError naming the option', () => {
    const base = { client, name: 'x' };
    expect(() => redisRateLimiter({ ...base, ratePerSecond: 0 })).toThrow(
      invalid('redisRateLimiter.ratePerSecond', RangeError),
    );
    expect(() => redisRateLimiter({ ...base, ratePerSecond: -5 })).toThrow(
      invalid('redisRateLimiter.ratePerSecond', RangeError),
    );
    expect(() => redisRateLimiter({ ...base, tokens: 1.5 })).toThrow(
      invalid('redisRateLimiter.tokens', RangeError),
    );
    expect(() => redisRateLimiter({ ...base, ratePerSecond: 5, burst: 0 })).toThrow(
      invalid('redisRateLimiter.burst', RangeError),
    );
    expect(() => redisRateLimiter({ ...base, ratePerSecond: 5, replicas: 0 })).toThrow(
      invalid('redisRateLimiter.replicas', RangeError),
    );
    expect(() => redisRateLimiter({ ...base, ratePerSecond: 5, redisTimeoutMs: 0 })).toThrow(
      invalid('redisRateLimiter.redisTimeoutMs', RangeError),
    );
    expect(() => redisRateLimiter({ ...base } as never)).toThrow(invalid('redisRateLimiter.ratePerSecond'));
    expect(() => redisRateLimiter({ ...base, ratePerSecond: 5, degrade: 'open' as never })).toThrow(
      invalid('redisRateLimiter.degrade', RangeError),
    );
    expect(() => redisRetryBudget({ ...base, ratio: -1 })).toThrow(
      invalid('redisRetryBudget.ratio', RangeError),
    );
    expect(() => redisRetryBudget({ ...base, windowMs: 10 })).toThrow(
      invalid('redisRetryBudget.windowMs', RangeError),
    );
  });

  it('requires a name for shared limits and budgets, and no unknown keys', () => {
    expect(() => redisRateLimiter({ client, ratePerSecond: 1 } as never)).toThrow(
      invalid('redisRateLimiter.name'),
    );
    expect(() => redisRetryBudget({ client } as never)).toThrow(invalid('redisRetryBudget.name'));
    expect(() => redisRateLimiter({ client, name: 'x', ratePerSecond: 1, rate: 2 } as never)).toThrow(
      invalid('redisRateLimiter.rate'),
    );
    expect(() => redisRateLimiter({ client, name: 'x', ratePerSecond: 1, replicaId: 'a|b' })).toThrow(
      invalid('redisRateLimiter.replicaId'),
    );
  });

  it('validates the fleet breaker: a breaker, a separate subscriber, sane intervals', () => {
    const breaker = circuitBreaker({ name: 'users' });
    expect(() => fleetBreaker({} as never, { client })).toThrow(invalid('fleetBreaker(breaker)'));
    expect(() => fleetBreaker(breaker, { client, subscriber: client })).toThrow(
      invalid('fleetBreaker.subscriber'),
    );
    expect(() => fleetBreaker(breaker, { client, subscriber: {} as never })).toThrow(
      invalid('fleetBreaker.subscriber'),
    );
    expect(() => fleetBreaker(breaker, { client, syncIntervalMs: 1 })).toThrow(
      invalid('fleetBreaker.syncIntervalMs', RangeError),
    );
    expect(() => fleetBreaker(breaker, { client, aggregate: { failureRateThreshold: 2 } })).toThrow(
      invalid('fleetBreaker.aggregate.failureRateThreshold', RangeError),
    );
    expect(() => fleetBreaker(breaker, { client, aggregate: { windowMs: 1_000, buckets: 1_000 } })).toThrow(
      invalid('fleetBreaker.aggregate.buckets', RangeError),
    );
    expect(() => fleetBreaker(breaker, { client, aggregate: 'yes' as never })).toThrow(
      invalid('fleetBreaker.aggregate'),
    );
    expect(() => fleetBreaker(breaker, { client, redisBreaker: 5 as never })).toThrow(
      invalid('fleetBreaker.redisBreaker'),
    );
  });

  it('brands its error class', () => {
    const error = new RedisUnavailableError('reconnecting');
    expect(error).toBeInstanceOf(RedisUnavailableError);
    expect(error.code).toBe(BW_ERR_REDIS_UNAVAILABLE);
    expect(error.name).toBe('RedisUnavailableError');
    expect(new Error('x')).not.toBeInstanceOf(RedisUnavailableError);
  });
});
