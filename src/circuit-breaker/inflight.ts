/** A call admitted by a breaker that needs its start time (slow-call detection, duration events). */
export class InflightCall {
  readonly generation: number;
  readonly startedAt: number;
  prev: InflightCall | null = null;
  next: InflightCall | null = null;
  /** Counted as slow while still running. */
  slow = false;
  linked = false;

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
  #head: InflightCall | null = null;
  #tail: InflightCall | null = null;
  #cursor: InflightCall | null = null;
  slowCount = 0;

  add(call: InflightCall): void {
    call.linked = true;
    call.prev = this.#tail;
    if (this.#tail === null) this.#head = call;
    else this.#tail.next = call;
    this.#tail = call;
    if (this.#cursor === null) this.#cursor = call;
  }

  remove(call: InflightCall): void {
    if (!call.linked) return;
    call.linked = false;
    if (call.slow) this.slowCount--;
    if (this.#cursor === call) this.#cursor = call.next;
    if (call.prev === null) this.#head = call.next;
    else call.prev.next = call.next;
    if (call.next === null) this.#tail = call.prev;
    else call.next.prev = call.prev;
    call.prev = call.next = null;
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
    let n = 0;
    for (let c = this.#head; c !== null; c = c.next) n++;
    return n;
  }
}
