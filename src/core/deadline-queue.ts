import type { Clock, TimerHandle } from './clock.js';

/**
 * Shared deadline structure: every armed timeout of a clock lives here, and one unref'd native timer
 * is armed for the earliest deadline. Arming and disarming are O(1) list operations, with no timer,
 * closure or allocation per call (the entry is the call's own scope).
 *
 * Entries sit in lanes, one lane per timeout duration. Within a lane, deadline = now + duration with a
 * monotonic `now`, so appending keeps the lane sorted and its head is its earliest deadline. A native
 * timer is only (re)armed when a deadline earlier than the armed one appears; entries removed early
 * are simply absent when it fires, which then re-arms for the next head.
 *
 * The timer keeps the process alive while some entry is armed: a caller is waiting on that deadline
 * (a task that holds no handle of its own can only be ended by it); once the last entry has gone, it is
 * unref'd by the end of the event-loop turn, so the process may exit rather than wait for the last
 * deadline to pass. Deferring the unref to the turn's end keeps sequential calls (each arming and
 * disarming within one turn) from toggling the native timer on every call.
 */
export interface DeadlineEntry {
  deadline: number;
  prevEntry: DeadlineEntry | null;
  nextEntry: DeadlineEntry | null;
  lane: Lane | null;
  onDeadline(): void;
}

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

  /** Number of armed entries (for leak tests; walks every lane). */
  get size(): number {
    let n = 0;
    for (const lane of this.#lanes.values()) for (let e = lane.head; e !== null; e = e.nextEntry) n++;
    return n;
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
    if (deadline < this.#armedAt) this.#arm(deadline);
  }

  #arm(deadline: number): void {
    if (this.#timer !== undefined) this.clock.clearTimer(this.#timer);
    this.#armedAt = deadline;
    // Native timers count whole milliseconds from a loop time that may be stale, so they can fire a
    // little early against a sub-millisecond clock: round up, and re-arm if an entry is not yet due.
    const delayMs = Math.max(0, Math.ceil(deadline - this.clock.now()));
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
    // A callback may have armed the timer already (a new lane became active).
    if (next < this.#armedAt) this.#arm(next);
  }
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
