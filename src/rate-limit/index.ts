import type { Clock } from '../core/clock.js';
import type { Scope } from '../core/context.js';
import { type DeadlineQueue, deadlineQueueFor } from '../core/deadline-queue.js';
import { RateLimitedError } from '../core/errors.js';
import type { Subscribe } from '../core/events.js';
import { Fail } from '../core/outcome.js';
import { Executor, type Policy, STAGES } from '../core/policy.js';
import type { Gate, Result, Stage } from '../core/stage.js';
import type { WaiterOwner } from '../core/waiter.js';
import { EventStream, resultOutcome } from '../metrics/event-stream.js';
import type { PolicyRejectEvent, RateLimiterEvent } from '../metrics/events.js';
import type { Observable, SnapshotBase } from '../metrics/observable.js';
import { KeyTable } from './key-table.js';
import {
  type RateLimitAlgorithm,
  type RateLimiterOptions,
  type ResolvedRateLimiterOptions,
  resolveRateLimiterOptions,
} from './options.js';
import { SmoothLimiter } from './smooth.js';
import { TokenBucket } from './token-bucket.js';
import type { RateAlgorithm } from './types.js';
import { KeyLimit, RateWaiter, type SlotOwner } from './waiters.js';

export type { KeyedRateLimitOptions, RateLimitAlgorithm, RateLimiterOptions } from './options.js';
// For breakwater/redis, whose limiter takes the same rate options (not part of the main entry).
export { MAX_RATE, resolveKeyed, resolveRate } from './options.js';

/** A permit granted by `tryAcquire()`. Nothing has to be reported back. */
export interface RateLimitPermit {
  readonly key: string | undefined;
  /** Whole permits still available right after this one (e.g. for a `RateLimit-Remaining` header). */
  readonly remaining: number;
}

export interface RateLimiterSnapshot extends SnapshotBase {
  readonly kind: 'rateLimiter';
  readonly algorithm: RateLimitAlgorithm;
  readonly ratePerSecond: number;
  readonly burst: number;
  readonly toleranceMs: number;
  readonly maxWaitMs: number;
  /** Permits available now (undefined for a keyed limiter: each key has its own). */
  readonly available: number | undefined;
  /** Time until the next permit, 0 when one is available (undefined when keyed). */
  readonly nextPermitInMs: number | undefined;
  /** Calls waiting for their permit now. */
  readonly waiting: number;
  /** Keys tracked now (0 when not keyed), and the bound. */
  readonly keys: number;
  readonly maxKeys: number | undefined;
  /** Totals since creation: permits granted (waited ones included), calls that waited, rejections, keys dropped. */
  readonly admitted: number;
  readonly waited: number;
  readonly rejected: number;
  readonly evictedKeys: number;
}

export interface RateLimiterPolicy extends Policy, Observable {
  readonly kind: 'rateLimiter';
  readonly name: string;
  readonly options: ResolvedRateLimiterOptions;
  /**
   * For integrations (HTTP middlewares): takes a permit now, or returns the rejection (with
   * `retryAfterMs` for a Retry-After header) without throwing or waiting. An unkeyed limiter ignores `key`.
   */
  tryAcquire(key?: string): RateLimitPermit | RateLimitedError;
  snapshot(): RateLimiterSnapshot;
  readonly onEvent: Subscribe<RateLimiterEvent>;
  /** A call was refused (reason `rate-limited`), with its `key` (undefined when unkeyed) and `retryAfterMs`. */
  readonly onReject: Subscribe<PolicyRejectEvent>;
}

/**
 * Limits the rate of calls: a token bucket (bursts, then a sustained rate) or a smooth limiter (evenly
 * spaced permits), optionally per key. A call without a permit waits up to `maxWaitMs` for one, or is
 * rejected at once with `RateLimitedError`. See docs/rate-limit.md.
 */
export function rateLimiter(options: number | RateLimiterOptions): RateLimiterPolicy {
  return new Limiter(resolveRateLimiterOptions(options));
}

/** The admission time when a 'call' listener was there at admission. */
type Token = number | undefined;

class Limiter extends Executor implements RateLimiterPolicy, Gate<Token>, WaiterOwner<RateWaiter>, SlotOwner {
  readonly stage = 'gate';
  readonly watchesAbort = true;
  readonly kind = 'rateLimiter';
  readonly name: string;
  readonly options: ResolvedRateLimiterOptions;
  readonly [STAGES]: readonly Stage[] = [this];
  readonly #clock: Clock;
  readonly #maxWaitMs: number;
  readonly #intervalMs: number;
  /** The limit of an unkeyed limiter; null when keyed. */
  readonly #single: KeyLimit | null;
  readonly #table: KeyTable | null;
  /**
   * Wakes the keys with waiting calls at their head's slot: the clock's shared deadline queue, whose
   * one native timer is ref'd while someone waits (like a retry's sleep: the caller awaits this permit
   * and nothing else may keep the process alive meanwhile), and gone once nobody waits.
   */
  readonly #queue: DeadlineQueue;
  #waiting = 0;
  #admitted = 0;
  #waited = 0;
  #rejected = 0;
  readonly #events: EventStream<RateLimiterEvent>;
  readonly onEvent: Subscribe<RateLimiterEvent>;
  readonly onReject: Subscribe<PolicyRejectEvent>;

  constructor(options: ResolvedRateLimiterOptions) {
    super();
    this.name = options.name;
    this.options = options;
    this.#clock = options.clock;
    this.#maxWaitMs = options.maxWaitMs;
    this.#intervalMs = options.permitIntervalMs;
    this.#queue = deadlineQueueFor(options.clock);
    const events = new EventStream<RateLimiterEvent>('rateLimiter', options.name, [
      'call',
      'reject',
      'queue-wait',
    ]);
    this.#events = events;
    this.onEvent = events.onEvent;
    this.onReject = events.on('reject');
    if (options.keyed) {
      this.#single = null;
      this.#table = new KeyTable(
        options.maxKeys,
        (key, now) => new KeyLimit(key, this.#algorithm(now), this),
      );
    } else {
      this.#single = new KeyLimit(undefined, this.#algorithm(this.#clock.now()), this);
      this.#table = null;
    }
  }

  #algorithm(now: number): RateAlgorithm {
    const o = this.options;
    return o.algorithm === 'smooth'
      ? new SmoothLimiter(o.permitIntervalMs, o.toleranceMs, now)
      : new TokenBucket(o.ratePerSecond / 1_000, o.burst, now);
  }

  // --- Gate -------------------------------------------------------------------------------------

  enter(scope: Scope): Token | Fail | Promise<Token | Fail> {
    const now = this.#clock.now();
    const limit = this.#single ?? this.#table!.get(scope.key, now);
    // Waiting past an enclosing deadline is pointless: such a call is refused at once.
    const maxWait = this.#maxWaitMs === 0 ? 0 : Math.min(this.#maxWaitMs, scope.deadline - now);
    const wait = limit.algo.acquire(now, maxWait);
    if (wait === 0) {
      this.#admitted++;
      return this.#events.wants('call') ? now : undefined;
    }
    if (wait < 0) return new Fail(this.#rejection(limit.key, -wait));
    return this.#enqueue(scope, limit, wait, now);
  }

  exit(scope: Scope, token: Token, result: Result): Result {
    // The token is the admission time when a 'call' listener was there at admission.
    if (typeof token === 'number' && this.#events.wants('call')) {
      this.#events.call(resultOutcome(result, scope), this.#clock.now() - token);
    }
    return result;
  }

  tryAcquire(key?: string): RateLimitPermit | RateLimitedError {
    const now = this.#clock.now();
    const limit = this.#single ?? this.#table!.get(key, now);
    const wait = limit.algo.acquire(now, 0);
    if (wait !== 0) return this.#rejection(limit.key, -wait);
    this.#admitted++;
    return { key: limit.key, remaining: limit.algo.available(now) };
  }

  #rejection(key: string | undefined, retryAfterMs: number): RateLimitedError {
    this.#rejected++;
    if (this.#events.wants('reject')) {
      this.#events.emit({
        type: 'reject',
        policy: this.name,
        kind: this.kind,
        reason: 'rate-limited',
        retryAfterMs,
        key,
      });
    }
    return RateLimitedError.create(this.name, retryAfterMs);
  }

  // --- Waiting ------------------------------------------------------------------------------------

  /** The permit is reserved (`wait` ms from now): park the caller until its slot. */
  #enqueue(scope: Scope, limit: KeyLimit, wait: number, now: number): Fail | Promise<Token | Fail> {
    if (scope.isAborted()) {
      limit.algo.release(now);
      return new Fail(scope.abortReason());
    }
    const waiter = new RateWaiter(this, limit, now);
    const promise = waiter.promise() as Promise<Token | Fail>;
    const first = limit.waiting === 0;
    if (first) {
      limit.deadline = now + wait;
      this.#table?.pin(limit);
    }
    limit.queue.push(waiter);
    this.#waiting++;
    waiter.watchScope(scope);
    if (first) this.#queue.schedule(limit);
    return promise;
  }

  /** The head waiter of `limit` is due: the queue took the key out; it comes back if more wait. */
  onSlot(limit: KeyLimit): void {
    const now = this.#clock.now();
    const waiter = limit.queue.shift()!;
    this.#waiting--;
    if (limit.waiting === 0) {
      this.#table?.unpin(limit);
    } else {
      limit.deadline += this.#intervalMs;
      this.#queue.reschedule(limit);
    }
    waiter.detach();
    this.#admitted++;
    this.#waited++;
    if (this.#events.wants('queue-wait')) {
      this.#events.emit({
        type: 'queue-wait',
        policy: this.name,
        kind: this.kind,
        waitedMs: now - waiter.enqueuedAt,
      });
    }
    waiter.resolve(this.#events.wants('call') ? now : undefined);
  }

  onWaiterAborted(waiter: RateWaiter, reason: unknown): void {
    const limit = waiter.limit;
    if (!limit.queue.remove(waiter)) return;
    const now = this.#clock.now();
    this.#waiting--;
    // The latest slot goes back to the algorithm; everyone behind the leaver moves one slot earlier
    // (slots are implicit, see KeyLimit), and a head that leaves hands its slot to the next waiter.
    limit.algo.release(now);
    if (limit.waiting === 0) {
      this.#queue.unschedule(limit);
      this.#table?.unpin(limit);
    }
    waiter.detach();
    waiter.resolve(new Fail(reason));
  }

  // --- Inspection -----------------------------------------------------------------------------------

  snapshot(): RateLimiterSnapshot {
    const o = this.options;
    const now = this.#clock.now();
    const single = this.#single;
    return {
      kind: this.kind,
      name: this.name,
      algorithm: o.algorithm,
      ratePerSecond: o.ratePerSecond,
      burst: o.burst,
      toleranceMs: o.toleranceMs,
      maxWaitMs: o.maxWaitMs,
      available: single === null ? undefined : single.algo.available(now),
      nextPermitInMs: single === null ? undefined : single.algo.waitTime(now),
      waiting: this.#waiting,
      keys: this.#table === null ? 0 : this.#table.size,
      maxKeys: this.#table === null ? undefined : this.#table.maxKeys,
      admitted: this.#admitted,
      waited: this.#waited,
      rejected: this.#rejected,
      evictedKeys: this.#table === null ? 0 : this.#table.evicted,
    };
  }
}
