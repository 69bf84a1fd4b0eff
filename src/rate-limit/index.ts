import type { Clock, TimerHandle } from '../core/clock.js';
import type { Scope } from '../core/context.js';
import { RateLimitedError } from '../core/errors.js';
import type { Subscribe } from '../core/events.js';
import { Fail } from '../core/outcome.js';
import { Executor, type Policy, STAGES } from '../core/policy.js';
import type { Gate, Result, Stage } from '../core/stage.js';
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
import { KeyLimit, RateWaiter, SlotHeap, type WaiterOwner } from './waiters.js';

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

/** Timer slack: a fake clock fires at `now + (slot - now)`, which may round a hair below `slot`. */
const SLACK_MS = 1e-6;

/** The admission time when a 'call' listener was there at admission. */
type Token = number | undefined;

class Limiter extends Executor implements RateLimiterPolicy, Gate<Token>, WaiterOwner<RateWaiter> {
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
  readonly #heap = new SlotHeap();
  /** One timer for the whole limiter, armed for the earliest waiting slot. */
  #timer: TimerHandle = undefined;
  #armedAt = Number.POSITIVE_INFINITY;
  readonly #fire = () => this.#onTimer();
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
      this.#table = new KeyTable(options.maxKeys, (key, now) => new KeyLimit(key, this.#algorithm(now)));
    } else {
      this.#single = new KeyLimit(undefined, this.#algorithm(this.#clock.now()));
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
    return new Promise<Token | Fail>((resolve) => {
      const waiter = new RateWaiter(resolve as (token: unknown) => void, limit, now, this);
      if (limit.waiting === 0) {
        limit.headAt = now + wait;
        this.#table?.pin(limit);
        this.#heap.push(limit);
      }
      limit.push(waiter);
      this.#waiting++;
      waiter.watch(scope);
      this.#arm(now);
    });
  }

  #arm(now: number): void {
    const top = this.#heap.peek();
    if (top === null) {
      // Nobody waits: drop the (ref'd) timer so it cannot keep the process alive.
      if (this.#timer !== undefined) {
        this.#clock.clearTimer(this.#timer);
        this.#timer = undefined;
        this.#armedAt = Number.POSITIVE_INFINITY;
      }
      return;
    }
    // A timer armed earlier than the top fires early and re-arms: no need to move it.
    if (this.#timer !== undefined && this.#armedAt <= top.headAt) return;
    if (this.#timer !== undefined) this.#clock.clearTimer(this.#timer);
    this.#armedAt = top.headAt;
    // Ref'd, like a retry's sleep: the caller awaits this permit and nothing else may keep the process
    // alive meanwhile. It exists only while someone waits.
    this.#timer = this.#clock.setTimer(this.#fire, Math.max(0, top.headAt - now), true);
  }

  #onTimer(): void {
    this.#timer = undefined;
    this.#armedAt = Number.POSITIVE_INFINITY;
    const now = this.#clock.now();
    // A native timer may fire a little early against a sub-millisecond clock: not-yet-due slots re-arm.
    for (let top = this.#heap.peek(); top !== null && top.headAt <= now + SLACK_MS; top = this.#heap.peek()) {
      this.#admitHead(top, now);
    }
    this.#arm(now);
  }

  #admitHead(limit: KeyLimit, now: number): void {
    const waiter = limit.head!;
    limit.remove(waiter);
    this.#waiting--;
    if (limit.waiting === 0) {
      this.#heap.remove(limit);
      this.#table?.unpin(limit);
    } else {
      limit.headAt += this.#intervalMs;
      this.#heap.later(limit);
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
    if (!waiter.queued) return;
    const limit = waiter.limit;
    const now = this.#clock.now();
    limit.remove(waiter);
    this.#waiting--;
    // The latest slot goes back to the algorithm; everyone behind the leaver moves one slot earlier
    // (slots are implicit, see KeyLimit), and a head that leaves hands its slot to the next waiter.
    limit.algo.release(now);
    if (limit.waiting === 0) {
      this.#heap.remove(limit);
      this.#table?.unpin(limit);
    }
    waiter.detach();
    this.#arm(now);
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
