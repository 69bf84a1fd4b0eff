import { randomUUID } from 'node:crypto';
import type { Cluster, Redis } from 'ioredis';
import {
  type CircuitBreakerOptions,
  type CircuitBreakerPolicy,
  circuitBreaker,
} from '../../circuit-breaker/index.js';
import type { Clock } from '../../extend.js';
import {
  boolean,
  checkKeys,
  invalid,
  MAX_TIMER_MS,
  number,
  oneOf,
  resolveClock,
  string,
} from '../../extend.js';
import { MAX_RATE, resolveKeyed, resolveRate } from '../../rate-limit/index.js';

/**
 * An ioredis client (`Redis` or `Cluster`) that runs the commands. breakwater never connects, quits or
 * disconnects it: its life is the application's.
 */
export type RedisClient = Redis | Cluster;

/**
 * A second ioredis connection for pub/sub, e.g. `client.duplicate()`: a connection in subscriber mode
 * can run no other command. breakwater subscribes to its channel and unsubscribes on close(), nothing more.
 */
export type RedisSubscriber = Redis | Cluster;

/** What breakwater calls on a command client (both ioredis classes fit). */
export interface RedisClientLike {
  readonly status: string;
  evalsha(sha: string, numKeys: number, ...args: (string | number)[]): Promise<unknown>;
  eval(script: string, numKeys: number, ...args: (string | number)[]): Promise<unknown>;
}

/** What breakwater calls on a subscriber connection. */
export interface RedisSubscriberLike {
  readonly status: string;
  subscribe(channel: string): Promise<unknown>;
  unsubscribe(channel: string): Promise<unknown>;
  on(event: 'message', listener: (channel: string, message: string) => void): unknown;
  off(event: 'message', listener: (channel: string, message: string) => void): unknown;
}

/** Options every Redis-backed component takes. */
export interface RedisCallOptions {
  /** The ioredis client that runs the commands (required). */
  client: RedisClient;
  /** Prefix of every key and channel. Default `'breakwater:'`. */
  prefix?: string;
  /**
   * Budget of each Redis call, ms: past it the call is given up (TimeoutError, seen by `onRedisError`)
   * and the component decides locally. Default 100.
   */
  redisTimeoutMs?: number;
  /**
   * The breaker in front of Redis calls: a `CircuitBreakerPolicy` (pass one to several components so they
   * share what they learn about Redis) or options for a new one. Default: opens after 3 consecutive
   * failed or timed-out calls, for 1 s.
   */
  redisBreaker?: CircuitBreakerPolicy | CircuitBreakerOptions;
  /** This replica's id in messages and presence sets (no `|`). Default: a random UUID. */
  replicaId?: string;
  /** Time source for local windows, leases and timers. Default `systemClock`. */
  clock?: Clock;
}

export interface ResolvedRedisCallOptions {
  readonly client: RedisClientLike;
  readonly prefix: string;
  readonly redisTimeoutMs: number;
  readonly redisBreaker: CircuitBreakerPolicy;
  readonly replicaId: string;
  readonly clock: Clock;
}

export const REDIS_CALL_KEYS = ['client', 'prefix', 'redisTimeoutMs', 'redisBreaker', 'replicaId', 'clock'];

function isClient(value: unknown): boolean {
  const c = value as Partial<RedisClientLike> | null;
  return (
    typeof c === 'object' && c !== null && typeof c.evalsha === 'function' && typeof c.eval === 'function'
  );
}

export function isBreaker(value: unknown): value is CircuitBreakerPolicy {
  const b = value as Partial<CircuitBreakerPolicy> | null;
  return (
    typeof b === 'object' &&
    b !== null &&
    b.kind === 'circuitBreaker' &&
    typeof b.tryAcquire === 'function' &&
    typeof b.onStateChange === 'function'
  );
}

export function resolveRedisCallOptions(
  path: string,
  options: RedisCallOptions,
  name: string,
): ResolvedRedisCallOptions {
  if (!isClient(options.client)) {
    invalid(`${path}.client`, 'an ioredis client (new Redis(...) or new Cluster(...))', options.client);
  }
  const prefix = options.prefix === '' ? '' : string(`${path}.prefix`, options.prefix, 'breakwater:');
  const replicaId = string(`${path}.replicaId`, options.replicaId, randomUUID());
  if (replicaId.includes('|')) invalid(`${path}.replicaId`, 'a string without "|"', replicaId);
  const clock = resolveClock(path, options.clock);
  const redisTimeoutMs = number(`${path}.redisTimeoutMs`, options.redisTimeoutMs, 100, {
    min: 0,
    max: MAX_TIMER_MS,
    exclusiveMin: true,
  });
  let redisBreaker: CircuitBreakerPolicy;
  const given = options.redisBreaker;
  if (given === undefined) {
    redisBreaker = circuitBreaker({
      name: `${name}:redis`,
      window: { kind: 'consecutive', failures: 3 },
      breakDurationMs: 1_000,
      clock,
    });
  } else if (isBreaker(given)) {
    redisBreaker = given;
  } else if (typeof given === 'object' && given !== null && !Array.isArray(given)) {
    redisBreaker = circuitBreaker({
      name: `${name}:redis`,
      window: { kind: 'consecutive', failures: 3 },
      breakDurationMs: 1_000,
      clock,
      ...(given as CircuitBreakerOptions),
    });
  } else {
    invalid(`${path}.redisBreaker`, 'a CircuitBreakerPolicy or circuit breaker options', given);
  }
  return {
    client: options.client as unknown as RedisClientLike,
    prefix,
    redisTimeoutMs,
    redisBreaker,
    replicaId,
    clock,
  };
}

export function requireOptions(path: string, options: unknown): void {
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    invalid(path, 'an options object with at least { client }', options);
  }
}

// --- Rate limiter ---------------------------------------------------------------------------------

export type DegradeMode = 'local-share' | 'fail-open' | 'fail-closed';

export interface RedisRateLimiterOptions extends RedisCallOptions {
  /**
   * Names the shared limit (required): every replica using this name draws from one limit, and two
   * limits must not share a name. Part of the Redis key.
   */
  name: string;
  /** Fleet-wide permits per second. Give this, or `tokens` per `intervalMs`. */
  ratePerSecond?: number;
  /** Fleet-wide permits per `intervalMs` (spread evenly, not all at the interval's start). */
  tokens?: number;
  /** The interval of `tokens`, ms. Default 1 000. */
  intervalMs?: number;
  /** Calls that may pass at once after a quiet period, fleet-wide. Default: one interval's permits (>= 1). */
  burst?: number;
  /** A separate limit per `execute(fn, { key })` key. `true` or `{ maxKeys }` (bounds the local share). */
  keyed?: boolean | { maxKeys?: number };
  /**
   * What to do while Redis cannot answer (its breaker is open, or the call failed or timed out):
   * `'local-share'` (default) admits against a local limiter sized at this replica's share of the
   * limit (rate and burst divided by the replica count); `'fail-open'` admits every call;
   * `'fail-closed'` rejects every call.
   */
  degrade?: DegradeMode;
  /** Replicas assumed for the local share until one is counted (see `discoverReplicas`). Default 1. */
  replicas?: number;
  /**
   * Count live replicas with a heartbeat into a sorted set (every `heartbeatMs`), so the local share
   * follows the fleet's size. Default true with `'local-share'`.
   */
  discoverReplicas?: boolean;
  /** Heartbeat period, ms; a replica unheard of for 3 periods is no longer counted. Default 5 000. */
  heartbeatMs?: number;
}

export interface ResolvedRedisRateLimiterOptions extends ResolvedRedisCallOptions {
  readonly name: string;
  readonly ratePerSecond: number;
  /** Spacing of permits at the sustained rate, ms. */
  readonly permitIntervalMs: number;
  readonly burst: number;
  /** GCRA tolerance: (burst - 1) x permitIntervalMs. */
  readonly toleranceMs: number;
  readonly keyed: boolean;
  readonly maxKeys: number;
  readonly degrade: DegradeMode;
  readonly replicas: number;
  readonly discoverReplicas: boolean;
  readonly heartbeatMs: number;
}

export function resolveRedisRateLimiterOptions(
  options: RedisRateLimiterOptions,
): ResolvedRedisRateLimiterOptions {
  const path = 'redisRateLimiter';
  requireOptions(path, options);
  checkKeys(path, options, [
    ...REDIS_CALL_KEYS,
    'name',
    'ratePerSecond',
    'tokens',
    'intervalMs',
    'burst',
    'keyed',
    'degrade',
    'replicas',
    'discoverReplicas',
    'heartbeatMs',
  ]);
  if (options.name === undefined) invalid(`${path}.name`, 'a name for the shared limit', undefined);
  const name = string(`${path}.name`, options.name, '');
  const { ratePerSecond, perInterval } = resolveRate(path, options);
  const burst = number(`${path}.burst`, options.burst, Math.max(1, Math.floor(perInterval)), {
    min: 1,
    max: MAX_RATE,
    integer: true,
  });
  const { keyed, maxKeys } = resolveKeyed(path, options.keyed);
  const degrade = oneOf(`${path}.degrade`, options.degrade, 'local-share', [
    'local-share',
    'fail-open',
    'fail-closed',
  ] as const);
  const permitIntervalMs = 1_000 / ratePerSecond;
  return Object.freeze({
    ...resolveRedisCallOptions(path, options, name),
    name,
    ratePerSecond,
    permitIntervalMs,
    burst,
    toleranceMs: (burst - 1) * permitIntervalMs,
    keyed,
    maxKeys,
    degrade,
    replicas: number(`${path}.replicas`, options.replicas, 1, { min: 1, max: 1_000_000, integer: true }),
    discoverReplicas: boolean(
      `${path}.discoverReplicas`,
      options.discoverReplicas,
      degrade === 'local-share',
    ),
    heartbeatMs: number(`${path}.heartbeatMs`, options.heartbeatMs, 5_000, { min: 10, max: MAX_TIMER_MS }),
  });
}

// --- Fleet breaker --------------------------------------------------------------------------------

export interface FleetAggregateOptions {
  /** Window of the fleet's counts, ms. Default: the breaker's time window, else 10 000. */
  windowMs?: number;
  /** Buckets of that window (Redis time). Default 10. */
  buckets?: number;
  /** Fleet failure rate in (0, 1] that opens every replica. Default: the breaker's `failureRateThreshold`. */
  failureRateThreshold?: number;
  /** Calls the fleet's window needs before its rate is judged. Default: the breaker's `minimumCalls`. */
  minimumCalls?: number;
}

export interface FleetBreakerOptions extends RedisCallOptions {
  /**
   * The pub/sub connection (e.g. `client.duplicate()`), not `client` itself. Without one, replicas
   * learn transitions only by polling the stored state every `syncIntervalMs`.
   */
  subscriber?: RedisSubscriber;
  /** Names the shared circuit (keys and default channel). Default: the breaker's name. */
  name?: string;
  /** Pub/sub channel. Default `<prefix>cb:<name>`. */
  channel?: string;
  /**
   * Period of the background sync, ms: reads the stored state (catching up on missed messages),
   * retries an unpublished transition, renews an isolation lease, flushes and reads fleet counts.
   * Default 1 000.
   */
  syncIntervalMs?: number;
  /**
   * An isolation is published as a lease of this length, renewed while it lasts: replicas release a
   * remote isolation whose origin stopped renewing it (crashed). At least 3 x `syncIntervalMs`.
   * Default 30 000 (or 3 x `syncIntervalMs` when longer).
   */
  isolationLeaseMs?: number;
  /** Expiry of the stored state when nothing is published, ms. Default 86 400 000 (a day). */
  stateTtlMs?: number;
  /** Aggregate failure counts across replicas and open on the fleet's failure rate. Default false. */
  aggregate?: boolean | FleetAggregateOptions;
}

export interface ResolvedFleetBreakerOptions extends ResolvedRedisCallOptions {
  readonly subscriber: RedisSubscriberLike | undefined;
  readonly name: string;
  readonly channel: string;
  readonly syncIntervalMs: number;
  readonly isolationLeaseMs: number;
  readonly stateTtlMs: number;
  readonly aggregate:
    | {
        readonly windowMs: number;
        readonly buckets: number;
        readonly bucketMs: number;
        readonly failureRateThreshold: number;
        readonly minimumCalls: number;
      }
    | undefined;
}

function isSubscriber(value: unknown): boolean {
  const s = value as Partial<RedisSubscriberLike> | null;
  return (
    typeof s === 'object' &&
    s !== null &&
    typeof s.subscribe === 'function' &&
    typeof s.unsubscribe === 'function' &&
    typeof s.on === 'function' &&
    typeof s.off === 'function'
  );
}

export function resolveFleetBreakerOptions(
  breaker: CircuitBreakerPolicy,
  options: FleetBreakerOptions,
): ResolvedFleetBreakerOptions {
  const path = 'fleetBreaker';
  if (!isBreaker(breaker)) invalid(`${path}(breaker)`, 'a circuit breaker (circuitBreaker())', breaker);
  requireOptions(path, options);
  checkKeys(path, options, [
    ...REDIS_CALL_KEYS,
    'subscriber',
    'name',
    'channel',
    'syncIntervalMs',
    'isolationLeaseMs',
    'stateTtlMs',
    'aggregate',
  ]);
  const name = string(`${path}.name`, options.name, breaker.name);
  const base = resolveRedisCallOptions(path, options, name);
  let subscriber: RedisSubscriberLike | undefined;
  if (options.subscriber !== undefined) {
    if (!isSubscriber(options.subscriber)) {
      invalid(
        `${path}.subscriber`,
        'an ioredis connection for pub/sub (client.duplicate())',
        options.subscriber,
      );
    }
    if ((options.subscriber as unknown) === (options.client as unknown)) {
      invalid(
        `${path}.subscriber`,
        'a second connection (client.duplicate()): a subscribed connection runs no other command',
        'the client itself',
      );
    }
    subscriber = options.subscriber as unknown as RedisSubscriberLike;
  }
  const channel = string(`${path}.channel`, options.channel, `${base.prefix}cb:${name}`);
  const syncIntervalMs = number(`${path}.syncIntervalMs`, options.syncIntervalMs, 1_000, {
    min: 10,
    max: MAX_TIMER_MS,
  });
  let aggregate: ResolvedFleetBreakerOptions['aggregate'];
  const agg = options.aggregate;
  if (agg === true || (typeof agg === 'object' && agg !== null)) {
    const a: FleetAggregateOptions = agg === true ? {} : agg;
    checkKeys(`${path}.aggregate`, a, ['windowMs', 'buckets', 'failureRateThreshold', 'minimumCalls']);
    const o = breaker.options;
    const windowMs = number(
      `${path}.aggregate.windowMs`,
      a.windowMs,
      o.window.kind === 'time' ? o.window.durationMs : 10_000,
      { min: 100, max: MAX_TIMER_MS },
    );
    const buckets = number(`${path}.aggregate.buckets`, a.buckets, 10, { min: 1, max: 1_000, integer: true });
    if (windowMs / buckets < 10) {
      invalid(
        `${path}.aggregate.buckets`,
        `at most windowMs / 10 (${Math.floor(windowMs / 10)})`,
        buckets,
        'range',
      );
    }
    aggregate = Object.freeze({
      windowMs,
      buckets,
      bucketMs: Math.floor(windowMs / buckets),
      failureRateThreshold: number(
        `${path}.aggregate.failureRateThreshold`,
        a.failureRateThreshold,
        o.failureRateThreshold,
        { min: 0, max: 1, exclusiveMin: true },
      ),
      minimumCalls: number(`${path}.aggregate.minimumCalls`, a.minimumCalls, o.minimumCalls, {
        min: 1,
        integer: true,
      }),
    });
  } else if (agg !== undefined && agg !== false) {
    invalid(`${path}.aggregate`, 'a boolean or aggregation options', agg);
  }
  return Object.freeze({
    ...base,
    subscriber,
    name,
    channel,
    syncIntervalMs,
    isolationLeaseMs: number(
      `${path}.isolationLeaseMs`,
      options.isolationLeaseMs,
      Math.max(30_000, 3 * syncIntervalMs),
      {
        min: 3 * syncIntervalMs,
        max: MAX_TIMER_MS,
      },
    ),
    stateTtlMs: number(`${path}.stateTtlMs`, options.stateTtlMs, 86_400_000, {
      min: 60_000,
      max: 365 * 86_400_000,
      integer: true,
    }),
    aggregate,
  });
}

// --- Retry budget ---------------------------------------------------------------------------------

export interface RedisRetryBudgetOptions extends RedisCallOptions {
  /** Names the shared budget (required): replicas using one name share one budget. */
  name: string;
  /** Retries allowed per first attempt across the fleet, over the window. Default 0.2. */
  ratio?: number;
  /** Retries always allowed per second to the whole fleet (shared out among replicas). Default 10. */
  minPerSecond?: number;
  /** Window over which requests and retries are counted, ms. Default 10 000. */
  windowMs?: number;
  /** How often local counts are flushed and fleet totals read, ms. Default 1 000. */
  syncIntervalMs?: number;
}

export interface ResolvedRedisRetryBudgetOptions extends ResolvedRedisCallOptions {
  readonly name: string;
  readonly ratio: number;
  readonly minPerSecond: number;
  readonly windowMs: number;
  readonly syncIntervalMs: number;
}

export function resolveRedisRetryBudgetOptions(
  options: RedisRetryBudgetOptions,
): ResolvedRedisRetryBudgetOptions {
  const path = 'redisRetryBudget';
  requireOptions(path, options);
  checkKeys(path, options, [
    ...REDIS_CALL_KEYS,
    'name',
    'ratio',
    'minPerSecond',
    'windowMs',
    'syncIntervalMs',
  ]);
  if (options.name === undefined) invalid(`${path}.name`, 'a name for the shared budget', undefined);
  const name = string(`${path}.name`, options.name, '');
  const windowMs = number(`${path}.windowMs`, options.windowMs, 10_000, { min: 100, max: MAX_TIMER_MS });
  return Object.freeze({
    ...resolveRedisCallOptions(path, options, name),
    name,
    ratio: number(`${path}.ratio`, options.ratio, 0.2, { min: 0, max: 1_000 }),
    minPerSecond: number(`${path}.minPerSecond`, options.minPerSecond, 10, { min: 0, max: MAX_RATE }),
    windowMs,
    syncIntervalMs: number(`${path}.syncIntervalMs`, options.syncIntervalMs, 1_000, {
      min: 10,
      max: windowMs,
    }),
  });
}
