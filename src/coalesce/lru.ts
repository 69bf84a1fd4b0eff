import { List } from '../core/list.js';

/** A cached result (a value, or a Fail when failures are cached) and when it goes stale and dies. */
export class CacheEntry {
  readonly key: string;
  result: unknown;
  /** Clock time until which the entry is fresh. */
  freshUntil: number;
  /** Clock time until which it may be served stale while a refresh runs (= freshUntil without one). */
  staleUntil: number;
  prev: CacheEntry | null = null;
  next: CacheEntry | null = null;

  constructor(key: string, result: unknown, freshUntil: number, staleUntil: number) {
    this.key = key;
    this.result = result;
    this.freshUntil = freshUntil;
    this.staleUntil = staleUntil;
  }
}

/**
 * Least-recently-used map with a size bound: every operation is O(1) and allocates at most the entry
 * itself. Entries form an intrusive list, most recent first; the Map only indexes them. Expired
 * entries are dropped when read or when evicted, never by a timer.
 */
export class LruCache {
  readonly maxEntries: number;
  readonly #map = new Map<string, CacheEntry>();
  /** Most recently used first. */
  readonly #order = new List<CacheEntry>();

  constructor(maxEntries: number) {
    this.maxEntries = maxEntries;
  }

  get size(): number {
    return this.#map.size;
  }

  /** The entry for `key`, without changing its recency. */
  peek(key: string): CacheEntry | undefined {
    return this.#map.get(key);
  }

  /** Marks an entry as most recently used. */
  touch(entry: CacheEntry): void {
    const order = this.#order;
    if (order.peek() === entry) return;
    order.remove(entry);
    order.unshift(entry);
  }

  set(key: string, result: unknown, freshUntil: number, staleUntil: number): void {
    const entry = this.#map.get(key);
    if (entry !== undefined) {
      entry.result = result;
      entry.freshUntil = freshUntil;
      entry.staleUntil = staleUntil;
      this.touch(entry);
      return;
    }
    const oldest = this.#order.last();
    if (this.#map.size >= this.maxEntries && oldest !== null) this.delete(oldest);
    const created = new CacheEntry(key, result, freshUntil, staleUntil);
    this.#map.set(key, created);
    this.#order.unshift(created);
  }

  delete(entry: CacheEntry): void {
    if (this.#map.get(entry.key) !== entry) return;
    this.#map.delete(entry.key);
    this.#order.remove(entry);
  }

  clear(): void {
    this.#map.clear();
    this.#order.clear();
  }

  /** Keys from most to least recently used (for tests and inspection). */
  keys(): string[] {
    const keys: string[] = [];
    for (const e of this.#order) keys.push(e.key);
    return keys;
  }
}
