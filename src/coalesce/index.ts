import type { Clock } from '../core/clock.js';
import type { Scope } from '../core/context.js';
import type { Subscribe } from '../core/events.js';
import { List } from '../core/list.js';
import { Fail } from '../core/outcome.js';
import { Executor, type Policy, STAGES } from '../core/policy.js';
import { reportCallbackError } from '../core/report.js';
import { SharedScope } from '../core/shared-scope.js';
import type { Result, Runner, Stage, Wrapper } from '../core/stage.js';
import { deliverAll, GroupWaiter, type WaiterOwner } from '../core/waiter.js';
import { EventStream } from '../metrics/event-stream.js';
import type { CoalesceEvent } from '../metrics/events.js';
import type { Observable, SnapshotBase } from '../metrics/observable.js';
import { LruCache } from './lru.js';
import { type CoalesceOptions, type ResolvedCoalesceOptions, resolveCoalesceOptions } from './options.js';

export type { CoalesceCacheOptions, CoalesceOptions } from './options.js';

export interface CoalesceSnapshot extends SnapshotBase {
  readonly kind: 'coalesce';
  /** Keys with an execution in flight now (at most `maxKeys`). */
  readonly inflightKeys: number;
  readonly maxKeys: number;
  /** Results held by the cache now (0 without a cache). */
  readonly cacheSize: number;
  /** Totals since creation: keyed calls answered from the cache, that started an execution, that joined one. */
  readonly hits: number;
  readonly misses: number;
  readonly joins: number;
  /** Keyed calls run on their own because `maxKeys` keys were in flight. */
  readonly bypassed: number;
  /** Shared executions started (misses and background refreshes). */
  readonly calls: number;
  /** Background refreshes of stale results. */
  readonly refreshes: number;
  /** Executions aborted because every caller left. */
  readonly abandoned: number;
}

export interface CoalescePolicy<R = unknown> extends Policy<R>, Observable {
  readonly kind: 'coalesce';
  readonly name: string;
  readonly options: ResolvedCoalesceOptions;
  snapshot(): CoalesceSnapshot;
  /** Every event of the policy: `hit`, `miss`, `coalesced`, and `call` per shared execution. */
  readonly onEvent: Subscribe<CoalesceEvent>;
  /**
   * Forgets the cached result of `key` (of every key without an argument). An execution in flight for
   * it still answers the callers that joined it, but its result is not cached and later callers start
   * a new execution: what it read may predate the change that made you invalidate.
   */
  invalidate(key?: string): void;
}

/**
 * Concurrent calls with the same key share one execution, and with `cache` its result for a while.
 * Each caller gets the shared result or failure, or leaves on its own abort; the shared work is
 * aborted when its last caller leaves. See docs/coalescing.md.
 */
export function coalesce<R = unknown>(options: CoalesceOptions): CoalescePolicy<R> {
  return new Coalesce<R>(resolveCoalesceOptions(options));
}

/**
 * One shared execution: it is also the scope the work runs in (one object per miss, not two), and it
 * holds the callers that may leave early.
 */
class Flight extends SharedScope {
  /** The coalescing key (`key`, from Scope, is the first caller's own key). */
  readonly slot: string;
  readonly owner: Coalesce<unknown>;
  /** Callers that may leave early (they have a signal); created with the first of them. */
  waiters: List<FlightWaiter> | null = null;
  /** The shared result (a value or a Fail, never rejecting). */
  promise: Promise<Result> | null = null;
  /** Callers attached, including those that cannot leave (no signal). */
  attached = 0;
  startedAt = Number.NaN;
  done = false;
  /** No longer the key's execution (abandoned or invalidated): new callers start another, and its result is not cached. */
  detached = false;
  abandoned = false;
  /** A background refresh: nobody asked for it, so callers leaving never abort it. */
  readonly background: boolean;
  readonly onResult = (result: Result): Result => this.owner.onFlightSettled(this, result);

  constructor(owner: Coalesce<unknown>, slot: string, leader: Scope, background: boolean) {
    // The leader's own key, not the coalescing key: keyed policies inside group by what callers gave.
    super(leader.fn, leader.key, leader.attempt);
    this.owner = owner;
    this.slot = slot;
    this.background = background;
  }
}

type FlightWaiter = GroupWaiter<Flight>;

const MISS = Symbol('miss');
/** Settled keys kept as tombstones before the in-flight map is rebuilt. */
const IDLE_LIMIT = 1_024;

class Coalesce<R> extends Executor<R> implements CoalescePolicy<R>, Wrapper, WaiterOwner<FlightWaiter> {
  readonly stage = 'wrapper';
  readonly kind = 'coalesce';
  readonly name: string;
  readonly options: ResolvedCoalesceOptions;
  readonly [STAGES]: readonly Stage[] = [this];
  readonly onEvent: Subscribe<CoalesceEvent>;
  readonly #events: EventStream<CoalesceEvent>;
  readonly #clock: Clock;
  readonly #keyOf: ResolvedCoalesceOptions['key'];
  readonly #maxKeys: number;
  /**
   * Key -> its execution, or null once it settled (a tombstone). On Node 20, deleting a Map key and
   * adding it again costs 0.3-4 us (the table fills with holes and rehashes), while overwriting a
   * value in place costs a few ns; hot keys come back, so they keep their slot. Tombstones are
   * dropped by rebuilding the Map once there are more than IDLE_LIMIT.
   */
  #flights = new Map<string, Flight | null>();
  #live = 0;
  #idle = 0;
  readonly #cache: LruCache | null;
  readonly #ttlMs: number;
  readonly #staleMs: number;
  readonly #cacheFailures: boolean;
  #hits = 0;
  #misses = 0;
  #joins = 0;
  #bypassed = 0;
  #calls = 0;
  #refreshes = 0;
  #abandoned = 0;

  constructor(options: ResolvedCoalesceOptions) {
    super();
    this.name = options.name;
    this.options = options;
    this.#clock = options.clock;
    this.#keyOf = options.key;
    this.#maxKeys = options.maxKeys;
    const events = new EventStream<CoalesceEvent>('coalesce', options.name, [
      'call',
      'hit',
      'miss',
      'coalesced',
    ]);
    this.#events = events;
    this.onEvent = events.onEvent;
    const cache = options.cache;
    this.#cache = cache === undefined ? null : new LruCache(cache.maxEntries);
    this.#ttlMs = cache?.ttlMs ?? 0;
    this.#staleMs = cache?.staleWhileRevalidateMs ?? 0;
    this.#cacheFailures = cache?.cacheFailures ?? false;
  }

  snapshot(): CoalesceSnapshot {
    return {
      kind: this.kind,
      name: this.name,
      inflightKeys: this.#live,
      maxKeys: this.#maxKeys,
      cacheSize: this.#cache?.size ?? 0,
      hits: this.#hits,
      misses: this.#misses,
      joins: this.#joins,
      bypassed: this.#bypassed,
      calls: this.#calls,
      refreshes: this.#refreshes,
      abandoned: this.#abandoned,
    };
  }

  invalidate(key?: string): void {
    if (key === undefined) {
      this.#cache?.clear();
      for (const flight of this.#flights.values()) if (flight !== null) flight.detached = true;
      this.#flights = new Map();
      this.#live = this.#idle = 0;
      return;
    }
    const entry = this.#cache?.peek(key);
    if (entry !== undefined) this.#cache!.delete(entry);
    const flight = this.#flights.get(key);
    if (flight != null) this.#detach(flight);
  }

  wrap(inner: Runner): Runner {
    return (scope) => {
      const key = this.#key(scope);
      if (key === undefined) return inner(scope);
      if (this.#cache !== null) {
        const cached = this.#lookup(this.#cache, key, scope, inner);
        if (cached !== MISS) return Promise.resolve(cached);
      }
      let flight = this.#flights.get(key);
      if (flight == null) {
        if (this.#live >= this.#maxKeys) {
          this.#bypassed++;
          return inner(scope);
        }
        if (scope.isAborted()) return Promise.resolve(new Fail(scope.abortReason()));
        this.#misses++;
        if (this.#events.wants('miss'))
          this.#events.emit({ type: 'miss', policy: this.name, kind: this.kind, key });
        flight = this.#start(key, scope, inner, false, flight === null);
      } else {
        if (scope.isAborted()) return Promise.resolve(new Fail(scope.abortReason()));
        this.#joins++;
        if (this.#events.wants('coalesced')) {
          this.#events.emit({ type: 'coalesced', policy: this.name, kind: this.kind, key });
        }
      }
      return this.#join(flight, scope);
    };
  }

  /**
   * The call's key, or undefined (pass through). A key function that throws or returns something other
   * than a string is reported, and the call runs on its own: its own outcome, not the hook's error.
   */
  #key(scope: Scope): string | undefined {
    let key: unknown;
    try {
      key = this.#keyOf(scope);
    } catch (error) {
      reportCallbackError('coalesce.key', this.name, error);
      return undefined;
    }
    if (key === undefined || typeof key === 'string') return key;
    reportCallbackError('coalesce.key', this.name, new TypeError(`returned ${typeof key}, not a string`));
    return undefined;
  }

  /**
   * A fresh (or stale, while refreshing) cached result, or MISS. An expired entry stays where it is
   * until a new result for its key overwrites it or it is evicted: deleting and re-adding a key is
   * what makes a Map slow (see #flights).
   */
  #lookup(cache: LruCache, key: string, scope: Scope, inner: Runner): unknown {
    const entry = cache.peek(key);
    if (entry === undefined) return MISS;
    const now = this.#clock.now();
    if (now >= entry.staleUntil) return MISS;
    cache.touch(entry);
    this.#hits++;
    if (this.#events.wants('hit'))
      this.#events.emit({ type: 'hit', policy: this.name, kind: this.kind, key });
    // Stale: serve it, and refresh once in the background (unless an execution is already on its way).
    if (now >= entry.freshUntil && this.#live < this.#maxKeys) {
      const current = this.#flights.get(key);
      if (current == null) {
        this.#refreshes++;
        this.#start(key, scope, inner, true, current === null);
      }
    }
    return entry.result;
  }

  /** `tombstone`: the key's slot holds a settled execution's null, which this one overwrites. */
  #start(key: string, scope: Scope, inner: Runner, background: boolean, tombstone: boolean): Flight {
    const flight = new Flight(this as Coalesce<unknown>, key, scope, background);
    this.#calls++;
    if (this.#events.wants('call')) flight.startedAt = this.#clock.now();
    if (tombstone) this.#idle--;
    this.#flights.set(key, flight);
    this.#live++;
    flight.promise = inner(flight).then(flight.onResult);
    return flight;
  }

  #join(flight: Flight, scope: Scope): Promise<Result> {
    const promise = flight.promise!;
    // A caller that cannot abort waits for the shared promise itself: no waiter, no listener.
    if (flight.done || !scope.abortable) {
      flight.attached++;
      return promise;
    }
    const signal = scope.signal;
    if (signal.aborted) return Promise.resolve(new Fail(signal.reason));
    flight.attached++;
    const waiter = new GroupWaiter(this, flight, false);
    const caller = waiter.promise();
    (flight.waiters ??= new List()).push(waiter);
    waiter.watch(signal);
    return caller;
  }

  onWaiterAborted(waiter: FlightWaiter, reason: unknown): void {
    const flight = waiter.group;
    flight.waiters!.remove(waiter);
    flight.attached--;
    const failure = new Fail(reason);
    if (flight.attached === 0 && !flight.done && !flight.background) {
      // The last caller left: stop the work. Its result is not wanted nor cached, and the key is free
      // at once. `pending` lets an outer bulkhead hold this caller's slot until the work really ends.
      failure.pending = flight.promise ?? undefined;
      flight.abandoned = true;
      this.#abandoned++;
      this.#detach(flight);
      flight.abort(reason);
    }
    waiter.deliver(failure);
  }

  /** The key no longer points to this execution: later callers start another one. */
  #detach(flight: Flight): void {
    if (flight.detached) return;
    // Invariant: an execution not yet detached is the current value of its slot.
    flight.detached = true;
    this.#flights.set(flight.slot, null);
    this.#live--;
    if (++this.#idle > IDLE_LIMIT) this.#compact();
  }

  /** Drops tombstones: O(keys in flight), once per IDLE_LIMIT settled keys. */
  #compact(): void {
    const live = new Map<string, Flight | null>();
    for (const [key, flight] of this.#flights) if (flight !== null) live.set(key, flight);
    this.#flights = live;
    this.#idle = 0;
  }

  onFlightSettled(flight: Flight, result: Result): Result {
    flight.done = true;
    const failed = result instanceof Fail;
    if (!flight.detached) {
      this.#detach(flight);
      const cache = this.#cache;
      if (cache !== null && (!failed || this.#cacheFailures)) {
        const freshUntil = this.#clock.now() + this.#ttlMs;
        cache.set(flight.slot, result, freshUntil, freshUntil + this.#staleMs);
      }
    }
    if (!Number.isNaN(flight.startedAt) && this.#events.wants('call')) {
      this.#events.call(
        !failed ? 'success' : flight.abandoned ? 'ignored' : 'failure',
        this.#clock.now() - flight.startedAt,
      );
    }
    if (flight.waiters !== null) deliverAll(flight.waiters, result);
    return result;
  }
}
