import { type Backoff, constant, custom, exponential, type RetryDelayInfo } from '../core/backoff.js';
import { type RetryBudget, resolveBudget } from '../core/budget.js';
import { CLASSIFY_KEYS, Classifier, type ClassifyOptions } from '../core/classify.js';
import type { Clock, RandomSource } from '../core/clock.js';
import {
  COMMON_KEYS,
  type CommonOptions,
  resolveClock,
  resolveName,
  resolveRandom,
} from '../core/common-options.js';
import type { Failure } from '../core/failure.js';
import { checkKeys, func, invalid, MAX_TIMER_MS, number } from '../core/options.js';

export interface RetryOptions<R = unknown> extends CommonOptions, ClassifyOptions<R> {
  /** Retries after the first call. Default 3 (so at most 4 calls). Give this or `maxAttempts`, not both. */
  maxRetries?: number;
  /** Calls in total, the first included. `maxAttempts: 3` makes at most 3 calls. */
  maxAttempts?: number;
  /**
   * Delay between attempts: a Backoff (`exponential()` by default: 100 ms doubling, full jitter), a
   * constant number of ms, or a function of the failed attempt.
   */
  backoff?: Backoff | number | ((info: RetryDelayInfo<R>) => number);
  /** Upper bound of any single delay, ms. A Retry-After longer than this ends the retries. Default 30 000. */
  maxDelayMs?: number;
  /** Gives up when the next attempt would start at or later than this after the first one began. Default: no bound. */
  maxElapsedMs?: number;
  /**
   * Server pushback: how long the failure asks us to wait, in ms, or undefined. The delay is at least
   * this. Default: the error's numeric `retryAfterMs` property (set by breakwater's rejections and the
   * fetch integration).
   */
  retryAfter?: (failure: Failure<R>) => number | undefined;
  /**
   * Rejections by our own policies (`RejectedError`: an open circuit, a full bulkhead, a rate limit) are
   * retried only when they say the call may pass again within this many ms (`retryAfterMs`), and that
   * wait fits the remaining budget; otherwise the caller gets the rejection at once (reason 'rejected').
   * Default 1 000. `0` never retries them; `Infinity` retries them like any other failure.
   */
  maxRejectionWaitMs?: number;
  /** Random source for jitter (default Math.random). */
  random?: RandomSource;
  /** A budget shared with other retry and hedging policies; a retry it refuses ends with reason 'budget'. */
  budget?: RetryBudget;
}

export interface ResolvedRetryOptions {
  readonly name: string;
  readonly maxAttempts: number;
  readonly backoff: Backoff;
  readonly maxDelayMs: number;
  readonly maxElapsedMs: number;
  readonly maxRejectionWaitMs: number;
  readonly retryAfter: (failure: Failure<unknown>) => number | undefined;
  readonly classifier: Classifier;
  readonly clock: Clock;
  readonly random: RandomSource;
  readonly budget: RetryBudget | undefined;
}

const KEYS = [
  ...COMMON_KEYS,
  ...CLASSIFY_KEYS,
  'maxRetries',
  'maxAttempts',
  'backoff',
  'maxDelayMs',
  'maxElapsedMs',
  'maxRejectionWaitMs',
  'retryAfter',
  'random',
  'budget',
];
const DEFAULT_RETRIES = 3;
export const DEFAULT_BACKOFF = exponential();

export function defaultRetryAfter(failure: Failure<unknown>): number | undefined {
  if (failure.kind !== 'error') return undefined;
  const error = failure.error as { retryAfterMs?: unknown } | null;
  const ms = typeof error === 'object' && error !== null ? error.retryAfterMs : undefined;
  return typeof ms === 'number' && ms >= 0 && Number.isFinite(ms) ? ms : undefined;
}

function resolveBackoff(value: RetryOptions['backoff']): Backoff {
  if (value === undefined) return DEFAULT_BACKOFF;
  if (typeof value === 'number')
    return constant(number('retry.backoff', value, 0, { min: 0, max: MAX_TIMER_MS }));
  if (typeof value === 'function') return custom(value);
  if (typeof value === 'object' && value !== null && typeof (value as Backoff).delay === 'function')
    return value;
  return invalid('retry.backoff', 'a Backoff, a number of ms or a function', value);
}

export function resolveRetryOptions<R>(options: RetryOptions<R> = {}): ResolvedRetryOptions {
  checkKeys('retry', options, KEYS);
  if (options.maxRetries !== undefined && options.maxAttempts !== undefined) {
    invalid(
      'retry.maxAttempts',
      'absent when retry.maxRetries is given (they say the same thing)',
      options.maxAttempts,
    );
  }
  const maxAttempts =
    options.maxAttempts !== undefined
      ? number('retry.maxAttempts', options.maxAttempts, 0, { min: 1, integer: true, infinite: true })
      : number('retry.maxRetries', options.maxRetries, DEFAULT_RETRIES, {
          min: 0,
          integer: true,
          infinite: true,
        }) + 1;
  const name = resolveName('retry', options.name, 'retry');
  return Object.freeze({
    name,
    maxAttempts,
    backoff: resolveBackoff(options.backoff as RetryOptions['backoff']),
    maxDelayMs: number('retry.maxDelayMs', options.maxDelayMs, 30_000, { min: 0, max: MAX_TIMER_MS }),
    maxElapsedMs: number('retry.maxElapsedMs', options.maxElapsedMs, Number.POSITIVE_INFINITY, {
      min: 0,
      exclusiveMin: true,
      infinite: true,
    }),
    maxRejectionWaitMs: number('retry.maxRejectionWaitMs', options.maxRejectionWaitMs, 1_000, {
      min: 0,
      infinite: true,
    }),
    retryAfter: func(
      'retry.retryAfter',
      options.retryAfter,
      defaultRetryAfter as (f: Failure<R>) => number | undefined,
    ),
    classifier: new Classifier(name, 'retry', options as ClassifyOptions<never>, {
      ignoreUnknownOutcomes: true,
    }),
    clock: resolveClock('retry', options.clock),
    random: resolveRandom('retry', options.random),
    budget: resolveBudget('retry.budget', options.budget),
  } as ResolvedRetryOptions);
}
