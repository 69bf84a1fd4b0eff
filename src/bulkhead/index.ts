import type { Clock } from '../core/clock.js';
import type { Scope } from '../core/context.js';
import { deadlineQueueFor, type Lane } from '../core/deadline-queue.js';
import { BulkheadRejectedError, type BulkheadRejectReason } from '../core/errors.js';
import type { Subscribe } from '../core/events.js';
import { failureOf } from '../core/failure.js';
import { List } from '../core/list.js';
import { invalid } from '../core/options.js';
import { Fail } from '../core/outcome.js';
import { Executor, type Policy, STAGES } from '../core/policy.js';
import { guarded, reportCallbackError } from '../core/report.js';
import type { Gate, Stage } from '../core/stage.js';
import type { ConcurrencyLimit } from '../limit/types.js';
import { EventStream, resultOutcome } from '../metrics/event-stream.js';
import type {
  BulkheadEvent,
  PolicyCallEvent,
  PolicyQueueWaitEvent,
  PolicyRejectEvent,
} from '../metrics/events.js';
import type { Observable, SnapshotBase } from '../metrics/observable.js';
import {
  type BulkheadOptions,
  type ResolvedBulkheadOptions,
  resolveBulkheadOptions,
  validateLimit,
} from './options.js';
import { BulkheadWaiter, type BulkheadWaiterOwner } from './wait-queue.js';

export type { BulkheadOptions } from './options.js';

export interface PartitionSnapshot {
  readonly name: string;
  /** Slots reserved for the partition (it may borrow unreserved ones). */
  readonly reserved: number;
  readonly inflight: number;
  /** Calls of the partition waiting for a slot. */
  readonly queueSize: number;
}

export interface BulkheadSnapshot extends SnapshotBase {
  readonly kind: 'bulkhead';
  readonly limit: number;
  /** Calls holding a slot, abandoned ones included. */
  readonly inflight: number;
  /** Calls waiting for a slot. */
  readonly queueSize: number;
  readonly queueCapacity: number;
  /** Calls given up on by an inner aggressive timeout whose work still runs (and still holds its slot). */
  readonly abandoned: number;
  /** Totals since creation. */
  readonly admitted: number;
  readonly rejected: number;
  readonly partitions: readonly PartitionSnapshot[];
}

export interface BulkheadPolicy extends Policy, Observable {
  readonly kind: 'bulkhead';
  readonly name: string;
  readonly options: ResolvedBulkheadOptions;
  /** The current limit (changes with setLimit or an adaptive limit). */
  readonly limit: number;
  /** Changes a fixed limit at run time; raising it admits queued calls at once. */
  setLimit(limit: number): void;
  /** A policy for the named partition, sharing this bulkhead's slots. */
  partition(name: string): Policy;
  snapshot(): BulkheadSnapshot;
  readonly onEvent: Subscribe<BulkheadEvent>;
  /** A call was refused (`full` or `wait-timeout`), with its `partition`. */
  readonly onReject: Subscribe<PolicyRejectEvent>;
  /** The call events whose outcome is `success`, with the call's `partition` and `durationMs` from admission. */
  readonly onSuccess: Subscribe<PolicyCallEvent>;
  /** The call events whose outcome is `failure` (failures of calls called off are `ignored`). */
  readonly onFailure: Subscribe<PolicyCallEvent>;
  /** A queued call got its slot. */
  readonly onQueueWait: Subscribe<PolicyQueueWaitEvent>;
}

/**
 * At most `limit` calls at once, up to `queue` more waiting in FIFO order for at most `maxWaitMs`.
 * A slot is held until the work really ends, even when an inner aggressive timeout gave up on it.
 */
export function bulkhead(options: number | BulkheadOptions): BulkheadPolicy {
  return new Bulkhead(resolveBulkheadOptions(options));
}

const DEFAULT_PARTITION = '(default)';
/** What a throwing `isDrop` answers: a plain failure, which tells an adaptive limit nothing about overload. */
const notDropped = (): boolean => false;

/** An admitted call: 0, or its start when an adaptive limit or a duration listener needs it. */
type Token = 0 | Admission;

/** Start of an admitted call, kept only when an adaptive limit or a duration listener needs it. */
class Admission {
  constructor(
    readonly startedAt: number,
    readonly inflight: number,
  ) {}
}

class Partition {
  reserved = 0;
  inflight = 0;
  readonly queue = new List<BulkheadWaiter>();
  constructor(
    readonly index: number,
    readonly name: string,
    readonly ratio: number,
  ) {}
}

class PartitionView extends Executor {
  readonly [STAGES]: readonly Stage[];
  constructor(gate: Gate<Token>) {
    super();
    this[STAGES] = [gate];
  }
}

class Bulkhead extends Executor implements BulkheadPolicy, BulkheadWaiterOwner {
  readonly kind = 'bulkhead';
  readonly name: string;
  readonly options: ResolvedBulkheadOptions;
  readonly [STAGES]: readonly Stage[];
  readonly #clock: Clock;
  readonly #adaptive: ConcurrencyLimit | null;
  readonly #parts: Partition[];
  readonly #views = new Map<string, Policy>();
  readonly #lane: Lane | null;
  #limit: number;
  #inflight = 0;
  #queued = 0;
  #abandoned = 0;
  #admitted = 0;
  #rejected = 0;
  #seq = 0;
  readonly #events: EventStream<BulkheadEvent>;
  readonly onEvent: Subscribe<BulkheadEvent>;
  readonly onReject: Subscribe<PolicyRejectEvent>;
  readonly onSuccess: Subscribe<PolicyCallEvent>;
  readonly onFailure: Subscribe<PolicyCallEvent>;
  readonly onQueueWait: Subscribe<PolicyQueueWaitEvent>;

  constructor(options: ResolvedBulkheadOptions) {
    super();
    this.name = options.name;
    const events = new EventStream<BulkheadEvent>('bulkhead', options.name, [
      'call',
      'reject',
      'queue-wait',
      'limit',
    ]);
    this.#events = events;
    this.onEvent = events.onEvent;
    this.onReject = events.on('reject');
    this.onSuccess = events.on('call', (e) => e.outcome === 'success');
    this.onFailure = events.on('call', (e) => e.outcome === 'failure');
    this.onQueueWait = events.on('queue-wait');
    this.options = options;
    this.#clock = options.clock;
    this.#lane =
      options.maxWaitMs === Number.POSITIVE_INFINITY
        ? null
        : deadlineQueueFor(options.clock).lane(options.maxWaitMs);
    const named = Object.entries(options.partitions);
    this.#parts = [
      new Partition(0, DEFAULT_PARTITION, 0),
      ...named.map(([n, r], i) => new Partition(i + 1, n, r)),
    ];
    if (typeof options.limit === 'number') {
      this.#adaptive = null;
      this.#limit = options.limit;
    } else {
      this.#adaptive = options.limit;
      this.#limit = options.limit.limit;
      // Lives as long as the bulkhead: both are created and dropped together.
      options.limit.onLimitChange((limit) => this.#applyLimit(limit));
    }
    this.#reserve();
    this[STAGES] = [this.#gate(this.#parts[0]!)];
  }

  get limit(): number {
    return this.#limit;
  }

  setLimit(limit: number): void {
    if (this.#adaptive !== null) {
      invalid('bulkhead.setLimit(limit)', 'not called on a bulkhead with an adaptive limit', limit);
    }
    this.#applyLimit(validateLimit('bulkhead.setLimit(limit)', limit));
  }

  partition(name: string): Policy {
    const view = this.#views.get(name);
    if (view !== undefined) return view;
    const part = this.#parts.find((p) => p.name === name && p.index > 0);
    if (part === undefined)
      invalid(
        'bulkhead.partition(name)',
        `one of ${Object.keys(this.options.partitions).join(', ') || '(none configured)'}`,
        name,
        'range',
      );
    const created = new PartitionView(this.#gate(part));
    this.#views.set(name, created);
    return created;
  }

  #applyLimit(limit: number): void {
    this.#limit = limit;
    if (this.#events.wants('limit'))
      this.#events.emit({ type: 'limit', policy: this.name, kind: this.kind, limit });
    this.#reserve();
    this.#drain();
  }

  /** Named partitions reserve floor(limit · ratio) slots; the rest is shared by everyone, first come first served. */
  #reserve(): void {
    if (this.#parts.length === 1) {
      this.#parts[0]!.reserved = this.#limit;
      return;
    }
    for (const p of this.#parts) p.reserved = p.index === 0 ? 0 : Math.floor(this.#limit * p.ratio);
  }

  /** A slot is free for `p`: the total stays within the limit, and slots other partitions reserved but do not use stay theirs. */
  #canAdmit(p: Partition): boolean {
    if (this.#inflight >= this.#limit) return false;
    if (this.#parts.length === 1 || p.inflight < p.reserved) return true;
    let heldForOthers = 0;
    for (const q of this.#parts)
      if (q !== p && q.inflight < q.reserved) heldForOthers += q.reserved - q.inflight;
    return this.#limit - this.#inflight > heldForOthers;
  }

  #take(p: Partition): Token {
    p.inflight++;
    this.#inflight++;
    this.#admitted++;
    if (this.#adaptive === null && !this.#events.wants('call')) return 0;
    return new Admission(this.#clock.now(), this.#inflight);
  }

  #gate(p: Partition): Gate<Token> {
    return {
      stage: 'gate',
      watchesAbort: true,
      enter: (scope) => {
        if (p.queue.size === 0 && this.#canAdmit(p)) return this.#take(p);
        return this.#wait(scope, p);
      },
      exit: (scope, token, result) => {
        this.#finish(scope, p, token, result);
        return result;
      },
    };
  }

  #wait(scope: Scope, p: Partition): Fail | Promise<Token | Fail> {
    if (this.#queued >= this.options.queue) return this.#reject(p, 'full');
    if (scope.isAborted()) return new Fail(scope.abortReason());
    const now = this.#clock.now();
    const waiter = new BulkheadWaiter(p.index, this.#seq++, now, now + this.options.maxWaitMs, this);
    const promise = waiter.promise() as Promise<Token | Fail>;
    p.queue.push(waiter);
    this.#queued++;
    this.#lane?.add(waiter);
    waiter.watchScope(scope);
    return promise;
  }

  #reject(p: Partition, reason: BulkheadRejectReason): Fail {
    this.#rejected++;
    if (this.#events.wants('reject')) {
      this.#events.emit({
        type: 'reject',
        policy: this.name,
        kind: this.kind,
        reason,
        retryAfterMs: undefined,
        partition: p.name,
      });
    }
    return new Fail(BulkheadRejectedError.create(this.name, reason));
  }

  #finish(scope: Scope, p: Partition, token: Token, result: unknown): void {
    if (token instanceof Admission) {
      // Reports and user code (isDrop, a custom limit) run here: nothing they do may keep the slot.
      try {
        this.#observe(scope, p, token, result);
      } catch (error) {
        reportCallbackError('bulkhead limit.onSample', this.name, error);
      }
    }
    if (result instanceof Fail && result.pending !== undefined) {
      // An inner aggressive timeout gave up on the call, but its work still runs: keep the slot until
      // it really ends, or more work would run than the limit allows.
      this.#abandoned++;
      const release = () => {
        this.#abandoned--;
        this.#release(p);
      };
      result.pending.then(release, release);
      return;
    }
    this.#release(p);
  }

  #observe(scope: Scope, p: Partition, admission: Admission, result: unknown): void {
    const durationMs = this.#clock.now() - admission.startedAt;
    const failed = result instanceof Fail;
    if (this.#adaptive !== null && !(failed && scope.cancelled())) {
      this.#adaptive.onSample({
        startedAt: admission.startedAt,
        rttMs: durationMs,
        inflight: admission.inflight,
        dropped:
          failed && guarded(this.options.isDrop, failureOf(result), notDropped, 'bulkhead.isDrop', this.name),
      });
    }
    if (this.#events.wants('call')) {
      this.#events.emit({
        type: 'call',
        policy: this.name,
        kind: this.kind,
        outcome: resultOutcome(result, scope),
        durationMs,
        partition: p.name,
      });
    }
  }

  #release(p: Partition): void {
    p.inflight--;
    this.#inflight--;
    if (this.#queued > 0) this.#drain();
  }

  /** Admits queued calls while slots are free: partitions under their reservation first, then FIFO. */
  #drain(): void {
    while (this.#queued > 0) {
      let best: Partition | null = null;
      let bestKey = Number.POSITIVE_INFINITY;
      for (const p of this.#parts) {
        const head = p.queue.peek();
        if (head === null || !this.#canAdmit(p)) continue;
        const key = (p.inflight < p.reserved ? 0 : 2 ** 52) + head.seq;
        if (key < bestKey) {
          best = p;
          bestKey = key;
        }
      }
      if (best === null) return;
      const waiter = best.queue.shift()!;
      this.#queued--;
      waiter.detach();
      const token = this.#take(best);
      if (this.#events.wants('queue-wait')) {
        this.#events.emit({
          type: 'queue-wait',
          policy: this.name,
          kind: this.kind,
          waitedMs: this.#clock.now() - waiter.enqueuedAt,
          partition: best.name,
        });
      }
      waiter.resolve(token);
    }
  }

  onWaiterAborted(waiter: BulkheadWaiter, reason: unknown): void {
    if (!this.#dequeue(waiter)) return;
    waiter.resolve(new Fail(reason));
  }

  onWaiterExpired(waiter: BulkheadWaiter): void {
    if (!this.#dequeue(waiter)) return;
    waiter.resolve(this.#reject(this.#parts[waiter.partition]!, 'wait-timeout'));
  }

  #dequeue(waiter: BulkheadWaiter): boolean {
    if (!this.#parts[waiter.partition]!.queue.remove(waiter)) return false;
    this.#queued--;
    waiter.detach();
    return true;
  }

  snapshot(): BulkheadSnapshot {
    return {
      kind: this.kind,
      name: this.name,
      limit: this.#limit,
      inflight: this.#inflight,
      queueSize: this.#queued,
      queueCapacity: this.options.queue,
      abandoned: this.#abandoned,
      admitted: this.#admitted,
      rejected: this.#rejected,
      partitions: this.#parts.map((p) => ({
        name: p.name,
        reserved: p.reserved,
        inflight: p.inflight,
        queueSize: p.queue.size,
      })),
    };
  }
}
