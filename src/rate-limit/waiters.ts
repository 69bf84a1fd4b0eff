import type { HeapEntry } from '../core/deadline-queue.js';
import { List } from '../core/list.js';
import { Waiter, type WaiterOwner } from '../core/waiter.js';
import type { RateAlgorithm } from './types.js';

/** A call waiting for its permit on one key's limit. */
export class RateWaiter extends Waiter {
  readonly limit: KeyLimit;
  readonly enqueuedAt: number;

  constructor(owner: WaiterOwner<RateWaiter>, limit: KeyLimit, enqueuedAt: number) {
    super(owner as WaiterOwner<never>);
    this.limit = limit;
    this.enqueuedAt = enqueuedAt;
  }
}

/** Told when the head waiter of a key is due. */
export interface SlotOwner {
  onSlot(limit: KeyLimit): void;
}

/**
 * The limit of one key: its algorithm state and its waiting calls in FIFO order.
 *
 * Slots are implicit. While calls wait, the algorithm hands out consecutive slots `permitIntervalMs`
 * apart, so the i-th waiter (0 = head) is due at `deadline + i * interval`. When a waiter leaves, the
 * algorithm takes back the latest slot and every waiter behind it moves one slot earlier, with no
 * per-waiter update: nobody waits longer than promised, nobody is overtaken, and the freed permit goes
 * to whoever comes next.
 *
 * While it has waiters, the key is an entry of the clock's shared deadline queue, due at its head's
 * slot: the queue holds keys, not calls (each key's waiters are already in slot order), so an unkeyed
 * limiter has at most one entry, and a keyed one pays O(log k) for k keys with waiters, only on the
 * waiting path. Keys due at the same time go in the order they started waiting.
 */
export class KeyLimit implements HeapEntry {
  readonly key: string | undefined;
  readonly algo: RateAlgorithm;
  readonly owner: SlotOwner;
  readonly queue = new List<RateWaiter>();
  /** Clock time of the head waiter's slot (meaningful while `waiting > 0`). */
  deadline = 0;
  heapIndex = -1;
  heapSeq = 0;
  /** KeyTable bookkeeping: when the key was last (re)inserted in the LRU order. */
  stamp = 0;

  constructor(key: string | undefined, algo: RateAlgorithm, owner: SlotOwner) {
    this.key = key;
    this.algo = algo;
    this.owner = owner;
  }

  get head(): RateWaiter | null {
    return this.queue.peek();
  }

  get waiting(): number {
    return this.queue.size;
  }

  onDeadline(): void {
    this.owner.onSlot(this);
  }
}
