import { CLASSIFY_KEYS, Classifier, type ClassifyOptions } from '../core/classify.js';
import type { Clock, RandomSource } from '../core/clock.js';
import {
  COMMON_KEYS,
  type CommonOptions,
  resolveClock,
  resolveName,
  resolveRandom,
} from '../core/common-options.js';
import { checkKeys, MAX_TIMER_MS, number } from '../core/options.js';

/**
 * `handle` / `handleResult` say which outcomes mean "the backend rejected the request" (not accepted):
 * by default every error, so narrow it to overload signals (429, 503, "resource exhausted") when the
 * backend's other errors are answers. Errors not handled, and successes, are accepts. `ignore`d
 * outcomes, calls whose caller aborted and rejections of inner policies (an open circuit) count as
 * neither: the request is taken back out of the window.
 */
export interface AdaptiveThrottleOptions<R = unknown> extends CommonOptions, ClassifyOptions<R> {
  /**
   * Requests allowed per accept before local rejection starts: the client sends up to k times what the
   * backend accepted. Default 2; lower is more aggressive (1.1 wastes little backend work, 2 recovers
   * faster).
   */
  k?: number;
  /** The rolling window of requests and accepts, ms. Default 120 000 (two minutes, as in the SRE book). */
  windowMs?: number;
  /** Buckets of the window (it moves one bucket at a time). Default 60. */
  buckets?: number;
  /**
   * Added to `requests` in the denominator: the SRE formula's +1. Larger values (gRPC uses 8) make a
   * few rejections at low traffic throttle less. Default 1.
   */
  padding?: number;
  /**
   * Upper bound of the rejection probability, in (0, 1]. Default 1 (the formula as is). During a total
   * outage the formula lets about one request per window through, and throttling then lasts several
   * windows after the backend recovers. A bound m keeps a share 1 - m of the demand probing the backend
   * while it is down, and throttling ends about (windowMs / k) * (1 + ln(1 / (1 - m))) after recovery
   * (see docs/adaptive.md).
   */
  maxRejectionProbability?: number;
  /** Random source for the rejection draw; inject a seeded one in tests. Default Math.random. */
  random?: RandomSource;
}

export interface ResolvedAdaptiveThrottleOptions {
  readonly name: string;
  readonly k: number;
  readonly windowMs: number;
  readonly buckets: number;
  readonly padding: number;
  readonly maxRejectionProbability: number;
  readonly classifier: Classifier;
  readonly random: RandomSource;
  readonly clock: Clock;
}

const KEYS = [
  ...COMMON_KEYS,
  ...CLASSIFY_KEYS,
  'k',
  'windowMs',
  'buckets',
  'padding',
  'maxRejectionProbability',
  'random',
];

export function resolveAdaptiveThrottleOptions<R>(
  options: AdaptiveThrottleOptions<R> | undefined,
): ResolvedAdaptiveThrottleOptions {
  const path = 'adaptiveThrottle';
  checkKeys(path, options, KEYS);
  const name = resolveName(path, options?.name, 'adaptive-throttle');
  return Object.freeze({
    name,
    k: number(`${path}.k`, options?.k, 2, { min: 1, max: 1_000 }),
    windowMs: number(`${path}.windowMs`, options?.windowMs, 120_000, { min: 1, max: MAX_TIMER_MS }),
    buckets: number(`${path}.buckets`, options?.buckets, 60, { min: 1, max: 10_000, integer: true }),
    padding: number(`${path}.padding`, options?.padding, 1, { min: 0, max: 1e9, exclusiveMin: true }),
    maxRejectionProbability: number(`${path}.maxRejectionProbability`, options?.maxRejectionProbability, 1, {
      min: 0,
      max: 1,
      exclusiveMin: true,
    }),
    classifier: new Classifier(name, path, options as ClassifyOptions<never> | undefined, {
      ignoreRejections: true,
    }),
    random: resolveRandom(path, options?.random),
    clock: resolveClock(path, options?.clock),
  });
}
