import { type RetryBudget, resolveBudget } from '../core/budget.js';
import { CLASSIFY_KEYS, Classifier, type ClassifyOptions } from '../core/classify.js';
import type { Clock } from '../core/clock.js';
import { COMMON_KEYS, type CommonOptions, resolveClock, resolveName } from '../core/common-options.js';
import { boolean, checkKeys, invalid, MAX_TIMER_MS, number } from '../core/options.js';

export interface HedgeOptions<R = unknown> extends CommonOptions, ClassifyOptions<R> {
  /** Extra attempts at most (the first call not included). Default 1. */
  maxHedges?: number;
  /** Delay before a hedge, ms: fixed, or the warm-up value when `percentile` is set. Default 100. */
  delayMs?: number;
  /**
   * Hedge after the given percentile (0-100, e.g. 95) of recent successful attempt latencies instead of
   * a fixed delay, once `minSamples` are known; clamped to [minDelayMs, maxDelayMs].
   */
  percentile?: number;
  minSamples?: number;
  minDelayMs?: number;
  maxDelayMs?: number;
  /** Window of latencies the percentile is taken over, ms. Default 60 000. */
  windowMs?: number;
  /** A failed attempt starts the next one at once instead of waiting for the delay. Default true. */
  hedgeOnFailure?: boolean;
  /** Shared retry budget: a hedge it refuses is not started. */
  budget?: RetryBudget;
}

export interface ResolvedHedgeOptions {
  readonly name: string;
  readonly maxHedges: number;
  readonly delayMs: number;
  readonly percentile: number | undefined;
  readonly minSamples: number;
  readonly minDelayMs: number;
  readonly maxDelayMs: number;
  readonly windowMs: number;
  readonly hedgeOnFailure: boolean;
  readonly budget: RetryBudget | undefined;
  readonly classifier: Classifier;
  readonly clock: Clock;
}

const KEYS = [
  ...COMMON_KEYS,
  ...CLASSIFY_KEYS,
  'maxHedges',
  'delayMs',
  'percentile',
  'minSamples',
  'minDelayMs',
  'maxDelayMs',
  'windowMs',
  'hedgeOnFailure',
  'budget',
];

export function resolveHedgeOptions<R>(options: HedgeOptions<R> = {}): ResolvedHedgeOptions {
  checkKeys('hedge', options, KEYS);
  const minDelayMs = number('hedge.minDelayMs', options.minDelayMs, 0, { min: 0, max: MAX_TIMER_MS });
  const maxDelayMs = number('hedge.maxDelayMs', options.maxDelayMs, 60_000, { min: 0, max: MAX_TIMER_MS });
  if (maxDelayMs < minDelayMs)
    invalid('hedge.maxDelayMs', `at least minDelayMs (${minDelayMs})`, maxDelayMs, 'range');
  const name = resolveName('hedge', options.name, 'hedge');
  return Object.freeze({
    name,
    maxHedges: number('hedge.maxHedges', options.maxHedges, 1, { min: 1, max: 16, integer: true }),
    delayMs: number('hedge.delayMs', options.delayMs, 100, { min: 0, max: MAX_TIMER_MS }),
    percentile:
      options.percentile === undefined
        ? undefined
        : number('hedge.percentile', options.percentile, 0, { min: 0, max: 100, exclusiveMin: true }),
    minSamples: number('hedge.minSamples', options.minSamples, 100, { min: 1, integer: true }),
    minDelayMs,
    maxDelayMs,
    windowMs: number('hedge.windowMs', options.windowMs, 60_000, { min: 1 }),
    hedgeOnFailure: boolean('hedge.hedgeOnFailure', options.hedgeOnFailure, true),
    budget: resolveBudget('hedge.budget', options.budget),
    classifier: new Classifier(name, 'hedge', options as ClassifyOptions<never>, {
      ignoreUnknownOutcomes: true,
    }),
    clock: resolveClock('hedge', options.clock),
  });
}
