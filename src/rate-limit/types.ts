/**
 * The rules of one rate-limit algorithm for one key, with no clock, timer or promise: every method
 * takes `now` (ms on the policy clock's timeline). O(1) and allocation-free.
 *
 * A permit can be reserved ahead of time: a call that must wait takes the next free slot at once (the
 * state counts it as used), so later arrivals queue behind it. While calls wait, their slots are evenly
 * spaced `intervalMs` apart, the latest one last; `release()` gives back that latest slot, which is how
 * a waiter that leaves frees its permit (the policy moves every later waiter one slot earlier).
 */
export interface RateAlgorithm {
  /**
   * Reserves a permit. Returns the wait in ms (0: a permit is free now) when it is at most `maxWaitMs`;
   * otherwise reserves nothing and returns minus the wait (a negative number: reject, retry after).
   */
  acquire(now: number, maxWaitMs: number): number;
  /** Gives back the latest reserved slot (precondition: a reservation is still pending). */
  release(now: number): void;
  /** Whole permits that could be granted now, one after another, without waiting. */
  available(now: number): number;
  /** Milliseconds until a permit is free (0 when one is free now). Reserves nothing. */
  waitTime(now: number): number;
  /** True when the state is that of a fresh key, so dropping it changes nothing. */
  idle(now: number): boolean;
}

/**
 * Float slack for comparisons of accumulated refills: 1/3 of a permit added three times may come out a
 * hair under 1, which must not turn a free permit into a wait of 1e-13 ms.
 */
export const EPSILON = 1e-9;
