import type { CircuitBreakerPolicy } from '../../circuit-breaker/index.js';
import type { Clock, Subscribe } from '../../extend.js';
import { RollingCounts } from '../../extend.js';
import type { RetryBudget, RetryBudgetSnapshot } from '../../index.js';
import { type RedisCallStats, type RedisErrorEvent, RedisGuard } from './guard.js';
import {
  type RedisRetryBudgetOptions,
  type ResolvedRedisRetryBudgetOptions,
  resolveRedisRetryBudgetOptions,
} from './options.js';
import { BUDGET_SYNC, runScript } from './scripts.js';
import { SyncLoop } from './sync-loop.js';

export interface RedisRetryBudgetSnapshot extends RetryBudgetSnapshot {
  readonly kind: 'ratio';
  /** `fleet` while the last fleet totals are younger than the window, else `local`. */
  readonly source: 'fleet' | 'local';
  /** Replicas counted in the window at the last sync (1 before any). */
  readonly replicas: number;
  /** Age of the fleet totals, ms (undefined before the first sync). */
  readonly fleetAgeMs: number | undefined;
  /** Counts not yet in Redis (two counters each, never a buffer). */
  readonly pending: { readonly requests: number; readonly retries: number };
  readonly redis: RedisCallStats;
}

/**
 * A retry budget shared by the fleet: retries <= ratio x the fleet's first attempts + minPerSecond x
 * window seconds, over the window. `tryRetry()` never calls Redis: it decides from the fleet totals of
 * the last sync plus this replica's counts since, and each replica may spend only its share (1 / the
 * replicas counted) of the fleet's slack between syncs, so stale totals cannot let every replica spend
 * the whole slack at once.
 */
export interface RedisRetryBudget extends RetryBudget {
  readonly kind: 'ratio';
  readonly name: string;
  readonly redisBreaker: CircuitBreakerPolicy;
  /** Settles once the first sync is done (whatever its outcome). */
  readonly ready: Promise<void>;
  /** Flushes local counts and reads the fleet totals now; never rejects. */
  sync(): Promise<void>;
  snapshot(): RedisRetryBudgetSnapshot;
  readonly onRedisError: Subscribe<RedisErrorEvent>;
  /** Stops the sync timer. The client is left open. */
  close(): void;
}

/** A retry budget shared through Redis. See docs/distributed.md. */
export function redisRetryBudget(options: RedisRetryBudgetOptions): RedisRetryBudget {
  return new FleetBudget(resolveRedisRetryBudgetOptions(options));
}

/** Buckets of both the local and the Redis window. */
const BUCKETS = 10;
/** Counters of the local window. */
const REQUESTS = 0;
const RETRIES = 1;

class FleetBudget implements RedisRetryBudget {
  readonly kind = 'ratio';
  readonly name: string;
  readonly redisBreaker: CircuitBreakerPolicy;
  readonly onRedisError: Subscribe<RedisErrorEvent>;
  readonly ready: Promise<void>;
  readonly #o: ResolvedRedisRetryBudgetOptions;
  readonly #guard: RedisGuard;
  readonly #clock: Clock;
  readonly #keys: readonly [string, string];
  /** Retries the whole fleet may always make over the window. */
  readonly #reserve: number;
  /** This replica's own window, for decisions when the fleet's totals are stale. */
  readonly #window: RollingCounts;

  // Counts not in Redis yet: pending (since the last flush) and in flight (being flushed).
  #pendingRequests = 0;
  #pendingRetries = 0;
  #pendingSince = 0;
  #flushingRequests = 0;
  #flushingRetries = 0;
  #fleet: { requests: number; retries: number; replicas: number; at: number } | undefined = undefined;
  #denied = 0;

  readonly #sync: SyncLoop;

  constructor(options: ResolvedRedisRetryBudgetOptions) {
    this.#o = options;
    this.name = options.name;
    this.#clock = options.clock;
    this.#guard = new RedisGuard(options.name, options);
    this.redisBreaker = this.#guard.breaker;
    this.onRedisError = this.#guard.onError;
    const tag = `${options.prefix}{rb:${options.name}}`;
    this.#keys = [`${tag}:window`, `${tag}:replicas`];
    this.#reserve = (options.minPerSecond * options.windowMs) / 1_000;
    this.#window = new RollingCounts(2, BUCKETS, options.windowMs / BUCKETS);
    this.#sync = new SyncLoop('retry budget', () => this.#flush(), this.#clock, options.syncIntervalMs);
    this.ready = this.#sync.start();
  }

  // --- RetryBudget --------------------------------------------------------------------------------

  recordRequest(): void {
    this.#rotate();
    this.#window.add(REQUESTS);
    if (this.#pendingRequests + this.#pendingRetries === 0) this.#pendingSince = this.#clock.now();
    this.#pendingRequests++;
  }

  recordOutcome(): void {}

  tryRetry(): boolean {
    this.#rotate();
    if (this.#available() < 1) {
      this.#denied++;
      return false;
    }
    this.#window.add(RETRIES);
    if (this.#pendingRequests + this.#pendingRetries === 0) this.#pendingSince = this.#clock.now();
    this.#pendingRetries++;
    return true;
  }

  #fresh(): boolean {
    const f = this.#fleet;
    return f !== undefined && this.#clock.now() - f.at <= this.#o.windowMs;
  }

  /** Retries this replica may make now (fractional). */
  #available(): number {
    const ratio = this.#o.ratio;
    const f = this.#fleet;
    if (f !== undefined && this.#fresh()) {
      const slack = Math.max(0, ratio * f.requests + this.#reserve - f.retries);
      const requests = this.#pendingRequests + this.#flushingRequests;
      const retries = this.#pendingRetries + this.#flushingRetries;
      return slack / f.replicas + ratio * requests - retries;
    }
    // Redis unheard of for a whole window: this replica's own window and its share of the reserve.
    const replicas = f?.replicas ?? 1;
    const t = this.#window.totals;
    return ratio * t[REQUESTS]! + this.#reserve / replicas - t[RETRIES]!;
  }

  #rotate(): void {
    this.#window.advance(this.#clock.now());
  }

  // --- Sync ---------------------------------------------------------------------------------------

  sync(): Promise<void> {
    return this.#sync.sync();
  }

  #flush(): Promise<void> {
    const requests = this.#pendingRequests;
    const retries = this.#pendingRetries;
    const since = this.#pendingSince;
    this.#pendingRequests = this.#pendingRetries = 0;
    this.#flushingRequests = requests;
    this.#flushingRetries = retries;
    const o = this.#o;
    const args = [this.#window.bucketMs, BUCKETS, requests, retries, o.replicaId];
    const pending = this.#guard.run('sync', (client) => runScript(client, BUDGET_SYNC, this.#keys, args));
    if (!(pending instanceof Promise)) {
      this.#restore(requests, retries, since);
      return Promise.resolve();
    }
    return pending.then((outcome) => {
      const reply = outcome.ok ? outcome.value : undefined;
      if (!Array.isArray(reply) || reply.length !== 3) {
        this.#restore(requests, retries, since);
        return;
      }
      this.#flushingRequests = this.#flushingRetries = 0;
      this.#fleet = {
        requests: Number(reply[0]),
        retries: Number(reply[1]),
        replicas: Math.max(1, Number(reply[2])),
        at: this.#clock.now(),
      };
    });
  }

  /** Unflushed counts are merged back (two counters), or dropped once older than the window. */
  #restore(requests: number, retries: number, since: number): void {
    this.#flushingRequests = this.#flushingRetries = 0;
    if (requests + retries === 0 || this.#clock.now() - since >= this.#o.windowMs) return;
    if (this.#pendingRequests + this.#pendingRetries === 0) this.#pendingSince = since;
    else this.#pendingSince = Math.min(this.#pendingSince, since);
    this.#pendingRequests += requests;
    this.#pendingRetries += retries;
  }

  // --- Inspection and teardown ----------------------------------------------------------------------

  snapshot(): RedisRetryBudgetSnapshot {
    this.#rotate();
    const f = this.#fleet;
    const fresh = f !== undefined && this.#fresh();
    const unflushedRequests = this.#pendingRequests + this.#flushingRequests;
    const unflushedRetries = this.#pendingRetries + this.#flushingRetries;
    return {
      kind: this.kind,
      available: Math.max(0, Math.floor(this.#available())),
      requests: fresh ? f.requests + unflushedRequests : this.#window.totals[REQUESTS]!,
      retries: fresh ? f.retries + unflushedRetries : this.#window.totals[RETRIES]!,
      denied: this.#denied,
      source: fresh ? 'fleet' : 'local',
      replicas: f?.replicas ?? 1,
      fleetAgeMs: f === undefined ? undefined : this.#clock.now() - f.at,
      pending: { requests: this.#pendingRequests, retries: this.#pendingRetries },
      redis: this.#guard.stats(),
    };
  }

  close(): void {
    this.#sync.close();
  }
}
