import type { Clock, TimerHandle } from './clock.js';

/**
 * Shared deadline structure: every armed timeout (and rate-limiter wake-up) of a clock lives here, and
 * one native timer is armed for the earliest deadline. Arming and disarming are O(1) list operations, with no timer,
 * closure or allocation per call (the entry is the call's own scope).
 *
 * Entries sit in lanes, one lane per timeout duration. Within a lane, deadline = now + duration with a
 * monotonic `now`, so appending keeps the lane sorted and its head is its earliest deadline. A native
 * timer is only (re)armed when a deadline earlier than the armed one appears; entries removed early
 * are simply absent when it fires, which then re-arms for the next head.
 *
 * Entries whose deadlines arrive in no particular order (a rate limiter's wake-ups: one per key with
 * waiting calls, each at that key's next slot) go to a binary heap instead (`schedule`): O(log n) for
 * the n of them, on paths where a call already waits, never on a call's hot path. The same native
 * timer serves both. It is armed at the exact time of a heap entry (slots are fractional and a waiting
 * call must not start late), and rounded up to a whole millisecond for a lane entry.
 *
 * The timer keeps the process alive while some entry is armed: a caller is waiting on that deadline
 * (a task that holds no handle of its own can only be ended by it); once the last entry has gone, it is
 * unref'd by the end of the event-loop turn, so the process may exit rather than wait for the last
 * deadline to pass. Deferring the unref to the turn's end keeps sequential calls (each arming and
 * disarming within one turn) from toggling the native timer on every call. A heap entry removed before
 * its deadline (a waiting call that left) that leaves nothing armed at all clears the timer instead:
 * that is rare, and nothing would use the timer again before it fires.
 */
export interface DeadlineEntry {
  deadline: number;
  prevEntry: DeadlineEntry | null;
  nextEntry: DeadlineEntry | null;
  lane: Lane | null;
  onDeadline(): void;
}

/** An entry with an arbitrary deadline, kept in the queue's heap (see `DeadlineQueue.schedule`). */
export interface HeapEntry {
  deadline: number;
  /** Position in the heap, -1 when not scheduled (initialise it so). */
  heapIndex: number;
  /** Order among equal deadlines: set by `schedule`, kept by `reschedule`. */
  heapSeq: number;
  onDeadline(): void;
}

/** Timer slack for heap entries: a fake clock fires at `now + (deadline - now)`, which may round a hair below. */
const HEAP_SLACK_MS = 1e-6;

// Not on core/list.ts: a bulkhead waiter is in a List too, and a List lane measured taggr +280 instr/call.
export class Lane {
  head: DeadlineEntry | null = null;
  tail: DeadlineEntry | null = null;
  readonly queue: DeadlineQueue;
  readonly durationMs: number;

  constructor(queue: DeadlineQueue, durationMs: number) {
    this.queue = queue;
    this.durationMs = durationMs;
  }

  add(entry: DeadlineEntry): void {
    entry.lane = this;
    this.queue.entered();
    const tail = this.tail;
    if (tail === null) {
      entry.prevEntry = entry.nextEntry = null;
      this.head = this.tail = entry;
      this.queue.laneBecameActive(this, entry.deadline);
      return;
    }
    if (tail.deadline <= entry.deadline) {
      entry.prevEntry = tail;
      entry.nextEntry = null;
      tail.nextEntry = entry;
      this.tail = entry;
      return;
    }
    this.#insertSorted(entry);
  }

  remove(entry: DeadlineEntry): void {
    const { prevEntry, nextEntry } = entry;
    if (prevEntry === null) this.head = nextEntry;
    else prevEntry.nextEntry = nextEntry;
    if (nextEntry === null) this.tail = prevEntry;
    else nextEntry.prevEntry = prevEntry;
    entry.prevEntry = entry.nextEntry = null;
    entry.lane = null;
    this.queue.left();
  }

  // Only reached when a caller adds an entry out of order (a lane shared by unequal durations).
  #insertSorted(entry: DeadlineEntry): void {
    let after = this.tail;
    while (after !== null && after.deadline > entry.deadline) after = after.prevEntry;
    entry.prevEntry = after;
    entry.nextEntry = after === null ? this.head : after.nextEntry;
    if (after === null) this.head = entry;
    else after.nextEntry = entry;
    entry.nextEntry!.prevEntry = entry;
    if (after === null) this.queue.laneBecameActive(this, entry.deadline);
  }
}

export class DeadlineQueue {
  readonly clock: Clock;
  readonly #lanes = new Map<number, Lane>();
  #timer: TimerHandle = undefined;
  #armedAt = Number.POSITIVE_INFINITY;
  /** Entries armed in every lane. */
  #entries = 0;
  /** Whether the native timer is ref'd now, and whether an unref is due at the end of this turn. */
  #refd = false;
  #unrefDue = false;
  /** Entries with arbitrary deadlines, a binary heap by (deadline, heapSeq). */
  readonly #heap: HeapEntry[] = [];
  #heapSeq = 0;
  /** While the timer fires heap entries: their rescheduling arms nothing until the end. */
  #firing = false;
  readonly #unrefIfIdle = () => {
    this.#unrefDue = false;
    if (this.#entries > 0 || !this.#refd || this.#timer === undefined) return;
    this.#refd = false;
    this.clock.refTimer?.(this.#timer, false);
  };
  readonly #fire = () => this.#onTimer();

  constructor(clock: Clock) {
    this.clock = clock;
  }

  /** The lane for a duration; callers keep it so that arming does no lookup. */
  lane(durationMs: number): Lane {
    let lane = this.#lanes.get(durationMs);
    if (lane === undefined) {
      lane = new Lane(this, durationMs);
      this.#lanes.set(durationMs, lane);
    }
    return lane;
  }

  /** Drops a lane nobody will use again (adaptive durations); it must be empty. */
  dropLane(lane: Lane): void {
    if (lane.head === null && this.#lanes.get(lane.durationMs) === lane) this.#lanes.delete(lane.durationMs);
  }

  get laneCount(): number {
    return this.#lanes.size;
  }

  /** Number of armed entries, in lanes and in the heap (for leak tests; walks every lane). */
  get size(): number {
    let n = this.#heap.length;
    for (const lane of this.#lanes.values()) for (let e = lane.head; e !== null; e = e.nextEntry) n++;
    return n;
  }

  /** Number of scheduled heap entries. */
  get heapSize(): number {
    return this.#heap.length;
  }

  get timerArmed(): boolean {
    return this.#timer !== undefined;
  }

  /** Whether the armed timer keeps the process alive now (for leak tests). */
  get keepsAlive(): boolean {
    return this.#timer !== undefined && this.#refd;
  }

  entered(): void {
    if (this.#entries++ > 0 || this.#refd || this.#timer === undefined) return;
    this.#refd = true;
    this.clock.refTimer?.(this.#timer, true);
  }

  left(): void {
    if (--this.#entries > 0 || !this.#refd || this.#unrefDue) return;
    this.#unrefDue = true;
    setImmediate(this.#unrefIfIdle);
  }

  laneBecameActive(_lane: Lane, deadline: number): void {
    if (deadline < this.#armedAt) this.#arm(deadline, false);
  }

  // --- Heap entries ------------------------------------------------------------------------------

  /** Arms `entry` for its `deadline`, after the entries already due at the same time. */
  schedule(entry: HeapEntry): void {
    if (entry.heapIndex >= 0) {
      this.reschedule(entry);
      return;
    }
    entry.heapSeq = this.#heapSeq++;
    this.#insert(entry);
  }

  /** `entry.deadline` moved (or it fired and waits again): keeps its place among equal deadlines. */
  reschedule(entry: HeapEntry): void {
    const i = entry.heapIndex;
    if (i < 0) {
      this.#insert(entry);
      return;
    }
    this.#down(i);
    this.#up(entry.heapIndex);
    if (entry.heapIndex === 0) this.#heapTopChanged();
  }

  /** Disarms `entry`; does nothing if it is not scheduled. */
  unschedule(entry: HeapEntry): void {
    if (entry.heapIndex < 0) return;
    this.#take(entry);
    if (this.#entries === 1 && this.#timer !== undefined) {
      // Nothing else is armed: drop the timer rather than keep it until this deadline (see above).
      this.#entries = 0;
      this.clock.clearTimer(this.#timer);
      this.#timer = undefined;
      this.#armedAt = Number.POSITIVE_INFINITY;
      this.#refd = false;
      return;
    }
    this.left();
  }

  #insert(entry: HeapEntry): void {
    this.entered();
    const heap = this.#heap;
    entry.heapIndex = heap.length;
    heap.push(entry);
    this.#up(entry.heapIndex);
    if (entry.heapIndex === 0) this.#heapTopChanged();
  }

  #heapTopChanged(): void {
    const deadline = this.#heap[0]!.deadline;
    if (!this.#firing && deadline < this.#armedAt) this.#arm(deadline, true);
  }

  /** Unlinks `entry` from the heap (the caller accounts for it leaving). */
  #take(entry: HeapEntry): void {
    const heap = this.#heap;
    const i = entry.heapIndex;
    entry.heapIndex = -1;
    const last = heap.pop()!;
    if (last === entry) return;
    heap[i] = last;
    last.heapIndex = i;
    this.#down(i);
    this.#up(last.heapIndex);
  }

  #up(i: number): void {
    const heap = this.#heap;
    const item = heap[i]!;
    while (i > 0) {
      const p = (i - 1) >> 1;
      const parent = heap[p]!;
      if (!before(item, parent)) break;
      heap[i] = parent;
      parent.heapIndex = i;
      i = p;
    }
    heap[i] = item;
    item.heapIndex = i;
  }

  #down(i: number): void {
    const heap = this.#heap;
    const n = heap.length;
    const item = heap[i]!;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= n) break;
      const r = l + 1;
      const c = r < n && before(heap[r]!, heap[l]!) ? r : l;
      const child = heap[c]!;
      if (!before(child, item)) break;
      heap[i] = child;
      child.heapIndex = i;
      i = c;
    }
    heap[i] = item;
    item.heapIndex = i;
  }

  // --- The native timer --------------------------------------------------------------------------

  /** `exact`: armed for a heap entry, at its very time; else rounded up to a whole millisecond. */
  #arm(deadline: number, exact: boolean): void {
    if (this.#timer !== undefined) this.clock.clearTimer(this.#timer);
    this.#armedAt = deadline;
    // Native timers count whole milliseconds from a loop time that may be stale, so they can fire a
    // little early against a sub-millisecond clock: round up, and re-arm if an entry is not yet due.
    const ms = deadline - this.clock.now();
    const delayMs = Math.max(0, exact ? ms : Math.ceil(ms));
    this.#refd = this.#entries > 0;
    this.#timer = this.clock.setTimer(this.#fire, delayMs, this.#refd);
  }

  #onTimer(): void {
    this.#timer = undefined;
    this.#armedAt = Number.POSITIVE_INFINITY;
    const due = this.clock.now();
    let next = Number.POSITIVE_INFINITY;
    for (const lane of this.#lanes.values()) {
      // Unlink before calling: a callback may arm or disarm other entries, including in this lane.
      for (let entry = lane.head; entry !== null && entry.deadline <= due; entry = lane.head) {
        lane.remove(entry);
        entry.onDeadline();
      }
      if (lane.head !== null && lane.head.deadline < next) next = lane.head.deadline;
    }
    const heap = this.#heap;
    if (heap.length > 0) {
      this.#firing = true;
      try {
        for (let top = heap[0]; top !== undefined && top.deadline <= due + HEAP_SLACK_MS; top = heap[0]) {
          this.#take(top);
          this.left();
          top.onDeadline();
        }
      } finally {
        this.#firing = false;
      }
    }
    const top = heap[0];
    const exact = top !== undefined && top.deadline < next;
    if (exact) next = top.deadline;
    // A callback may have armed the timer already (a new lane became active).
    if (next < this.#armedAt) this.#arm(next, exact);
  }
}

function before(a: HeapEntry, b: HeapEntry): boolean {
  return a.deadline < b.deadline || (a.deadline === b.deadline && a.heapSeq < b.heapSeq);
}

const queues = new WeakMap<Clock, DeadlineQueue>();

/** One queue per clock, so fake clocks in tests never share state with the system clock. */
export function deadlineQueueFor(clock: Clock): DeadlineQueue {
  let queue = queues.get(clock);
  if (queue === undefined) {
    queue = new DeadlineQueue(clock);
    queues.set(clock, queue);
  }
  return queue;
}
