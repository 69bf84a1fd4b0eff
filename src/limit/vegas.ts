import { AdjustableLimit, usableRtt } from './adjustable-limit.js';
import { type ResolvedVegasOptions, resolveVegasOptions, type VegasLimitOptions } from './options.js';
import type { ConcurrencyLimit, LimitSample } from './types.js';

export interface VegasLimit extends ConcurrencyLimit {
  readonly options: ResolvedVegasOptions;
  /** Estimated rtt without queueing, ms: the smallest seen since the last probe (Infinity before any). */
  readonly rttNoLoadMs: number;
}

/**
 * Delay-based limit after TCP Vegas: the queue a limit builds is estimated from how far the rtt is above
 * the no-load rtt, and the limit moves to keep that queue between alpha and beta.
 */
export function vegasLimit(options?: VegasLimitOptions): VegasLimit {
  return new Vegas(resolveVegasOptions(options));
}

class Vegas extends AdjustableLimit implements VegasLimit {
  readonly options: ResolvedVegasOptions;
  #rttNoLoad = Number.POSITIVE_INFINITY;
  #sinceProbe = 0;
  #probeJitter: number;
  /** Fresh samples still to collect in the current probe; 0 when not probing. */
  #probeLeft = 0;
  #probeMin = Number.POSITIVE_INFINITY;
  /** Estimate to restore when the probe ends. */
  #resume = 0;

  constructor(options: ResolvedVegasOptions) {
    super(options.initialLimit, options.minLimit, options.maxLimit);
    this.options = options;
    this.#probeJitter = this.#nextJitter();
  }

  get rttNoLoadMs(): number {
    return this.#rttNoLoad;
  }

  onSample(sample: LimitSample): void {
    const { rttMs } = sample;
    if (!usableRtt(rttMs)) return;
    const o = this.options;
    const now = sample.startedAt + rttMs;
    const stale = this.stale(sample);
    if (sample.dropped) {
      // A drop's rtt is a timeout or a fast rejection, not a service time: it never feeds the no-load rtt.
      // One drop in the middle of a probe confirms overload: keep the drained limit and stop probing.
      this.#probeLeft = 0;
      if (!stale) this.#apply(o.decrease(this.estimate), now);
      return;
    }
    if (this.#probeLeft > 0) {
      if (stale) return;
      if (rttMs < this.#probeMin) this.#probeMin = rttMs;
      if (--this.#probeLeft === 0) {
        this.#rttNoLoad = this.#probeMin;
        this.adjust(this.#resume, now);
      }
      return;
    }
    if (rttMs < this.#rttNoLoad) {
      this.#rttNoLoad = rttMs;
      return;
    }
    // App-limited: the queue estimate assumes the limit is in use, and a probe would learn nothing that
    // these unqueued samples do not already show.
    if (sample.inflight * 2 < this.estimate) return;
    if (++this.#sinceProbe >= this.#probeJitter * o.probeMultiplier * this.estimate) {
      this.#startProbe(now);
      return;
    }
    if (stale) return;

    const limit = this.limit;
    // queue = limit × (1 − rttNoLoad / rtt), with rtt >= rttNoLoad here; rtt = 0 means no queue.
    const queue = rttMs === 0 ? 0 : Math.ceil(this.estimate * (1 - this.#rttNoLoad / rttMs));
    if (queue <= o.threshold(limit)) this.#apply(this.estimate + o.beta(limit), now);
    else if (queue < o.alpha(limit)) this.#apply(o.increase(this.estimate), now);
    else if (queue > o.beta(limit)) this.#apply(o.decrease(this.estimate), now);
  }

  /**
   * The minimum rtt only ever goes down, so a base latency that rose for good would read as a queue
   * forever. Netflix resets the minimum to the current sample; under sustained load that sample is
   * queued too, so each reset raises the base and the limit with it. Instead, halve the limit for one
   * round: calls admitted under the halved limit meet an empty downstream queue, and their fastest rtt
   * becomes the new base. Jitter keeps many clients from probing in step.
   */
  #startProbe(now: number): void {
    this.#sinceProbe = 0;
    this.#probeJitter = this.#nextJitter();
    this.#resume = this.estimate;
    this.#probeMin = Number.POSITIVE_INFINITY;
    this.#probeLeft = Math.max(1, Math.ceil(this.estimate / 2));
    this.adjust(this.estimate / 2, now);
  }

  #apply(target: number, now: number): void {
    const s = this.options.smoothing;
    this.adjust(s === 1 ? target : (1 - s) * this.estimate + s * target, now);
  }

  #nextJitter(): number {
    return 0.5 + 0.5 * this.options.random();
  }
}
