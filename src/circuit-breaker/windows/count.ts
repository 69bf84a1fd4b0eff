import { FAILED, type OutcomeWindow, SLOW, type WindowExport } from './types.js';

/** The last `size` calls, as a ring of outcome flags with running totals: O(1), no allocation per call. */
export class CountWindow implements OutcomeWindow {
  readonly size: number;
  calls = 0;
  failures = 0;
  slowCalls = 0;
  readonly #ring: Uint8Array;
  #next = 0;

  constructor(size: number) {
    this.size = size;
    this.#ring = new Uint8Array(size);
  }

  record(failed: boolean, slow: boolean): void {
    const i = this.#next;
    if (this.calls === this.size) {
      const old = this.#ring[i]!;
      if (old & FAILED) this.failures--;
      if (old & SLOW) this.slowCalls--;
    } else {
      this.calls++;
    }
    this.#ring[i] = (failed ? FAILED : 0) | (slow ? SLOW : 0);
    if (failed) this.failures++;
    if (slow) this.slowCalls++;
    this.#next = i + 1 === this.size ? 0 : i + 1;
  }

  advance(): void {}

  reset(): void {
    this.#ring.fill(0);
    this.#next = 0;
    this.calls = this.failures = this.slowCalls = 0;
  }

  export(): WindowExport {
    const outcomes: number[] = [];
    const start = this.calls === this.size ? this.#next : 0;
    for (let k = 0; k < this.calls; k++) outcomes.push(this.#ring[(start + k) % this.size]!);
    return { kind: 'count', size: this.size, outcomes };
  }

  import(data: WindowExport): boolean {
    if (data.kind !== 'count' || data.size !== this.size || !Array.isArray(data.outcomes)) return false;
    if (
      data.outcomes.length > this.size ||
      data.outcomes.some((o) => !Number.isInteger(o) || o < 0 || o > 3)
    ) {
      return false;
    }
    this.reset();
    for (const o of data.outcomes) this.record((o & FAILED) !== 0, (o & SLOW) !== 0);
    return true;
  }
}
