import type { KeyLimit } from './waiters.js';

/**
 * Per-key limits, bounded. Keys without waiting calls live in a Map whose insertion order is kept close
 * to least-recently-used order (a Map iterates in insertion order; the first key is the one to drop), at
 * most `maxKeys` of them; adding one more drops the first. Moving a key to the end on every use costs a
 * delete + set (about 100 ns, more than the rest of the limiter), so a used key moves only when it has
 * drifted into the older half of the order: a key used within the last `maxKeys / 2` insertions is never
 * dropped, and a hot key costs one lookup.
 *
 * Keys with waiting calls move to a second Map and cannot be dropped (their waiters hold slots of that
 * key's schedule; a fresh limit for the same key would grant permits twice); they come back at the end
 * when their last waiter leaves. So memory is at most `maxKeys` limits plus one per waiting call,
 * whatever the number of distinct keys.
 *
 * Dropping a key whose limit is idle (a full bucket) changes nothing. Dropping one that is not idle
 * hands that key a fresh limit next time: with fewer live keys than `maxKeys / 2` this never happens.
 * Every operation is O(1).
 */
export class KeyTable {
  readonly maxKeys: number;
  readonly #create: (key: string | undefined, now: number) => KeyLimit;
  readonly #idle = new Map<string | undefined, KeyLimit>();
  readonly #busy = new Map<string | undefined, KeyLimit>();
  /** The last key used: a hot key skips even the lookup. */
  #mru: KeyLimit | null = null;
  /** Counts insertions into #idle; a key's `stamp` is the count at its own insertion. */
  #stamp = 0;
  readonly #half: number;
  evicted = 0;

  constructor(maxKeys: number, create: (key: string | undefined, now: number) => KeyLimit) {
    this.maxKeys = maxKeys;
    this.#half = maxKeys >> 1;
    this.#create = create;
  }

  get size(): number {
    return this.#idle.size + this.#busy.size;
  }

  /** The limit of `key`, created (as of `now`) when not tracked. */
  get(key: string | undefined, now: number): KeyLimit {
    // `pin` clears #mru, so the MRU key is always an idle one already at the end of the LRU order.
    const mru = this.#mru;
    if (mru !== null && mru.key === key) return mru;
    const idle = this.#idle.get(key);
    if (idle !== undefined) {
      if (this.#stamp - idle.stamp >= this.#half) {
        this.#idle.delete(key);
        this.#idle.set(key, idle);
        idle.stamp = ++this.#stamp;
      }
      this.#mru = idle;
      return idle;
    }
    if (this.#busy.size > 0) {
      const busy = this.#busy.get(key);
      if (busy !== undefined) return busy;
    }
    const created = this.#create(key, now);
    this.#insert(created);
    return created;
  }

  /** The key has a waiting call now: it may not be dropped. */
  pin(limit: KeyLimit): void {
    if (this.#idle.delete(limit.key)) this.#busy.set(limit.key, limit);
    if (this.#mru === limit) this.#mru = null;
  }

  /** Its last waiting call left. */
  unpin(limit: KeyLimit): void {
    if (this.#busy.get(limit.key) !== limit) return;
    this.#busy.delete(limit.key);
    this.#insert(limit);
  }

  #insert(limit: KeyLimit): void {
    if (this.#idle.size >= this.maxKeys) {
      // First key in iteration order = least recently used.
      for (const [key, lru] of this.#idle) {
        this.#idle.delete(key);
        if (this.#mru === lru) this.#mru = null;
        this.evicted++;
        break;
      }
    }
    this.#idle.set(limit.key, limit);
    limit.stamp = ++this.#stamp;
    this.#mru = limit;
  }
}
