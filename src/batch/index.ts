import type { Clock, TimerHandle } from '../core/clock.js';
import { compile, EDGE, type Part } from '../core/compile.js';
import type { Context } from '../core/context.js';
import type { Subscribe } from '../core/events.js';
import { List } from '../core/list.js';
import { Fail } from '../core/outcome.js';
import { Executor, type Policy, STAGES, stagesOf } from '../core/policy.js';
import { reportCallbackError } from '../core/report.js';
import { SharedScope } from '../core/shared-scope.js';
import type { Runner, Stage, Wrapper } from '../core/stage.js';
import { deliverAll, GroupWaiter, settled, type WaiterOwner } from '../core/waiter.js';
import { EventStream } from '../metrics/event-stream.js';
import type { BatchEvent } from '../metrics/events.js';
import type { Observable, SnapshotBase } from '../metrics/observable.js';
import { type BatchOptions, type ResolvedBatchOptions, resolveBatchOptions } from './options.js';

export type { BatchOptions, BatchResult } from './options.js';

export interface BatchSnapshot extends SnapshotBase {
  readonly kind: 'batch';
  readonly maxSize: number;
  readonly maxDelayMs: number;
  /** The batch being collected: its distinct keys and the callers waiting for them. */
  readonly pendingKeys: number;
  readonly pendingCallers: number;
  /** Batches sent whose `run` has not settled. */
  readonly inflightBatches: number;
  /** Totals since creation: batches sent, keys sent in them, batches aborted because every caller left. */
  readonly batches: number;
  readonly items: number;
  readonly abandoned: number;
}

/**
 * Collects keyed calls into batches (DataLoader-style). Submit with `load(key, signal?)`, or, as a
 * policy, with `execute(fn, { key })`: a keyed call resolves to its key's item and its `fn` is not
 * called; a call without a key passes through to its own `fn`. Place it last in a pipeline: policies
 * after it only see pass-through calls; protect the batch call itself with the `policy` option.
 */
export interface BatchPolicy<V = unknown, K = string> extends Policy<V>, Observable {
  readonly kind: 'batch';
  readonly name: string;
  readonly options: ResolvedBatchOptions<V, K>;
  /** Resolves to the item of `key`, or rejects with its error, its batch's failure or the signal's reason. */
  load(key: K, signal?: AbortSignal): Promise<V>;
  /** Sends the batch being collected now, without waiting for `maxDelayMs` or `maxSize`. */
  flush(): void;
  snapshot(): BatchSnapshot;
  /** Every event of the policy: `batch` when one is sent, and `call` when its `run` settles. */
  readonly onEvent: Subscribe<BatchEvent>;
}

/** Collects calls made within `maxDelayMs` (up to `maxSize` keys) into one `run(keys)`. See docs/coalescing.md. */
export function batch<V = unknown, K = string>(options: BatchOptions<V, K>): BatchPolicy<V, K> {
  return new Batcher<V, K>(resolveBatchOptions(options));
}

/** The callers of one key in one batch: the item is their list, so there is no list object per key. */
class Item<K> extends List<ItemWaiter<K>> {
  readonly batch: Pending<K>;
  readonly key: K;

  constructor(batch: Pending<K>, key: K) {
    super();
    this.batch = batch;
    this.key = key;
  }
}

type ItemWaiter<K> = GroupWaiter<Item<K>>;

/** One batch, from its first key to its delivery. */
class Pending<K> {
  readonly items = new Map<K, Item<K>>();
  /** Callers attached to the batch (a key may have several). */
  callers = 0;
  timer: TimerHandle | undefined = undefined;
  scope: SharedScope | null = null;
  /** Resolves once every caller was answered; never rejects. */
  promise: Promise<void> | null = null;
  sent = false;
  done = false;
  abandoned = false;
  startedAt = Number.NaN;
}

class Batcher<V, K> extends Executor<V> implements BatchPolicy<V, K>, Wrapper, WaiterOwner<ItemWaiter<K>> {
  readonly stage = 'wrapper';
  readonly kind = 'batch';
  readonly name: string;
  readonly options: ResolvedBatchOptions<V, K>;
  readonly [STAGES]: readonly Stage[] = [this];
  readonly onEvent: Subscribe<BatchEvent>;
  readonly #events: EventStream<BatchEvent>;
  readonly #clock: Clock;
  readonly #maxSize: number;
  readonly #maxDelayMs: number;
  #pending: Pending<K> | null = null;
  #part: Part | null = null;
  #inflight = 0;
  #batches = 0;
  #items = 0;
  #abandoned = 0;

  constructor(options: ResolvedBatchOptions<V, K>) {
    super();
    this.name = options.name;
    this.options = options;
    this.#clock = options.clock;
    this.#maxSize = options.maxSize;
    this.#maxDelayMs = options.maxDelayMs;
    const events = new EventStream<BatchEvent>('batch', options.name, ['call', 'batch']);
    this.#events = events;
    this.onEvent = events.onEvent;
  }

  snapshot(): BatchSnapshot {
    return {
      kind: this.kind,
      name: this.name,
      maxSize: this.#maxSize,
      maxDelayMs: this.#maxDelayMs,
      pendingKeys: this.#pending?.items.size ?? 0,
      pendingCallers: this.#pending?.callers ?? 0,
      inflightBatches: this.#inflight,
      batches: this.#batches,
      items: this.#items,
      abandoned: this.#abandoned,
    };
  }

  load(key: K, signal?: AbortSignal): Promise<V> {
    if (signal?.aborted) return Promise.reject(signal.reason);
    return this.#enqueue(key, signal ?? null, true) as Promise<V>;
  }

  flush(): void {
    if (this.#pending !== null) this.#dispatch(this.#pending);
  }

  wrap(inner: Runner): Runner {
    const keyOf = this.options.key;
    return (scope) => {
      let key: K | undefined;
      try {
        key = keyOf(scope);
      } catch (error) {
        // Reported, and the call runs on its own, as a call without a key does.
        reportCallbackError('batch.key', this.name, error);
        key = undefined;
      }
      if (key === undefined) return inner(scope);
      if (!scope.abortable) return this.#enqueue(key, null, false);
      const signal = scope.signal;
      if (signal.aborted) return settled(new Fail(signal.reason), false);
      return this.#enqueue(key, signal, false);
    };
  }

  /** `rejects`: the caller's promise rejects on failure (`load`) instead of resolving to a Fail. */
  #enqueue(key: K, signal: AbortSignal | null, rejects: boolean): Promise<unknown> {
    let batch = this.#pending;
    if (batch === null) {
      const created = new Pending<K>();
      batch = this.#pending = created;
      // One timer per collecting batch, cleared when it is sent or emptied. Ref'd: its callers wait on
      // it, and nothing else sends the batch, so a script whose only work is `await loader.load(k)`
      // must not exit before it fires.
      created.timer = this.#clock.setTimer(() => this.#dispatch(created), this.#maxDelayMs, true);
    }
    let item = batch.items.get(key);
    if (item === undefined) {
      item = new Item(batch, key);
      batch.items.set(key, item);
    }
    const waiter = new GroupWaiter(this, item, rejects);
    const promise = waiter.promise();
    item.push(waiter);
    batch.callers++;
    if (signal !== null) waiter.watch(signal);
    if (batch.items.size >= this.#maxSize) this.#dispatch(batch);
    return promise;
  }

  #dispatch(batch: Pending<K>): void {
    this.#drop(batch);
    if (batch.sent || batch.callers === 0) return;
    batch.sent = true;
    const keys = [...batch.items.keys()];
    this.#batches++;
    this.#items += keys.length;
    this.#inflight++;
    if (this.#events.wants('batch')) {
      this.#events.emit({ type: 'batch', policy: this.name, kind: this.kind, size: keys.length });
    }
    if (this.#events.wants('call')) batch.startedAt = this.#clock.now();
    const fetch = this.options.run;
    const scope = new SharedScope((context: Context) => fetch(keys, context), undefined, 1);
    batch.scope = scope;
    const policy = this.options.policy;
    const part = (this.#part ??= compile(policy === undefined ? [] : stagesOf(policy)));
    batch.promise = part(scope, EDGE.inner).then((result) => this.#deliver(batch, keys, result));
  }

  #deliver(batch: Pending<K>, keys: readonly K[], result: unknown): void {
    batch.done = true;
    this.#inflight--;
    const outcome = this.#shape(result, keys.length);
    if (!Number.isNaN(batch.startedAt) && this.#events.wants('call')) {
      const verdict = !(outcome instanceof Fail) ? 'success' : batch.abandoned ? 'ignored' : 'failure';
      this.#events.call(verdict, this.#clock.now() - batch.startedAt);
    }
    if (outcome instanceof Fail) {
      for (const item of batch.items.values()) deliverAll(item, outcome);
    } else if (Array.isArray(outcome)) {
      for (let i = 0; i < keys.length; i++) deliverAll(batch.items.get(keys[i]!)!, itemResult(outcome[i]));
    } else {
      const map = outcome as ReadonlyMap<K, unknown>;
      for (const item of batch.items.values()) deliverAll(item, itemResult(map.get(item.key)));
    }
  }

  /** The result of `run` if it is usable (a Map-like or an array of the right length), else a Fail. */
  #shape(result: unknown, size: number): unknown {
    if (result instanceof Fail) return result;
    if (Array.isArray(result)) {
      if (result.length === size) return result;
      return new Fail(
        new TypeError(
          `breakwater: batch "${this.name}": run returned ${result.length} items for ${size} keys`,
        ),
      );
    }
    if (typeof (result as { get?: unknown } | null)?.get === 'function') return result;
    return new Fail(
      new TypeError(`breakwater: batch "${this.name}": run must return a Map or an array of items`),
    );
  }

  onWaiterAborted(waiter: ItemWaiter<K>, reason: unknown): void {
    const item = waiter.group;
    const batch = item.batch;
    item.remove(waiter);
    batch.callers--;
    const failure = new Fail(reason);
    if (!batch.sent) {
      // Not sent yet: the key leaves the batch with its last caller, and an empty batch is never sent.
      if (item.size === 0) batch.items.delete(item.key);
      if (batch.callers === 0) this.#drop(batch);
    } else if (batch.callers === 0 && !batch.done) {
      batch.abandoned = true;
      this.#abandoned++;
      failure.pending = batch.promise ?? undefined;
      batch.scope!.abort(reason);
    }
    waiter.deliver(failure);
  }

  /** No longer collecting: later calls start a new batch, and its timer is cleared. */
  #drop(batch: Pending<K>): void {
    if (this.#pending === batch) this.#pending = null;
    if (batch.timer !== undefined) {
      this.#clock.clearTimer(batch.timer);
      batch.timer = undefined;
    }
  }
}

function itemResult(item: unknown): unknown {
  return item instanceof Error ? new Fail(item) : item;
}
