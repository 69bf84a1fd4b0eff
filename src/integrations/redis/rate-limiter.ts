import type { CircuitBreakerPolicy } from '../../circuit-breaker/index.js';
import type { Clock, Outcome, Scope, Subscribe, TimerHandle } from '../../extend.js';
import { Fail } from '../../extend.js';
import {
  BrokenCircuitError,
  definePolicy,
  type Gate,
  type Policy,
  RateLimitedError,
  type Result,
} from '../../index.js';
import { EventStream, resultOutcome } from '../../metrics/event-stream.js';
import type { PolicyRejectEvent, RateLimiterEvent } from '../../metrics/events.js';
import type { Observable, SnapshotBase } from '../../metrics/observable.js';
import { type RateLimiterPolicy, rateLimiter } from '../../rate-limit/index.js';
import { type RedisCallStats, type RedisErrorEvent, RedisGuard } from './guard.js';
import {
  type DegradeMode,
  type RedisRateLimiterOptions,
  type ResolvedRedisRateLimiterOptions,
  resolveRedisRateLimiterOptions,
} from './options.js';
import { GCRA, PRESENCE, runScript } from './scripts.js';

/** Who granted a permit: Redis (the fleet's limit), the local share, or nobody (`fail-open`). */
export type PermitSource = 'redis' | 'local-share' | 'fail-open';

export interface RedisRateLimitPermit {
  readonly key: string | undefined;
  /**
   * Whole permits still free right after this one (for a `RateLimit-Remaining` header): the fleet's
   * when Redis answered, the local share's when degraded, undefined when failing open.
   */
  readonly remaining: number | undefined;
  readonly source: PermitSource;
}

export interface RedisRateLimiterSnapshot extends SnapshotBase {
  readonly kind: 'redisRateLimiter';
  readonly ratePerSecond: number;
  readonly burst: number;
  readonly degrade: DegradeMode;
  /** Replicas the local share divides by (counted, or the configured `replicas`). */
  readonly replicas: number;
  /** True when the replica count came from the presence set. */
  readonly replicasCounted: boolean;
  /** Totals since creation. */
  readonly admitted: number;
  readonly rejected: number;
  /** Decisions taken without Redis (local share, fail-open, fail-closed). */
  readonly degraded: number;
  readonly redis: RedisCallStats;
}

/**
 * A rate limit shared by every replica through Redis: one atomic GCRA script per call (EVALSHA), timed
 * by Redis's clock. The admission awaits Redis, bounded by `redisTimeoutMs`; when Redis cannot answer,
 * the call is decided locally as `degrade` says, without awaiting anything once the Redis breaker is open.
 */
export interface RedisRateLimiterPolicy extends Policy, Observable {
  readonly kind: 'redisRateLimiter';
  readonly name: string;
  readonly options: ResolvedRedisRateLimiterOptions;
  /** The breaker in front of Redis calls. */
  readonly redisBreaker: CircuitBreakerPolicy;
  /**
   * For middlewares: a permit, or the rejection (`retryAfterMs` for a Retry-After header). Never
   * rejects; awaits Redis at most `redisTimeoutMs`. An unkeyed limiter ignores `key`.
   */
  tryAcquire(key?: string): Promise<RedisRateLimitPermit | RateLimitedError>;
  snapshot(): RedisRateLimiterSnapshot;
  /** Call events and rejections (no queue-wait: nothing waits for a permit). */
  readonly onEvent: Subscribe<RateLimiterEvent>;
  /** A call was refused (reason `rate-limited`), with its `key`, `retryAfterMs` and `source`. */
  readonly onReject: Subscribe<PolicyRejectEvent>;
  /** A Redis call failed or timed out (the decision was then taken locally). */
  readonly onRedisError: Subscribe<RedisErrorEvent>;
  /** Stops the heartbeat and leaves the presence set. The client is left open. */
  close(): void;
}

/** A fleet-wide rate limit in Redis. See docs/distributed.md. */
export function redisRateLimiter(options: RedisRateLimiterOptions): RedisRateLimiterPolicy {
  return new RedisLimiter(resolveRedisRateLimiterOptions(options));
}

type Decision = RedisRateLimitPermit | RateLimitedError;

/** The admission time when a 'call' listener was there. */
type Token = number | undefined;

class RedisLimiter implements RedisRateLimiterPolicy, Gate<Token> {
  readonly stage = 'gate';
  readonly kind = 'redisRateLimiter';
  readonly name: string;
  readonly options: ResolvedRedisRateLimiterOptions;
  // Defined by definePolicy() in the constructor: this object is both the gate and its policy.
  declare readonly execute: Policy['execute'];
  declare readonly executeOutcome: Policy['executeOutcome'];
  readonly redisBreaker: CircuitBreakerPolicy;
  readonly onRedisError: Subscribe<RedisErrorEvent>;
  readonly #guard: RedisGuard;
  readonly #clock: Clock;
  readonly #base: string;
  readonly #presenceKey: string;
  readonly #args: readonly string[];
  #local: RateLimiterPolicy | null = null;
  #localReplicas = 0;
  #counted: number | undefined = undefined;
  #timer: TimerHandle = undefined;
  #closed = false;
  #admitted = 0;
  #rejected = 0;
  #degraded = 0;
  readonly #events: EventStream<RateLimiterEvent>;
  readonly onEvent: Subscribe<RateLimiterEvent>;
  readonly onReject: Subscribe<PolicyRejectEvent>;
  readonly #beat = () => this.#heartbeat();

  constructor(options: ResolvedRedisRateLimiterOptions) {
    definePolicy(this, this);
    this.options = options;
    this.name = options.name;
    this.#clock = options.clock;
    this.#guard = new RedisGuard(options.name, options);
    this.redisBreaker = this.#guard.breaker;
    this.onRedisError = this.#guard.onError;
    this.#base = `${options.prefix}rl:${options.name}`;
    this.#presenceKey = `${this.#base}:replicas`;
    // Fixed script arguments, formatted once: Lua parses them back to doubles.
    this.#args = [String(options.permitIntervalMs), String(options.toleranceMs)];
    const events = new EventStream<RateLimiterEvent>('redisRateLimiter', options.name, ['call', 'reject']);
    this.#events = events;
    this.onEvent = events.onEvent;
    this.onReject = events.on('reject');
    if (options.degrade === 'local-share' && options.discoverReplicas) this.#heartbeat();
  }

  // --- Gate -------------------------------------------------------------------------------------

  enter(scope: Scope): Token | Fail | Promise<Token | Fail> {
    const decision = this.#acquire(this.options.keyed ? scope.key : undefined);
    if (decision instanceof Promise) return decision.then((d) => this.#token(d));
    return this.#token(decision);
  }

  #token(decision: Decision): Token | Fail {
    if (decision instanceof RateLimitedError) return new Fail(decision);
    return this.#events.wants('call') ? this.#clock.now() : undefined;
  }

  exit(scope: Scope, token: Token, result: Result): Result {
    if (typeof token === 'number' && this.#events.wants('call')) {
      this.#events.call(resultOutcome(result, scope), this.#clock.now() - token);
    }
    return result;
  }

  tryAcquire(key?: string): Promise<RedisRateLimitPermit | RateLimitedError> {
    const decision = this.#acquire(this.options.keyed ? key : undefined);
    return decision instanceof Promise ? decision : Promise.resolve(decision);
  }

  // --- Decisions ----------------------------------------------------------------------------------

  /** Asks Redis; a refusal of the guard (breaker open, client down) decides locally without a promise. */
  #acquire(key: string | undefined): Decision | Promise<Decision> {
    const redisKey = key === undefined ? this.#base : `${this.#base}:k:${key}`;
    const pending = this.#guard.run('acquire', (client) => runScript(client, GCRA, [redisKey], this.#args));
    if (!(pending instanceof Promise)) return this.#degrade(key, pending);
    return pending.then((outcome) => this.#answer(key, outcome));
  }

  #answer(key: string | undefined, outcome: Outcome<unknown>): Decision {
    if (!outcome.ok) return this.#degrade(key, outcome.error);
    const reply = outcome.value;
    if (!Array.isArray(reply) || reply.length < 3) return this.#degrade(key, reply);
    if (Number(reply[0]) === 1) {
      this.#admitted++;
      return { key, remaining: Number(reply[2]), source: 'redis' };
    }
    return this.#reject(key, Number(reply[1]) / 1_000, 'redis');
  }

  #degrade(key: string | undefined, cause: unknown): Decision {
    this.#degraded++;
    switch (this.options.degrade) {
      case 'fail-open':
        this.#admitted++;
        return { key, remaining: undefined, source: 'fail-open' };
      case 'fail-closed': {
        // Until Redis is asked again (the breaker's break), or one permit's spacing.
        const retry = cause instanceof BrokenCircuitError ? cause.retryAfterMs : undefined;
        return this.#reject(key, Math.max(retry ?? 0, this.options.permitIntervalMs), 'fail-closed');
      }
      case 'local-share': {
        const permit = this.#localShare().tryAcquire(key);
        if (permit instanceof RateLimitedError)
          return this.#reject(key, permit.retryAfterMs ?? 0, 'local-share');
        this.#admitted++;
        return { key, remaining: permit.remaining, source: 'local-share' };
      }
    }
  }

  #reject(
    key: string | undefined,
    retryAfterMs: number,
    source: 'redis' | 'local-share' | 'fail-closed',
  ): RateLimitedError {
    this.#rejected++;
    if (this.#events.wants('reject')) {
      this.#events.emit({
        type: 'reject',
        policy: this.name,
        kind: this.kind,
        reason: 'rate-limited',
        retryAfterMs,
        key,
        source,
      });
    }
    return RateLimitedError.create(this.name, retryAfterMs);
  }

  #replicas(): number {
    return this.#counted ?? this.options.replicas;
  }

  /** The local limiter at this replica's share; rebuilt (fresh) when the replica count changes. */
  #localShare(): RateLimiterPolicy {
    const replicas = this.#replicas();
    if (this.#local === null || this.#localReplicas !== replicas) {
      const o = this.options;
      this.#localReplicas = replicas;
      this.#local = rateLimiter({
        name: `${o.name}:local-share`,
        ratePerSecond: o.ratePerSecond / replicas,
        burst: Math.max(1, Math.floor(o.burst / replicas)),
        keyed: o.keyed ? { maxKeys: o.maxKeys } : false,
        clock: o.clock,
      });
    }
    return this.#local;
  }

  // --- Replica count ------------------------------------------------------------------------------

  #heartbeat(): void {
    this.#timer = undefined;
    if (this.#closed) return;
    const o = this.options;
    const args = [o.replicaId, String(3 * o.heartbeatMs), '0'];
    const pending = this.#guard.run('heartbeat', (client) =>
      runScript(client, PRESENCE, [this.#presenceKey], args),
    );
    if (pending instanceof Promise) {
      pending.then((outcome) => {
        if (outcome.ok && !this.#closed) {
          const n = Number(outcome.value);
          if (Number.isInteger(n) && n >= 1) this.#counted = n;
        }
      });
    }
    this.#timer = this.#clock.setTimer(this.#beat, o.heartbeatMs);
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#timer !== undefined) this.#clock.clearTimer(this.#timer);
    this.#timer = undefined;
    if (this.options.degrade === 'local-share' && this.options.discoverReplicas) {
      const args = [this.options.replicaId, String(3 * this.options.heartbeatMs), '1'];
      // Fire and forget: the outcome never rejects; a lost leave expires with the heartbeat TTL.
      this.#guard.run('leave', (client) => runScript(client, PRESENCE, [this.#presenceKey], args));
    }
  }

  snapshot(): RedisRateLimiterSnapshot {
    const o = this.options;
    return {
      kind: this.kind,
      name: this.name,
      ratePerSecond: o.ratePerSecond,
      burst: o.burst,
      degrade: o.degrade,
      replicas: this.#replicas(),
      replicasCounted: this.#counted !== undefined,
      admitted: this.#admitted,
      rejected: this.#rejected,
      degraded: this.#degraded,
      redis: this.#guard.stats(),
    };
  }
}
