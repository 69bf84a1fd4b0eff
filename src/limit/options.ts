import type { RandomSource } from '../core/clock.js';
import { resolveRandom } from '../core/common-options.js';
import { checkKeys, invalid, type NumberRange, number } from '../core/options.js';
import { reportCallbackError } from '../core/report.js';

// Validation runs once, at construction; the per-sample path trusts these values.

/** A value given either as a constant or as a function of the current (integer) limit. */
export type PerLimit = number | ((limit: number) => number);

/** Bounds shared by every adaptive limit. */
export interface LimitBoundsOptions {
  /** Limit before any sample arrives. Default 20, clamped into [minLimit, maxLimit]. */
  initialLimit?: number;
  /** Lowest limit, an integer >= 1. Default 1. */
  minLimit?: number;
  /** Highest limit, an integer >= minLimit. Default max(1000, minLimit). */
  maxLimit?: number;
}

export interface ResolvedLimitBounds {
  readonly initialLimit: number;
  readonly minLimit: number;
  readonly maxLimit: number;
}

const BOUNDS_KEYS = ['initialLimit', 'minLimit', 'maxLimit'] as const;
const DEFAULT_INITIAL = 20;
const DEFAULT_MAX = 1000;

function resolveBounds(path: string, options: LimitBoundsOptions): ResolvedLimitBounds {
  const minLimit = number(`${path}.minLimit`, options.minLimit, 1, { min: 1, integer: true });
  const maxLimit = number(`${path}.maxLimit`, options.maxLimit, Math.max(DEFAULT_MAX, minLimit), {
    min: minLimit,
    integer: true,
  });
  const initialLimit = number(
    `${path}.initialLimit`,
    options.initialLimit,
    Math.min(maxLimit, Math.max(minLimit, DEFAULT_INITIAL)),
    { min: minLimit, max: maxLimit, integer: true },
  );
  return { initialLimit, minLimit, maxLimit };
}

/** A number, or a function of the limit; a constant becomes a function so the hot path has one shape. */
function perLimit(
  path: string,
  value: unknown,
  fallback: (limit: number) => number,
  range: NumberRange,
): (limit: number) => number {
  if (value === undefined) return fallback;
  if (typeof value === 'function') return guardedPerLimit(path, value as (limit: number) => number, fallback);
  if (typeof value !== 'number') return invalid(path, 'a number or a function of the limit', value);
  const constant = number(path, value, 0, range);
  return () => constant;
}

/** Upper bound ratio that must stay below 1 (a "backoff" of 1 would never back off). */
function ratioBelowOne(path: string, value: unknown, fallback: number, min: number): number {
  const ratio = number(path, value, fallback, { min, max: 1 });
  if (ratio === 1) invalid(path, `a number in [${min}, 1)`, ratio, 'range');
  return ratio;
}

/**
 * max(1, floor(log10(limit))): 1 up to 99, 2 up to 999, ... Netflix's Vegas scales its thresholds with
 * it so a large limit moves in proportionally larger steps. (Netflix switches to sqrt above 1000; the
 * log keeps steps small, which matters more than speed at such limits.)
 */
export function log10Root(limit: number): number {
  return limit < 100 ? 1 : Math.max(1, Math.floor(Math.log10(limit)));
}

// ---------------------------------------------------------------------------------------------- AIMD

export interface AimdLimitOptions extends LimitBoundsOptions {
  /** Multiplier applied on a drop or a slow sample, in [0.5, 1). Default 0.9. */
  backoffRatio?: number;
  /**
   * Added per successful sample while at least half the limit is in use, > 0. Default 1. Samples from
   * calls started before the last change are ignored, so under load that is one step per round trip.
   */
  increment?: number;
  /**
   * A sample slower than this (ms) counts as a drop. Default Infinity: only samples flagged `dropped`
   * decrease the limit.
   */
  timeoutMs?: number;
}

export interface ResolvedAimdOptions extends ResolvedLimitBounds {
  readonly backoffRatio: number;
  readonly increment: number;
  readonly timeoutMs: number;
}

const AIMD_KEYS = [...BOUNDS_KEYS, 'backoffRatio', 'increment', 'timeoutMs'];

export function resolveAimdOptions(options: AimdLimitOptions = {}): ResolvedAimdOptions {
  checkKeys('aimdLimit', options, AIMD_KEYS);
  return Object.freeze({
    ...resolveBounds('aimdLimit', options),
    backoffRatio: ratioBelowOne('aimdLimit.backoffRatio', options.backoffRatio, 0.9, 0.5),
    increment: number('aimdLimit.increment', options.increment, 1, { min: 0, exclusiveMin: true }),
    timeoutMs: number('aimdLimit.timeoutMs', options.timeoutMs, Number.POSITIVE_INFINITY, {
      min: 0,
      exclusiveMin: true,
      infinite: true,
    }),
  });
}

// --------------------------------------------------------------------------------------------- Vegas

export interface VegasLimitOptions extends LimitBoundsOptions {
  /** Below this estimated queue the limit grows by `increase`. Default 3·log10Root(limit). */
  alpha?: PerLimit;
  /** Above this estimated queue the limit shrinks by `decrease`. Default 6·log10Root(limit). */
  beta?: PerLimit;
  /** At or below this estimated queue the limit grows by beta at once. Default log10Root(limit). */
  threshold?: PerLimit;
  /** New limit after a gentle increase. Default limit + log10Root(limit). */
  increase?: (limit: number) => number;
  /** New limit after a decrease (queue above beta, or a drop). Default limit - log10Root(limit). */
  decrease?: (limit: number) => number;
  /** Weight of each new estimate, in (0, 1]; 1 applies it at once. Default 1. */
  smoothing?: number;
  /**
   * Every probeMultiplier × limit × U(0.5, 1) samples (about that many round trips under load), the
   * limit is halved for one round to re-measure the no-load rtt, so a base latency that rose for good is
   * learnt again. Each probe costs about half a round of throughput. An integer >= 1. Default 100.
   */
  probeMultiplier?: number;
  /** Random source for the probe jitter (default Math.random). */
  random?: RandomSource;
}

export interface ResolvedVegasOptions extends ResolvedLimitBounds {
  readonly alpha: (limit: number) => number;
  readonly beta: (limit: number) => number;
  readonly threshold: (limit: number) => number;
  readonly increase: (limit: number) => number;
  readonly decrease: (limit: number) => number;
  readonly smoothing: number;
  readonly probeMultiplier: number;
  readonly random: RandomSource;
}

const VEGAS_KEYS = [
  ...BOUNDS_KEYS,
  'alpha',
  'beta',
  'threshold',
  'increase',
  'decrease',
  'smoothing',
  'probeMultiplier',
  'random',
];

export const VEGAS_DEFAULTS = Object.freeze({
  alpha: (limit: number) => 3 * log10Root(limit),
  beta: (limit: number) => 6 * log10Root(limit),
  threshold: (limit: number) => log10Root(limit),
  increase: (limit: number) => limit + log10Root(limit),
  decrease: (limit: number) => limit - log10Root(limit),
});

/** A user function of the limit that throws or answers no finite number is reported; the default answers instead. */
function guardedPerLimit(
  path: string,
  fn: (limit: number) => number,
  fallback: (limit: number) => number,
): (limit: number) => number {
  return (limit) => {
    let result: number;
    try {
      result = fn(limit);
    } catch (error) {
      reportCallbackError(path, '(limit)', error);
      return fallback(limit);
    }
    return Number.isFinite(result) ? result : fallback(limit);
  };
}

function limitFunction(
  path: string,
  value: unknown,
  fallback: (limit: number) => number,
): (limit: number) => number {
  if (value === undefined) return fallback;
  if (typeof value !== 'function') return invalid(path, 'a function of the limit', value);
  return guardedPerLimit(path, value as (limit: number) => number, fallback);
}

export function resolveVegasOptions(options: VegasLimitOptions = {}): ResolvedVegasOptions {
  checkKeys('vegasLimit', options, VEGAS_KEYS);
  const queue: NumberRange = { min: 0 };
  const alpha = perLimit('vegasLimit.alpha', options.alpha, VEGAS_DEFAULTS.alpha, queue);
  // Only constants can be compared here; functions are trusted to keep alpha <= beta.
  const betaMin = typeof options.alpha === 'number' ? options.alpha : 0;
  return Object.freeze({
    ...resolveBounds('vegasLimit', options),
    alpha,
    beta: perLimit('vegasLimit.beta', options.beta, VEGAS_DEFAULTS.beta, { min: betaMin }),
    threshold: perLimit('vegasLimit.threshold', options.threshold, VEGAS_DEFAULTS.threshold, queue),
    increase: limitFunction('vegasLimit.increase', options.increase, VEGAS_DEFAULTS.increase),
    decrease: limitFunction('vegasLimit.decrease', options.decrease, VEGAS_DEFAULTS.decrease),
    smoothing: number('vegasLimit.smoothing', options.smoothing, 1, { min: 0, exclusiveMin: true, max: 1 }),
    probeMultiplier: number('vegasLimit.probeMultiplier', options.probeMultiplier, 100, {
      min: 1,
      integer: true,
    }),
    random: resolveRandom('vegasLimit', options.random),
  });
}

// ----------------------------------------------------------------------------------------- Gradient2

export interface Gradient2LimitOptions extends LimitBoundsOptions {
  /** Weight of each new estimate, in (0, 1]. Default 0.2. */
  smoothing?: number;
  /** How much the short rtt may exceed the long one before the limit shrinks, >= 1. Default 1.5. */
  tolerance?: number;
  /** Short windows averaged by the long-term rtt (exponential, factor 2/(n+1)), integer >= 1. Default 600. */
  longWindow?: number;
  /** Minimum span of one short window, ms, measured on sample completion times. Default 1000. */
  windowMs?: number;
  /** Minimum samples in one short window, integer >= 1. Default 10. */
  windowSize?: number;
  /** Headroom added per update while the short rtt is within tolerance, >= 0. Default sqrt(limit). */
  headroom?: PerLimit;
}

export interface ResolvedGradient2Options extends ResolvedLimitBounds {
  readonly smoothing: number;
  readonly tolerance: number;
  readonly longWindow: number;
  readonly windowMs: number;
  readonly windowSize: number;
  readonly headroom: (limit: number) => number;
}

const GRADIENT2_KEYS = [
  ...BOUNDS_KEYS,
  'smoothing',
  'tolerance',
  'longWindow',
  'windowMs',
  'windowSize',
  'headroom',
];

export const GRADIENT2_DEFAULTS = Object.freeze({
  headroom: (limit: number) => Math.sqrt(limit),
});

export function resolveGradient2Options(options: Gradient2LimitOptions = {}): ResolvedGradient2Options {
  checkKeys('gradient2Limit', options, GRADIENT2_KEYS);
  return Object.freeze({
    ...resolveBounds('gradient2Limit', options),
    smoothing: number('gradient2Limit.smoothing', options.smoothing, 0.2, {
      min: 0,
      exclusiveMin: true,
      max: 1,
    }),
    tolerance: number('gradient2Limit.tolerance', options.tolerance, 1.5, { min: 1 }),
    longWindow: number('gradient2Limit.longWindow', options.longWindow, 600, { min: 1, integer: true }),
    windowMs: number('gradient2Limit.windowMs', options.windowMs, 1000, { min: 0 }),
    windowSize: number('gradient2Limit.windowSize', options.windowSize, 10, { min: 1, integer: true }),
    headroom: perLimit('gradient2Limit.headroom', options.headroom, GRADIENT2_DEFAULTS.headroom, {
      min: 0,
    }),
  });
}
