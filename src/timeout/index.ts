import { AdaptiveDuration, type AdaptiveTimeoutOptions, resolveAdaptiveTimeoutOptions } from './adaptive.js';
import { resolveTimeoutOptions, type TimeoutOptions } from './options.js';
import { Timeout, type TimeoutPolicy } from './policy.js';

export type { AdaptiveTimeoutOptions, ResolvedAdaptiveTimeoutOptions } from './adaptive.js';
export type { TimeoutOptions, TimeoutStrategy } from './options.js';
export type { TimeoutKind, TimeoutPolicy, TimeoutSnapshot } from './policy.js';

/** Bounds how long a call may take; see `TimeoutOptions.strategy` for the two ways it can end. */
export function timeout(options: number | TimeoutOptions): TimeoutPolicy {
  return new Timeout(resolveTimeoutOptions(options));
}

/**
 * A timeout that follows observed latency: clamp(minMs, maxMs, percentile x multiplier), from a
 * bounded rolling histogram, `warmupMs` until enough samples, moving at most `maxChangePerSecond`,
 * optionally escalating per retry attempt, and always capped by an enclosing deadline.
 */
export function adaptiveTimeout(options?: AdaptiveTimeoutOptions): TimeoutPolicy {
  const resolved = resolveAdaptiveTimeoutOptions(options);
  return new Timeout(resolved, new AdaptiveDuration(resolved, resolved.clock), 'adaptiveTimeout');
}
