import type { Meter } from '@opentelemetry/api';
import { checkKeys, invalid } from '../../extend.js';
import {
  bucketBounds,
  DEFAULT_DURATION_BUCKETS_S,
  DEFAULT_QUEUE_WAIT_BUCKETS_S,
} from '../../metrics/buckets.js';
import type { PolicyKind } from '../../metrics/events.js';
import { kindSet } from '../exporter-support.js';

export interface OpenTelemetryOptions {
  /**
   * Advised bucket boundaries of `resilience.call.duration`, seconds, increasing (a View configured
   * in the SDK takes precedence). Default 1 ms .. 30 s (14 boundaries).
   */
  durationBuckets?: readonly number[];
  /** Advised bucket boundaries of `resilience.bulkhead.queue.wait.duration`, seconds. Default 1 ms .. 5 s. */
  queueWaitBuckets?: readonly number[];
  /**
   * Kinds of policy whose call durations are recorded (the SDK spends 1-3 us per record). Default:
   * every kind. Counters and gauges cover every kind regardless.
   */
  durationKinds?: readonly PolicyKind[];
}

export interface ResolvedOpenTelemetryOptions {
  readonly durationBuckets: readonly number[];
  readonly queueWaitBuckets: readonly number[];
  /** undefined: every kind. */
  readonly durationKinds: ReadonlySet<string> | undefined;
}

const KEYS = ['durationBuckets', 'queueWaitBuckets', 'durationKinds'];

export function checkMeter(value: unknown): Meter {
  const m = value as Partial<Meter> | null;
  if (
    typeof m !== 'object' ||
    m === null ||
    typeof m.createHistogram !== 'function' ||
    typeof m.createObservableCounter !== 'function' ||
    typeof m.addBatchObservableCallback !== 'function'
  ) {
    invalid('opentelemetry.meter', "an @opentelemetry/api Meter (metrics.getMeter('my-service'))", value);
  }
  return value as Meter;
}

export function resolveOpenTelemetryOptions(
  options: OpenTelemetryOptions | undefined,
): ResolvedOpenTelemetryOptions {
  checkKeys('opentelemetry', options, KEYS);
  const o = options ?? {};
  return Object.freeze({
    durationBuckets: bucketBounds(
      'opentelemetry.durationBuckets',
      o.durationBuckets,
      DEFAULT_DURATION_BUCKETS_S,
    ),
    queueWaitBuckets: bucketBounds(
      'opentelemetry.queueWaitBuckets',
      o.queueWaitBuckets,
      DEFAULT_QUEUE_WAIT_BUCKETS_S,
    ),
    durationKinds: kindSet('opentelemetry.durationKinds', o.durationKinds),
  });
}
