import type { Scope } from '../core/context.js';
import type { DeadlineEntry, Lane } from '../core/deadline-queue.js';

/** Hooks a waiter calls back into when it leaves the queue on its own. */
export interface WaiterOwner {
  onWaiterAborted(waiter: Waiter, reason: unknown): void;
  onWaiterExpired(waiter: Waiter): void;
}

/**
 * A call waiting for a slot. It holds the caller's resolver (not the task), so the call continues in
 * the caller's own async context once admitted. It is its own abort listener and deadline entry: no
 * closure or timer per waiter.
 */
export class Waiter implements DeadlineEntry {
  readonly resolve: (token: unknown) => void;
  readonly partition: number;
  /** Arrival order across partitions (FIFO between them). */
  readonly seq: number;
  readonly enqueuedAt: number;
  readonly owner: WaiterOwner;
  prev: Waiter | null = null;
  next: Waiter | null = null;
  queued = false;
  signal: AbortSignal | null = null;
  // Deadline-queue links.
  deadline: number;
  prevEntry: DeadlineEntry | null = null;
  nextEntry: DeadlineEntry | null = null;
  lane: Lane | null = null;

  constructor(
    resolve: (token: unknown) => void,
    partition: number,
    seq: number,
    enqueuedAt: number,
    deadline: number,
    owner: WaiterOwner,
  ) {
    this.resolve = resolve;
    this.partition = partition;
    this.seq = seq;
    this.enqueuedAt = enqueuedAt;
    this.deadline = deadline;
    this.owner = owner;
  }

  /** Follows the caller's signal while waiting (only when the scope can abort at all). */
  watch(scope: Scope): void {
    if (!scope.abortable) return;
    this.signal = scope.signal;
    this.signal.addEventListener('abort', this, { once: true });
  }

  handleEvent(): void {
    const reason = this.signal?.reason;
    this.signal = null;
    this.owner.onWaiterAborted(this, reason);
  }

  onDeadline(): void {
    this.owner.onWaiterExpired(this);
  }

  /** Leaves every structure it is in: no listener or deadline survives the wait. */
  detach(): void {
    if (this.signal !== null) {
      this.signal.removeEventListener('abort', this);
      this.signal = null;
    }
    if (this.lane !== null) this.lane.remove(this);
  }
}

/** FIFO of waiters as an intrusive doubly linked list: O(1) push, shift and removal from the middle. */
export class WaitQueue {
  #head: Waiter | null = null;
  #tail: Waiter | null = null;
  size = 0;

  push(w: Waiter): void {
    w.queued = true;
    w.prev = this.#tail;
    w.next = null;
    if (this.#tail === null) this.#head = w;
    else this.#tail.next = w;
    this.#tail = w;
    this.size++;
  }

  peek(): Waiter | null {
    return this.#head;
  }

  shift(): Waiter | null {
    const w = this.#head;
    if (w !== null) this.remove(w);
    return w;
  }

  remove(w: Waiter): void {
    if (!w.queued) return;
    w.queued = false;
    if (w.prev === null) this.#head = w.next;
    else w.prev.next = w.next;
    if (w.next === null) this.#tail = w.prev;
    else w.next.prev = w.prev;
    w.prev = w.next = null;
    this.size--;
  }
}
