import type { Clock } from '../core/clock.js';
import { COMMON_KEYS, type CommonOptions, resolveClock, resolveName } from '../core/common-options.js';
import type { Context } from '../core/context.js';
import { checkKeys, func, invalid, number } from '../core/options.js';
import { isPolicy, type Policy } from '../core/policy.js';

/**
 * What `run` returns: a Map from key to item, or an array aligned with `keys`. An item that is an
 * Error fails that key's callers only; a key missing from a Map resolves to undefined (not found).
 */
export type BatchResult<V, K = string> = ReadonlyMap<K, V | Error> | ReadonlyArray<V | Error>;

export interface BatchOptions<V, K = string> extends CommonOptions {
  /**
   * Fetches the items of one batch: `keys` are distinct, in arrival order, at most `maxSize`. The
   * context's signal aborts when every caller of the batch has left (or an inner timeout fires).
   */
  run: (keys: readonly K[], context: Context) => BatchResult<V, K> | PromiseLike<BatchResult<V, K>>;
  /** Most distinct keys in one batch; a batch that reaches it is sent at once. Default 100. */
  maxSize?: number;
  /**
   * Longest a batch waits for more keys after its first one, ms (policy clock). Default 0: the next
   * timer turn, so calls made in the same burst of synchronous code and promise reactions share a batch.
   */
  maxDelayMs?: number;
  /** The key of a call made through `execute`; default `(ctx) => ctx.key`. Undefined: the call passes through to its own task. */
  key?: (context: Context) => K | undefined;
  /** Runs each batch call under this policy or pipeline (retry, breaker, timeout, ...). */
  policy?: Policy;
}

export interface ResolvedBatchOptions<V = unknown, K = string> {
  readonly name: string;
  readonly run: BatchOptions<V, K>['run'];
  readonly maxSize: number;
  readonly maxDelayMs: number;
  readonly key: (context: Context) => K | undefined;
  readonly policy: Policy | undefined;
  readonly clock: Clock;
}

const KEYS = [...COMMON_KEYS, 'run', 'maxSize', 'maxDelayMs', 'key', 'policy'];
const MAX = 2 ** 31 - 1;

export const BATCH_DEFAULTS = Object.freeze({ maxSize: 100, maxDelayMs: 0 });

function contextKey<K>(context: Context): K | undefined {
  return context.key as K | undefined;
}

export function resolveBatchOptions<V, K>(options: BatchOptions<V, K>): ResolvedBatchOptions<V, K> {
  if (options === undefined) invalid('batch', 'an options object with a run function', options);
  checkKeys('batch', options, KEYS);
  if (typeof options.run !== 'function') {
    invalid('batch.run', 'a function (keys, context) returning a Map or an array of items', options.run);
  }
  const policy = options.policy;
  if (policy !== undefined && !isPolicy(policy)) {
    invalid('batch.policy', 'a breakwater policy or pipeline', policy);
  }
  return Object.freeze({
    name: resolveName('batch', options.name, 'batch'),
    run: options.run,
    maxSize: number('batch.maxSize', options.maxSize, BATCH_DEFAULTS.maxSize, {
      min: 1,
      max: MAX,
      integer: true,
    }),
    maxDelayMs: number('batch.maxDelayMs', options.maxDelayMs, BATCH_DEFAULTS.maxDelayMs, {
      min: 0,
      max: MAX,
    }),
    key: func('batch.key', options.key, contextKey as (context: Context) => K | undefined),
    policy,
    clock: resolveClock('batch', options.clock),
  });
}
