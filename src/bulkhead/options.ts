import type { Clock } from '../core/clock.js';
import { COMMON_KEYS, type CommonOptions, resolveClock, resolveName } from '../core/common-options.js';
import { RejectedError, TimeoutError } from '../core/errors.js';
import type { Failure } from '../core/failure.js';
import { checkKeys, func, invalid, number } from '../core/options.js';
import type { ConcurrencyLimit } from '../limit/types.js';

export interface BulkheadOptions extends CommonOptions {
  /** Calls allowed to run at once: a number, or an adaptive limit (aimdLimit(), vegasLimit(), gradient2Limit()). */
  limit: number | ConcurrencyLimit;
  /** Calls allowed to wait for a slot, in FIFO order. Default 0: reject at once when full. */
  queue?: number;
  /** Longest wait in the queue, ms; then the call is rejected ('wait-timeout'). Default 5 000. */
  maxWaitMs?: number;
  /**
   * Shares of the limit reserved for named partitions, as ratios summing to at most 1, e.g.
   * `{ live: 0.9, batch: 0.1 }`. Use `bulkhead.partition(name)` as the policy for each; calls through the
   * bulkhead itself use the unreserved rest. A partition may borrow slots nobody has reserved.
   */
  partitions?: Record<string, number>;
  /**
   * Which failures tell an adaptive limit that the downstream is overloaded (a "drop"). Default:
   * timeouts and rejections (TimeoutError, RejectedError).
   */
  isDrop?: (failure: Failure) => boolean;
}

export interface ResolvedBulkheadOptions {
  readonly name: string;
  readonly limit: number | ConcurrencyLimit;
  readonly queue: number;
  readonly maxWaitMs: number;
  readonly partitions: Readonly<Record<string, number>>;
  readonly isDrop: (failure: Failure) => boolean;
  readonly clock: Clock;
}

const KEYS = [...COMMON_KEYS, 'limit', 'queue', 'maxWaitMs', 'partitions', 'isDrop'];
const MAX = 2 ** 31 - 1;

export function defaultIsDrop(failure: Failure): boolean {
  return (
    failure.kind === 'error' &&
    (failure.error instanceof TimeoutError || failure.error instanceof RejectedError)
  );
}

export function validateLimit(path: string, value: unknown): number {
  return number(path, value, 0, { min: 1, max: MAX, integer: true });
}

function isConcurrencyLimit(value: unknown): value is ConcurrencyLimit {
  const v = value as Partial<ConcurrencyLimit> | null;
  return (
    typeof v === 'object' &&
    v !== null &&
    typeof v.limit === 'number' &&
    typeof v.onSample === 'function' &&
    typeof v.onLimitChange === 'function'
  );
}

export function resolveBulkheadOptions(input: number | BulkheadOptions): ResolvedBulkheadOptions {
  const options: BulkheadOptions = typeof input === 'number' ? { limit: input } : input;
  checkKeys('bulkhead', options, KEYS);
  if (options?.limit === undefined)
    invalid('bulkhead.limit', 'a positive integer or a ConcurrencyLimit', undefined);
  const limit = isConcurrencyLimit(options.limit)
    ? options.limit
    : validateLimit('bulkhead.limit', options.limit);
  const partitions: Record<string, number> = {};
  if (options.partitions !== undefined) {
    if (
      typeof options.partitions !== 'object' ||
      options.partitions === null ||
      Array.isArray(options.partitions)
    ) {
      invalid('bulkhead.partitions', 'an object of ratios', options.partitions);
    }
    let sum = 0;
    for (const [name, ratio] of Object.entries(options.partitions)) {
      partitions[name] = number(`bulkhead.partitions.${name}`, ratio, 0, {
        min: 0,
        max: 1,
        exclusiveMin: true,
      });
      sum += ratio;
    }
    if (sum > 1 + 1e-9) invalid('bulkhead.partitions', 'ratios summing to at most 1', sum, 'range');
  }
  return Object.freeze({
    name: resolveName('bulkhead', options.name, 'bulkhead'),
    limit,
    queue: number('bulkhead.queue', options.queue, 0, { min: 0, max: MAX, integer: true }),
    maxWaitMs: number('bulkhead.maxWaitMs', options.maxWaitMs, 5_000, {
      min: 0,
      max: MAX,
      exclusiveMin: true,
      infinite: true,
    }),
    partitions: Object.freeze(partitions),
    isDrop: func('bulkhead.isDrop', options.isDrop, defaultIsDrop),
    clock: resolveClock('bulkhead', options.clock),
  });
}
