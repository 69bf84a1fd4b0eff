import { AdjustableLimit, usableRtt } from './adjustable-limit.js';
import { type AimdLimitOptions, type ResolvedAimdOptions, resolveAimdOptions } from './options.js';
import type { ConcurrencyLimit, LimitSample } from './types.js';

export interface AimdLimit extends ConcurrencyLimit {
  readonly options: ResolvedAimdOptions;
}

/**
 * Loss-based limit (additive increase, multiplicative decrease). It reacts only to drops and, when
 * `timeoutMs` is set, to samples slower than it; it does not read latency otherwise, so it settles
 * where calls start to fail or to exceed `timeoutMs`, not at the knee of the latency curve.
 */
export function aimdLimit(options?: AimdLimitOptions): AimdLimit {
  return new Aimd(resolveAimdOptions(options));
}

class Aimd extends AdjustableLimit implements AimdLimit {
  readonly options: ResolvedAimdOptions;

  constructor(options: ResolvedAimdOptions) {
    super(options.initialLimit, options.minLimit, options.maxLimit);
    this.options = options;
  }

  onSample(sample: LimitSample): void {
    const { rttMs } = sample;
    // One step per round trip: a call that started before the last change speaks for the old limit.
    if (!usableRtt(rttMs) || this.stale(sample)) return;
    const o = this.options;
    const now = sample.startedAt + rttMs;
    if (sample.dropped || rttMs > o.timeoutMs) {
      // At least one step down, so a small limit (where limit × ratio rounds back to itself) still backs off.
      this.adjust(Math.min(this.estimate * o.backoffRatio, this.limit - 1), now);
    } else if (sample.inflight * 2 >= this.limit) {
      this.adjust(this.estimate + o.increment, now);
    }
    // Otherwise app-limited: fewer than half the permits were in use, so a success says nothing about a
    // higher limit.
  }
}
