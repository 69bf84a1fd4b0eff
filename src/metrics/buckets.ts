import { invalid } from '../core/options.js';

// Histogram bucket bounds for the exporters, in seconds (the unit both Prometheus and OpenTelemetry
// conventions use for durations). Calls through a resilience policy span a cache hit (~1 ms) to a
// retried call that gives up after tens of seconds.

/** Upper bounds for call durations, seconds. */
export const DEFAULT_DURATION_BUCKETS_S: readonly number[] = Object.freeze([
  0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30,
]);

/** Upper bounds for bulkhead queue waits, seconds (the default maxWaitMs is 5 s). */
export const DEFAULT_QUEUE_WAIT_BUCKETS_S: readonly number[] = Object.freeze([
  0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5,
]);

/** A non-empty, strictly increasing array of finite positive numbers, copied and frozen. */
export function bucketBounds(path: string, value: unknown, fallback: readonly number[]): readonly number[] {
  if (value === undefined) return fallback;
  const expected = 'a non-empty array of finite positive numbers in increasing order (seconds)';
  if (!Array.isArray(value) || value.length === 0) invalid(path, expected, value);
  let previous = 0;
  for (const bound of value as unknown[]) {
    if (typeof bound !== 'number' || !Number.isFinite(bound) || bound <= previous) {
      invalid(path, expected, bound, typeof bound === 'number' ? 'range' : 'type');
    }
    previous = bound;
  }
  return Object.freeze([...(value as number[])]);
}
