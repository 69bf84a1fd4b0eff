/** The longest delay a timer can take: Node fires a longer setTimeout after 1 ms instead. */
export const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * Time source for every policy. `now()` is monotonic milliseconds (never wall-clock time, which jumps).
 * Timers are unref'd unless `ref` is true, so a policy never keeps a finished process alive on its own;
 * a timer some caller is waiting on (a retry's sleep, a deadline of a call in flight) is ref'd.
 */
export interface Clock {
  now(): number;
  setTimer(callback: () => void, delayMs: number, ref?: boolean): TimerHandle;
  clearTimer(handle: TimerHandle): void;
  /**
   * Makes an armed timer keep the process alive (`ref`) or not. Optional: a clock without it leaves a
   * timer as it was armed.
   */
  refTimer?(handle: TimerHandle, ref: boolean): void;
}

/** Opaque handle returned by `Clock.setTimer`. */
export type TimerHandle = unknown;

/** Source of uniform random numbers in [0, 1); injected so jitter and sampling are repeatable in tests. */
export type RandomSource = () => number;

export const systemClock: Clock = Object.freeze({
  now: () => performance.now(),
  setTimer(callback: () => void, delayMs: number, ref = false): TimerHandle {
    // Node fires a delay above 2^31-1 ms (or NaN) after 1 ms: every timer of ours is armed here, so this
    // is the one place that keeps a huge Retry-After or break from turning into a hot loop.
    const timer = setTimeout(callback, delayMs > 0 ? Math.min(delayMs, MAX_TIMER_MS) : 0);
    if (!ref) timer.unref();
    return timer;
  },
  clearTimer(handle: TimerHandle): void {
    clearTimeout(handle as NodeJS.Timeout);
  },
  refTimer(handle: TimerHandle, ref: boolean): void {
    if (ref) (handle as NodeJS.Timeout).ref();
    else (handle as NodeJS.Timeout).unref();
  },
});

export const systemRandom: RandomSource = Math.random;
