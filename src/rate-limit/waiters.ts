import { Waiter, type WaiterOwner, WaitQueue } from '../core/waiter.js';
import type { RateAlgorithm } from './types.js';

export type { WaiterOwner } from '../core/waiter.js';

/** A call waiting for its permit on one key's limit. */
export class RateWaiter extends Waiter {
  readonly limit: KeyLimit;

  constructor(
    resolve: (token: unknown) => void,
    limit: KeyLimit,
    enqueuedAt: number,
    owner: WaiterOwner<RateWaiter>,
  ) {
    super(resolve, enqueuedAt, owner as WaiterOwner<never>);
    this.limit = limit;
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
  readonly queue = new WaitQueue<RateWaiter>();
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

  get head(): RateWaiter | null {
    return this.queue.peek();
  }

  get waiting(): number {
    return this.queue.size;
  }

  push(w: RateWaiter): void {
    this.queue.push(w);
  }

  remove(w: RateWaiter): void {
    this.queue.remove(w);
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
