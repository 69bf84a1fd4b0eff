import type { Scope } from '../core/context.js';
import type { RateAlgorithm } from './types.js';

/** Hook a waiter calls when its caller aborts. */
export interface WaiterOwner {
  onWaiterAborted(waiter: RateWaiter, reason: unknown): void;
}

/**
 * A call waiting for its permit. It holds the caller's resolver (not the task), so the call continues
 * in its own async context, and it is its own abort listener: no closure per waiter.
 */
export class RateWaiter {
  readonly resolve: (token: unknown) => void;
  readonly limit: KeyLimit;
  readonly enqueuedAt: number;
  readonly owner: WaiterOwner;
  prev: RateWaiter | null = null;
  next: RateWaiter | null = null;
  queued = false;
  signal: AbortSignal | null = null;

  constructor(resolve: (token: unknown) => void, limit: KeyLimit, enqueuedAt: number, owner: WaiterOwner) {
    this.resolve = resolve;
    this.limit = limit;
    this.enqueuedAt = enqueuedAt;
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

  detach(): void {
    if (this.signal !== null) {
      this.signal.removeEventListener('abort', this);
      this.signal = null;
    }
  }
}

/**
 * The limit of one key: its algorithm state and its waiting calls in FIFO order.
 *
 * Slots are implicit. While calls wait, the algorithm hands out consecutive slots `permitIntervalMs`
 * apart, so the i-th waiter (0 = head) is due at `headAt + i * interval`. When a waiter leaves, the
 * algorithm takes back the latest slot and every waiter behind it moves one slot earlier, with no
 * per-waiter update: nobody waits longer than promised, nobody is overtaken, and the freed permit goes
 * to whoever comes next.
 */
export class KeyLimit {
  readonly key: string | undefined;
  readonly algo: RateAlgorithm;
  head: RateWaiter | null = null;
  tail: RateWaiter | null = null;
  waiting = 0;
  /** Clock time of the head waiter's slot (meaningful while `waiting > 0`). */
  headAt = 0;
  /** Position in the policy's SlotHeap, -1 when absent. */
  heapIndex = -1;
  /** Tie-break between keys due at the same time: the key that started waiting first goes first. */
  heapSeq = 0;
  /** KeyTable bookkeeping: when the key was last (re)inserted in the LRU order. */
  stamp = 0;

  constructor(key: string | undefined, algo: RateAlgorithm) {
    this.key = key;
    this.algo = algo;
  }

  push(w: RateWaiter): void {
    w.queued = true;
    w.prev = this.tail;
    w.next = null;
    if (this.tail === null) this.head = w;
    else this.tail.next = w;
    this.tail = w;
    this.waiting++;
  }

  remove(w: RateWaiter): void {
    if (!w.queued) return;
    w.queued = false;
    if (w.prev === null) this.head = w.next;
    else w.prev.next = w.next;
    if (w.next === null) this.tail = w.prev;
    else w.next.prev = w.prev;
    w.prev = w.next = null;
    this.waiting--;
  }
}

function before(a: KeyLimit, b: KeyLimit): boolean {
  return a.headAt < b.headAt || (a.headAt === b.headAt && a.heapSeq < b.heapSeq);
}

/**
 * Keys with waiting calls, by the slot of their head waiter: the policy keeps one timer, armed for the
 * top. Each key's own waiters are already in slot order, so the heap holds keys, not calls: an unkeyed
 * limiter has at most one entry (O(1)); a keyed one pays O(log k) for k keys with waiters, and only on
 * the waiting path.
 */
export class SlotHeap {
  readonly #items: KeyLimit[] = [];
  #seq = 0;

  get size(): number {
    return this.#items.length;
  }

  peek(): KeyLimit | null {
    return this.#items[0] ?? null;
  }

  push(limit: KeyLimit): void {
    limit.heapSeq = this.#seq++;
    limit.heapIndex = this.#items.length;
    this.#items.push(limit);
    this.#up(limit.heapIndex);
  }

  remove(limit: KeyLimit): void {
    const i = limit.heapIndex;
    if (i < 0) return;
    limit.heapIndex = -1;
    const last = this.#items.pop()!;
    if (last === limit) return;
    this.#items[i] = last;
    last.heapIndex = i;
    this.#down(i);
    this.#up(last.heapIndex);
  }

  /** Restores order after `limit.headAt` moved later (its head left or was admitted). */
  later(limit: KeyLimit): void {
    if (limit.heapIndex >= 0) this.#down(limit.heapIndex);
  }

  #up(i: number): void {
    const items = this.#items;
    const item = items[i]!;
    while (i > 0) {
      const p = (i - 1) >> 1;
      const parent = items[p]!;
      if (!before(item, parent)) break;
      items[i] = parent;
      parent.heapIndex = i;
      i = p;
    }
    items[i] = item;
    item.heapIndex = i;
  }

  #down(i: number): void {
    const items = this.#items;
    const n = items.length;
    const item = items[i]!;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= n) break;
      const r = l + 1;
      const c = r < n && before(items[r]!, items[l]!) ? r : l;
      const child = items[c]!;
      if (!before(child, item)) break;
      items[i] = child;
      child.heapIndex = i;
      i = c;
    }
    items[i] = item;
    item.heapIndex = i;
  }
}
