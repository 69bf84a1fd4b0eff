import type { Clock } from '../core/clock.js';
import { COMMON_KEYS, type CommonOptions, resolveClock, resolveName } from '../core/common-options.js';
import { checkKeys, invalid, MAX_TIMER_MS, number, oneOf } from '../core/options.js';

export type RateLimitAlgorithm = 'token-bucket' | 'smooth';

export interface KeyedRateLimitOptions {
  /**
   * Keys tracked at most (least recently used keys are dropped first; keys with waiting calls are kept
   * until their calls leave). Default 10 000.
   */
  maxKeys?: number;
}

export interface RateLimiterOptions extends CommonOptions {
  /**
   * `token-bucket` (default): bursts up to `burst` calls, then `ratePerSecond` on average.
   * `smooth`: evenly spaced permits (GCRA), no bursts beyond `toleranceMs`.
   */
  algorithm?: RateLimitAlgorithm;
  /** Permits per second. Give this, or `tokens` per `intervalMs`. */
  ratePerSecond?: number;
  /** Permits per `intervalMs` (refilled continuously, not all at once at each interval). */
  tokens?: number;
  /** The interval of `tokens`, ms. Default 1 000. */
  intervalMs?: number;
  /** Token bucket capacity: calls that may pass at once after a quiet period. Default: one interval's permits. */
  burst?: number;
  /** Smooth only: how early a call may come before its evenly spaced slot, ms. Default 0. */
  toleranceMs?: number;
  /**
   * Longest a call may wait for its permit, ms; a call that would wait longer is rejected at once with
   * `RateLimitedError` (`retryAfterMs` = the wait it would need). Default 0: never wait.
   */
  maxWaitMs?: number;
  /**
   * Separate limits per `execute(fn, { key })` key (calls without a key share one limit). `true` or
   * `{ maxKeys }`. Default false: one limit for every call.
   */
  keyed?: boolean | KeyedRateLimitOptions;
}

export interface ResolvedRateLimiterOptions {
  readonly name: string;
  readonly algorithm: RateLimitAlgorithm;
  readonly ratePerSecond: number;
  /** Spacing between permits at the sustained rate, ms (1 000 / ratePerSecond). */
  readonly permitIntervalMs: number;
  /** Token bucket capacity (1 for smooth). */
  readonly burst: number;
  /** Smooth tolerance, ms (0 for the token bucket). */
  readonly toleranceMs: number;
  readonly maxWaitMs: number;
  readonly keyed: boolean;
  /** Keys tracked at most when keyed (Infinity-free: always a bound). */
  readonly maxKeys: number;
  readonly clock: Clock;
}

const KEYS = [
  ...COMMON_KEYS,
  'algorithm',
  'ratePerSecond',
  'tokens',
  'intervalMs',
  'burst',
  'toleranceMs',
  'maxWaitMs',
  'keyed',
];
export const MAX_RATE = 1e9;
const MAX_KEYS = 10_000_000;

export function resolveRateLimiterOptions(input: number | RateLimiterOptions): ResolvedRateLimiterOptions {
  const path = 'rateLimiter';
  const options: RateLimiterOptions = typeof input === 'number' ? { ratePerSecond: input } : input;
  if (typeof options !== 'object' || options === null) invalid(path, 'an options object or a rate', options);
  checkKeys(path, options, KEYS);
  const algorithm = oneOf(`${path}.algorithm`, options.algorithm, 'token-bucket', [
    'token-bucket',
    'smooth',
  ] as const);

  const { ratePerSecond, perInterval } = resolveRate(path, options);

  if (algorithm === 'smooth' && options.burst !== undefined) {
    invalid(`${path}.burst`, 'unset for the smooth algorithm (use toleranceMs)', options.burst);
  }
  if (algorithm === 'token-bucket' && options.toleranceMs !== undefined) {
    invalid(`${path}.toleranceMs`, 'unset for the token bucket (use burst)', options.toleranceMs);
  }
  const burst =
    algorithm === 'smooth'
      ? 1
      : number(`${path}.burst`, options.burst, Math.max(1, Math.floor(perInterval)), {
          min: 1,
          max: MAX_RATE,
          integer: true,
        });
  const toleranceMs = number(`${path}.toleranceMs`, options.toleranceMs, 0, { min: 0, max: MAX_TIMER_MS });

  const { keyed, maxKeys } = resolveKeyed(path, options.keyed);

  return Object.freeze({
    name: resolveName(path, options.name, 'rateLimiter'),
    algorithm,
    ratePerSecond,
    permitIntervalMs: 1_000 / ratePerSecond,
    burst,
    toleranceMs,
    maxWaitMs: number(`${path}.maxWaitMs`, options.maxWaitMs, 0, { min: 0, max: MAX_TIMER_MS }),
    keyed,
    maxKeys,
    clock: resolveClock(path, options.clock),
  });
}

/**
 * The sustained rate, from `ratePerSecond` or from `tokens` per `intervalMs` (one of the two), and the
 * permits of one interval: the default burst.
 */
export function resolveRate(
  path: string,
  options: Pick<RateLimiterOptions, 'ratePerSecond' | 'tokens' | 'intervalMs'>,
): { ratePerSecond: number; perInterval: number } {
  if (options.ratePerSecond !== undefined) {
    if (options.tokens !== undefined || options.intervalMs !== undefined) {
      invalid(`${path}.ratePerSecond`, 'given alone (not with tokens / intervalMs)', options.ratePerSecond);
    }
    const ratePerSecond = number(`${path}.ratePerSecond`, options.ratePerSecond, 0, {
      min: 0,
      max: MAX_RATE,
      exclusiveMin: true,
    });
    return { ratePerSecond, perInterval: ratePerSecond };
  }
  if (options.tokens === undefined) {
    invalid(`${path}.ratePerSecond`, 'a rate (or tokens per intervalMs)', undefined);
  }
  const tokens = number(`${path}.tokens`, options.tokens, 0, { min: 1, max: MAX_RATE, integer: true });
  const intervalMs = number(`${path}.intervalMs`, options.intervalMs, 1_000, {
    min: 0,
    max: MAX_TIMER_MS,
    exclusiveMin: true,
  });
  const ratePerSecond = (tokens * 1_000) / intervalMs;
  if (ratePerSecond > MAX_RATE) invalid(`${path}.tokens`, `at most ${MAX_RATE} per second`, tokens, 'range');
  return { ratePerSecond, perInterval: tokens };
}

/** `keyed`: a boolean, or `{ maxKeys }` for keyed with a bound other than the default 10 000. */
export function resolveKeyed(path: string, value: unknown): { keyed: boolean; maxKeys: number } {
  if (typeof value === 'object' && value !== null) {
    const keyed = value as KeyedRateLimitOptions;
    checkKeys(`${path}.keyed`, keyed, ['maxKeys']);
    return {
      keyed: true,
      maxKeys: number(`${path}.keyed.maxKeys`, keyed.maxKeys, 10_000, {
        min: 1,
        max: MAX_KEYS,
        integer: true,
      }),
    };
  }
  if (value !== undefined && typeof value !== 'boolean') {
    invalid(`${path}.keyed`, 'a boolean or { maxKeys }', value);
  }
  return { keyed: value === true, maxKeys: 10_000 };
}
