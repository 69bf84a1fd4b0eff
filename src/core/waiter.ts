import type { Scope } from './context.js';

/** What a waiter tells its policy when its caller aborts while it waits. */
export interface WaiterOwner<W extends Waiter> {
  onWaiterAborted(waiter: W, reason: unknown): void;
}

/**
 * A call waiting for a slot or a permit. It holds the caller's resolver (not the task), so the call
 * continues in its caller's own async context once admitted, and it is its own abort listener: no
 * closure per waiter. Policies extend it with what they need to know about the wait.
 */
export class Waiter {
  readonly resolve: (token: unknown) => void;
  readonly enqueuedAt: number;
  readonly owner: WaiterOwner<never>;
  prev: Waiter | null = null;
  next: Waiter | null = null;
  queued = false;
  signal: AbortSignal | null = null;

  constructor(resolve: (token: unknown) => void, enqueuedAt: number, owner: WaiterOwner<never>) {
    this.resolve = resolve;
    this.enqueuedAt = enqueuedAt;
    this.owner = owner;
  }

  /** Follows the caller's signal while waiting (only when the scope can abort at all). */
  watch(scope: Scope): void {
    if (!scope.abortable) return;
    this.signal = scope.signal;
    this.signal.addEventListener('abort', this, { once: true });
  }

  /** EventListener protocol: the caller aborted. */
  handleEvent(): void {
    const reason = this.signal?.reason;
    this.signal = null;
    (this.owner as WaiterOwner<Waiter>).onWaiterAborted(this, reason);
  }

  /** Stops listening: no listener survives the wait. */
  detach(): void {
    if (this.signal !== null) {
      this.signal.removeEventListener('abort', this);
      this.signal = null;
    }
  }
}

/** FIFO of waiters as an intrusive doubly linked list: O(1) push, shift and removal from the middle. */
export class WaitQueue<W extends Waiter> {
  #head: W | null = null;
  #tail: W | null = null;
  size = 0;

  push(w: W): void {
    w.queued = true;
    w.prev = this.#tail;
    w.next = null;
    if (this.#tail === null) this.#head = w;
    else this.#tail.next = w;
    this.#tail = w;
    this.size++;
  }

  peek(): W | null {
    return this.#head;
  }

  shift(): W | null {
    const w = this.#head;
    if (w !== null) this.remove(w);
    return w;
  }

  remove(w: W): void {
    if (!w.queued) return;
    w.queued = false;
    if (w.prev === null) this.#head = w.next as W | null;
    else w.prev.next = w.next;
    if (w.next === null) this.#tail = w.prev as W | null;
    else w.next.prev = w.prev;
    w.prev = w.next = null;
    this.size--;
  }
}
