import type { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { checkKeys, invalid, string } from '../../extend.js';
import {
  bucketBounds,
  DEFAULT_DURATION_BUCKETS_S,
  DEFAULT_QUEUE_WAIT_BUCKETS_S,
} from '../../metrics/buckets.js';
import type { PolicyKind } from '../../metrics/events.js';
import { kindSet } from '../exporter-support.js';

/** A prom-client registry of either content type. */
// biome-ignore lint/suspicious/noExplicitAny: both content-type instantiations must be accepted.
export type PromRegistry = Registry<any>;

/**
 * The parts of prom-client the exporter uses: pass the module itself (`import * as client from
 * 'prom-client'`) or an object with its classes. breakwater never imports prom-client at run time, so
 * the metrics land in the user's copy of it, whatever its version or install location.
 */
export interface PromClient {
  readonly Counter: typeof Counter;
  readonly Gauge: typeof Gauge;
  readonly Histogram: typeof Histogram;
  /** The default registry; used when `options.register` is not given. */
  readonly register?: PromRegistry;
}

export interface PrometheusOptions {
  /** The prom-client registry to register on. Default: `client.register` (prom-client's global registry). */
  register?: PromRegistry;
  /** Prepended to every metric name. Default `breakwater_`. */
  prefix?: string;
  /** Upper bounds of the call duration histogram, seconds, increasing. Default 1 ms .. 30 s (14 buckets). */
  durationBuckets?: readonly number[];
  /** Upper bounds of the queue wait histogram, seconds, increasing. Default 1 ms .. 5 s (11 buckets). */
  queueWaitBuckets?: readonly number[];
  /**
   * Kinds of policy whose call durations go into the histogram (prom-client spends 1-2 us per
   * observation). Default: every kind. Call counts are kept for every kind regardless.
   */
  durationKinds?: readonly PolicyKind[];
}

export interface ResolvedPrometheusOptions {
  readonly client: PromClient;
  readonly register: PromRegistry;
  readonly prefix: string;
  readonly durationBuckets: readonly number[];
  readonly queueWaitBuckets: readonly number[];
  /** undefined: every kind. */
  readonly durationKinds: ReadonlySet<string> | undefined;
}

const KEYS = ['register', 'prefix', 'durationBuckets', 'queueWaitBuckets', 'durationKinds'];
// Prometheus metric names: [a-zA-Z_:][a-zA-Z0-9_:]*; a prefix may be empty only by being absent.
const NAME_PREFIX = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;

function isRegistry(value: unknown): value is PromRegistry {
  const r = value as Partial<PromRegistry> | null;
  return (
    typeof r === 'object' &&
    r !== null &&
    typeof r.registerMetric === 'function' &&
    typeof r.removeSingleMetric === 'function'
  );
}

export function resolvePrometheusOptions(
  client: unknown,
  options: PrometheusOptions | undefined,
): ResolvedPrometheusOptions {
  const c = client as Partial<PromClient> | null;
  if (
    typeof c !== 'object' ||
    c === null ||
    typeof c.Counter !== 'function' ||
    typeof c.Gauge !== 'function' ||
    typeof c.Histogram !== 'function'
  ) {
    invalid('prometheus.client', "prom-client (import * as client from 'prom-client')", client);
  }
  checkKeys('prometheus', options, KEYS);
  const o = options ?? {};
  const register = o.register ?? c.register;
  if (!isRegistry(register)) {
    invalid(
      o.register === undefined ? 'prometheus.client.register' : 'prometheus.register',
      'a prom-client Registry',
      register,
    );
  }
  const prefix = string('prometheus.prefix', o.prefix, 'breakwater_');
  if (!NAME_PREFIX.test(prefix)) {
    invalid('prometheus.prefix', 'a Prometheus name prefix ([a-zA-Z_:][a-zA-Z0-9_:]*)', prefix, 'range');
  }
  return Object.freeze({
    client: c as PromClient,
    register,
    prefix,
    durationBuckets: bucketBounds(
      'prometheus.durationBuckets',
      o.durationBuckets,
      DEFAULT_DURATION_BUCKETS_S,
    ),
    queueWaitBuckets: bucketBounds(
      'prometheus.queueWaitBuckets',
      o.queueWaitBuckets,
      DEFAULT_QUEUE_WAIT_BUCKETS_S,
    ),
    durationKinds: kindSet('prometheus.durationKinds', o.durationKinds),
  });
}
