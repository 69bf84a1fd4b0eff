import type { Clock, TimerHandle } from './clock.js';
import { invalid } from './options.js';

interface FakeTimer {
  readonly at: number;
  readonly seq: number;
  readonly callback: () => void;
  ref: boolean;
}

/**
 * A clock whose time moves only when a test says so. Timers fire in deadline order (ties in creation
 * order); `tick` lets promise reactions run between timers so awaited code observes each step.
 */
export class FakeClock implements Clock {
  #now: number;
  #seq = 0;
  // Sorted by (at, seq). Tests hold few timers, so a sorted array beats a heap in clarity.
  #timers: FakeTimer[] = [];

  constructor(start = 0) {
    if (typeof start !== 'number' || !Number.isFinite(start))
      invalid('FakeClock(start)', 'a finite number', start, 'range');
    this.#now = start;
  }

  now(): number {
    return this.#now;
  }

  setTimer(callback: () => void, delayMs: number, ref = false): TimerHandle {
    const timer: FakeTimer = { at: this.#now + Math.max(0, delayMs), seq: this.#seq++, callback, ref };
    let i = this.#timers.length;
    while (i > 0 && this.#timers[i - 1]!.at > timer.at) i--;
    this.#timers.splice(i, 0, timer);
    return timer;
  }

  refTimer(handle: TimerHandle, ref: boolean): void {
    (handle as FakeTimer).ref = ref;
  }

  clearTimer(handle: TimerHandle): void {
    const i = this.#timers.indexOf(handle as FakeTimer);
    if (i !== -1) this.#timers.splice(i, 1);
  }

  /** Timers not yet fired or cleared. */
  get pendingTimers(): number {
    return this.#timers.length;
  }

  /** Timers that would keep a real process alive. */
  get refTimers(): number {
    return this.#timers.filter((t) => t.ref).length;
  }

  /** Moves time forward synchronously, firing due timers in order. Promise reactions do not run in between. */
  advance(ms: number): void {
    const target = this.#now + ms;
    for (let t = this.#nextDue(target); t !== undefined; t = this.#nextDue(target)) {
      this.#now = t.at;
      t.callback();
    }
    this.#now = target;
  }

  /** Moves time forward, letting pending promise reactions settle before and after each timer fires. */
  async tick(ms = 0): Promise<void> {
    const target = this.#now + ms;
    await flush();
    for (let t = this.#nextDue(target); t !== undefined; t = this.#nextDue(target)) {
      this.#now = t.at;
      t.callback();
      await flush();
    }
    this.#now = target;
    await flush();
  }

  /** Fires every timer, including ones scheduled while running, until none is left (or `limit` fired). */
  async runAll(limit = 10_000): Promise<void> {
    await flush();
    for (let n = 0; n < limit && this.#timers.length > 0; n++) {
      const t = this.#timers.shift()!;
      this.#now = Math.max(this.#now, t.at);
      t.callback();
      await flush();
    }
  }

  #nextDue(target: number): FakeTimer | undefined {
    const first = this.#timers[0];
    if (first === undefined || first.at > target) return undefined;
    this.#timers.shift();
    return first;
  }
}

/**
 * Lets queued promise reactions run, and what they queue in turn, including work deferred to the next
 * turn of the event loop (`setImmediate`, as a zero-delay retry does): a few turns, not one, so a chain
 * of such hops settles before the fake time moves on.
 */
export async function flush(): Promise<void> {
  for (let turn = 0; turn < FLUSH_TURNS; turn++) await new Promise((resolve) => setImmediate(resolve));
}
const FLUSH_TURNS = 4;
