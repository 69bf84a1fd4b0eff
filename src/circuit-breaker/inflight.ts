import { List } from '../core/list.js';

/** A call admitted by a breaker that needs its start time (slow-call detection, duration events). */
export class InflightCall {
  readonly generation: number;
  readonly startedAt: number;
  prev: InflightCall | null = null;
  next: InflightCall | null = null;
  /** Counted as slow while still running. */
  slow = false;

  constructor(generation: number, startedAt: number) {
    this.generation = generation;
    this.startedAt = startedAt;
  }
}

/**
 * Calls in flight, oldest first, with a cursor at the first call not yet known to be slow. Calls are
 * appended in start order, so the calls slower than the threshold are always a prefix: advancing the
 * cursor and removing calls are O(1) amortised, however many calls hang.
 */
export class InflightList {
  readonly #calls = new List<InflightCall>();
  #cursor: InflightCall | null = null;
  slowCount = 0;

  add(call: InflightCall): void {
    this.#calls.push(call);
    if (this.#cursor === null) this.#cursor = call;
  }

  remove(call: InflightCall): void {
    if (!this.#calls.has(call)) return;
    if (call.slow) this.slowCount--;
    if (this.#cursor === call) this.#cursor = call.next;
    this.#calls.remove(call);
  }

  /** Marks calls started more than `thresholdMs` before `now` as slow; returns how many are. */
  advance(now: number, thresholdMs: number): number {
    for (let c = this.#cursor; c !== null && now - c.startedAt > thresholdMs; c = c.next) {
      c.slow = true;
      this.slowCount++;
      this.#cursor = c.next;
    }
    return this.slowCount;
  }

  get size(): number {
    return this.#calls.size;
  }
}
