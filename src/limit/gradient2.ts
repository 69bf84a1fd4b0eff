import { AdjustableLimit, usableRtt } from './adjustable-limit.js';
import {
  type Gradient2LimitOptions,
  type ResolvedGradient2Options,
  resolveGradient2Options,
} from './options.js';
import type { ConcurrencyLimit, LimitSample } from './types.js';

export interface Gradient2Limit extends ConcurrencyLimit {
  readonly options: ResolvedGradient2Options;
  /** Long-term rtt, ms (NaN before the first window closes). */
  readonly longRttMs: number;
  /** Average rtt of the last closed window, ms (NaN before the first window closes). */
  readonly shortRttMs: number;
}

/**
 * Delay-based limit after Netflix's Gradient2: compares a short-term average rtt with a long-term
 * exponential average, and shrinks the limit by that gradient (allowing `tolerance`), adding some
 * headroom so the limit keeps probing upwards while latency stays flat.
 */
export function gradient2Limit(options?: Gradient2LimitOptions): Gradient2Limit {
  return new Gradient2(resolveGradient2Options(options));
}

/** The long average is a plain mean over its first windows, so one early outlier does not set the base. */
const WARMUP_WINDOWS = 10;
/** When the long rtt is this many times the short one, the load is gone: let the base come down faster. */
const DRIFT_RATIO = 2;
const DRIFT_DECAY = 0.95;
/** The gradient never cuts more than half per update: one window of outliers cannot collapse the limit. */
const MIN_GRADIENT = 0.5;

class Gradient2 extends AdjustableLimit implements Gradient2Limit {
  readonly options: ResolvedGradient2Options;
  readonly #factor: number;
  #longRtt = Number.NaN;
  #longCount = 0;
  #shortRtt = Number.NaN;
  // The open window, as running totals: nothing is allocated per sample.
  #windowEnd = Number.NaN;
  #sum = 0;
  #count = 0;
  #maxInflight = 0;
  #dropped = false;

  constructor(options: ResolvedGradient2Options) {
    super(options.initialLimit, options.minLimit, options.maxLimit);
    this.options = options;
    this.#factor = 2 / (options.longWindow + 1);
  }

  get longRttMs(): number {
    return this.#longRtt;
  }

  get shortRttMs(): number {
    return this.#shortRtt;
  }

  onSample(sample: LimitSample): void {
    const { rttMs } = sample;
    if (!usableRtt(rttMs)) return;
    const o = this.options;
    // Windows are timed by completion times carried in the samples, never by a timer.
    const end = sample.startedAt + rttMs;
    if (this.#count === 0) this.#windowEnd = end + o.windowMs;
    this.#sum += rttMs;
    this.#count++;
    if (sample.inflight > this.#maxInflight) this.#maxInflight = sample.inflight;
    if (sample.dropped) this.#dropped = true;
    if (this.#count < o.windowSize || end < this.#windowEnd) return;

    const shortRtt = this.#sum / this.#count;
    const inflight = this.#maxInflight;
    const dropped = this.#dropped;
    this.#sum = 0;
    this.#count = 0;
    this.#maxInflight = 0;
    this.#dropped = false;
    this.#update(shortRtt, inflight, dropped, end);
  }

  #update(shortRtt: number, inflight: number, dropped: boolean, now: number): void {
    const o = this.options;
    this.#shortRtt = shortRtt;
    let longRtt: number;
    if (this.#longCount < WARMUP_WINDOWS) {
      this.#longCount++;
      longRtt =
        this.#longCount === 1 ? shortRtt : this.#longRtt + (shortRtt - this.#longRtt) / this.#longCount;
    } else {
      longRtt = this.#longRtt + (shortRtt - this.#longRtt) * this.#factor;
    }
    // After a long overload the base has drifted up; without this, recovery would wait for the slow
    // average to come down.
    if (longRtt > DRIFT_RATIO * shortRtt) longRtt *= DRIFT_DECAY;
    this.#longRtt = longRtt;

    // A drop is the strongest overload signal there is: take the steepest gradient.
    let gradient = MIN_GRADIENT;
    if (!dropped) {
      // shortRtt = 0 (a clock too coarse for the calls) shows no queue.
      const ratio = shortRtt > 0 ? (o.tolerance * longRtt) / shortRtt : 1;
      gradient = ratio < MIN_GRADIENT ? MIN_GRADIENT : ratio > 1 ? 1 : ratio;
    }
    const estimate = this.estimate;
    // Headroom only while latency is within tolerance: added under queueing too (as Netflix does), a
    // headroom of sqrt(limit) outweighs a gradient of 0.8 below a limit of 25, so the limit would grow
    // while the downstream queues (see Netflix/concurrency-limits#134).
    const target = estimate * gradient + (gradient < 1 ? 0 : o.headroom(this.limit));
    const next = estimate * (1 - o.smoothing) + target * o.smoothing;
    // App-limited (fewer than half the permits used all window): latency may still say "shrink", but
    // nothing says a higher limit would help.
    if (inflight * 2 < estimate && next > estimate) return;
    this.adjust(next, now);
  }
}
