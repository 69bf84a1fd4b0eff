import type { Clock } from '../../extend.js';

/**
 * A few counters over the last `windowMs`, in `slots` slots of clock time, rotated lazily like
 * RollingHistogram: no timer, and after an idle gap of a window every slot is cleared at once.
 * Counts live in one Float64Array (slot-major), so adding is an index and an increment.
 */
export class RollingCounts {
  readonly fields: number;
  readonly windowMs: number;
  readonly #slotMs: number;
  readonly #slots: number;
  readonly #counts: Float64Array;
  readonly #startedAt: number;
  #position = 0;
  #epoch: number;
  #nextRotationAt: number;

  constructor(fields: number, windowMs: number, slots: number, clock: Pick<Clock, 'now'>) {
    this.fields = fields;
    this.windowMs = windowMs;
    this.#slots = slots;
    this.#slotMs = windowMs / slots;
    this.#counts = new Float64Array(fields * slots);
    const now = clock.now();
    this.#startedAt = now;
    this.#epoch = Math.floor(now / this.#slotMs);
    this.#nextRotationAt = (this.#epoch + 1) * this.#slotMs;
  }

  add(field: number, now: number, n = 1): void {
    if (now >= this.#nextRotationAt) this.#rotate(now);
    this.#counts[this.#position * this.fields + field]! += n;
  }

  #rotate(now: number): void {
    const epoch = Math.floor(now / this.#slotMs);
    const steps = epoch - this.#epoch;
    // A clock that went back keeps the current slot.
    if (!(steps > 0)) return;
    const clear = steps < this.#slots ? steps : this.#slots;
    for (let k = 0; k < clear; k++) {
      this.#position = this.#position + 1 === this.#slots ? 0 : this.#position + 1;
      this.#counts.fill(0, this.#position * this.fields, (this.#position + 1) * this.fields);
    }
    this.#epoch = epoch;
    this.#nextRotationAt = (epoch + 1) * this.#slotMs;
  }

  /** Sums of every field over the window, written into `out`. */
  totals(now: number, out: number[] = []): number[] {
    if (now >= this.#nextRotationAt) this.#rotate(now);
    out.length = this.fields;
    out.fill(0);
    for (let s = 0; s < this.#slots; s++) {
      for (let f = 0; f < this.fields; f++) out[f]! += this.#counts[s * this.fields + f]!;
    }
    return out;
  }

  /**
   * Milliseconds the window covers now: the full slots behind the current one plus the current one's
   * elapsed part, but never more than the time since counting started (so early rates are not diluted).
   */
  coveredMs(now: number): number {
    if (now >= this.#nextRotationAt) this.#rotate(now);
    const covered = (this.#slots - 1) * this.#slotMs + (now - this.#epoch * this.#slotMs);
    // `now` may have been read just before this window was made (a frame's first sight of a policy):
    // a window never covers less than nothing.
    const since = now > this.#startedAt ? now - this.#startedAt : 0;
    return since < covered ? since : covered;
  }
}
