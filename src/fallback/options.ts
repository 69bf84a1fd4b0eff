import { CLASSIFY_KEYS, Classifier, type ClassifyOptions } from '../core/classify.js';
import type { Clock } from '../core/clock.js';
import { COMMON_KEYS, type CommonOptions, resolveClock, resolveName } from '../core/common-options.js';
import type { Context } from '../core/context.js';
import type { Failure } from '../core/failure.js';
import { checkKeys, func, invalid } from '../core/options.js';

export type FallbackFn<U, R> = (failure: Failure<R>, context: Context) => U | PromiseLike<U>;

export interface FallbackOptions<U, R = unknown> extends CommonOptions, ClassifyOptions<R> {
  /**
   * Produces the replacement value from the failure (an error, or a result classified as a failure)
   * and the context of the execution. If it throws, its error is what the caller receives.
   */
  fallback: FallbackFn<U, R>;
}

export interface ResolvedFallbackOptions<U> {
  readonly name: string;
  readonly fallback: FallbackFn<U, unknown>;
  readonly classifier: Classifier;
  readonly clock: Clock;
}

const KEYS = [...COMMON_KEYS, 'fallback', ...CLASSIFY_KEYS];

export function resolveFallbackOptions<U, R>(options: FallbackOptions<U, R>): ResolvedFallbackOptions<U> {
  checkKeys('fallback', options, KEYS);
  if (options?.fallback === undefined) invalid('fallback.fallback', 'a function', undefined);
  const name = resolveName('fallback', options.name, 'fallback');
  return Object.freeze({
    name,
    fallback: func('fallback.fallback', options.fallback) as FallbackFn<U, unknown>,
    // Rejections of inner policies (open circuit, full bulkhead) are exactly what a fallback is for.
    classifier: new Classifier(name, 'fallback', options as ClassifyOptions<never>, {}),
    clock: resolveClock('fallback', options.clock),
  });
}
