import type { CircuitBreakerPolicy } from '../../circuit-breaker/index.js';
import type { Outcome, Subscribe } from '../../extend.js';
import { Emitter } from '../../extend.js';
import { BrokenCircuitError, TimeoutError } from '../../index.js';
import { type TimeoutPolicy, timeout } from '../../timeout/index.js';
import { RedisUnavailableError } from './errors.js';
import type { RedisClientLike, ResolvedRedisCallOptions } from './options.js';

/** What a component was doing when a Redis call failed. */
export type RedisOperation =
  | 'acquire'
  | 'heartbeat'
  | 'leave'
  | 'publish'
  | 'sync'
  | 'subscribe'
  | 'unsubscribe';

export interface RedisErrorEvent {
  /** Name of the component (the limiter, budget or shared circuit). */
  readonly policy: string;
  readonly operation: RedisOperation;
  /** A `TimeoutError` (the call took longer than `redisTimeoutMs`), a `RedisUnavailableError`, or the client's error. */
  readonly error: unknown;
}

/** Counts of a component's Redis calls, for snapshots. */
export interface RedisCallStats {
  /** State of the breaker in front of Redis. */
  readonly state: string;
  /** Calls sent to Redis. */
  readonly calls: number;
  /** Calls that failed or timed out (timeouts included). */
  readonly failures: number;
  readonly timeouts: number;
  /** Calls not sent because the Redis breaker was open or the client was not connected. */
  readonly refused: number;
}

/** ioredis statuses in which a command would only be parked in the offline queue. */
const DOWN = new Set(['reconnecting', 'close', 'end']);

/**
 * Runs each Redis call under its own timeout and a breaker: a slow Redis costs a caller at most
 * `redisTimeoutMs`, and a dead one costs nothing once the breaker has opened (the refusal is
 * synchronous, so a component can decide locally without awaiting anything).
 */
export class RedisGuard {
  readonly breaker: CircuitBreakerPolicy;
  readonly #timeout: TimeoutPolicy;
  readonly #client: RedisClientLike;
  readonly #policy: string;
  readonly #onError = new Emitter<RedisErrorEvent>();
  readonly onError: Subscribe<RedisErrorEvent> = this.#onError.subscribe;
  #calls = 0;
  #failures = 0;
  #timeouts = 0;
  #refused = 0;

  constructor(policy: string, options: ResolvedRedisCallOptions) {
    this.#policy = policy;
    this.#client = options.client;
    this.breaker = options.redisBreaker;
    this.#timeout = timeout({
      durationMs: options.redisTimeoutMs,
      name: `${policy}:redis`,
      clock: options.clock,
    });
  }

  get client(): RedisClientLike {
    return this.#client;
  }

  /**
   * Sends `call`, or refuses at once: returns the refusal (a `BrokenCircuitError` or a
   * `RedisUnavailableError`) synchronously, else a promise of the outcome that never rejects.
   */
  run<T>(
    operation: RedisOperation,
    call: (client: RedisClientLike) => Promise<T>,
  ): Promise<Outcome<T>> | Error {
    return this.runOn(operation, this.#client.status, () => call(this.#client));
  }

  /** As `run`, for a call on another connection (the subscriber) whose status is given. */
  runOn<T>(operation: RedisOperation, status: string, call: () => Promise<T>): Promise<Outcome<T>> | Error {
    const permit = this.breaker.tryAcquire();
    if (permit instanceof BrokenCircuitError) {
      this.#refused++;
      return permit;
    }
    if (DOWN.has(status)) {
      const error = new RedisUnavailableError(status);
      permit.failure(error);
      this.#refused++;
      this.#report(operation, error);
      return error;
    }
    this.#calls++;
    return this.#timeout.executeOutcome(call).then((outcome) => {
      if (outcome.ok) {
        permit.success();
      } else {
        permit.failure(outcome.error);
        this.#failures++;
        if (outcome.error instanceof TimeoutError) this.#timeouts++;
        this.#report(operation, outcome.error);
      }
      return outcome as Outcome<T>;
    });
  }

  #report(operation: RedisOperation, error: unknown): void {
    if (this.#onError.active) this.#onError.emit({ policy: this.#policy, operation, error });
  }

  stats(): RedisCallStats {
    return {
      state: this.breaker.state,
      calls: this.#calls,
      failures: this.#failures,
      timeouts: this.#timeouts,
      refused: this.#refused,
    };
  }
}
