import type { Clock } from '../core/clock.js';
import { COMMON_KEYS, type CommonOptions, resolveClock, resolveName } from '../core/common-options.js';
import type { Context } from '../core/context.js';
import { boolean, checkKeys, invalid, number } from '../core/options.js';

export interface CoalesceCacheOptions {
  /** How long a result stays fresh after its execution settled, ms (policy clock). Required, > 0. */
  ttlMs: number;
  /** Most results kept; the least recently used goes first. Default 1 000. */
  maxEntries?: number;
  /**
   * After `ttlMs`, how long an expired result may still be served while one background execution
   * refreshes it, ms. Default 0 (no stale results).
   */
  staleWhileRevalidateMs?: number;
  /** Cache failures too (negative caching). Default false: a failure is shared by the callers that joined it, then forgotten. */
  cacheFailures?: boolean;
}

export interface CoalesceOptions extends CommonOptions {
  /**
   * The key of a call: calls with the same key share one execution. Usually `(ctx) => ctx.key`, the key
   * given as `execute(fn, { key })`. A call whose key is undefined runs on its own (passes through).
   */
  key: (context: Context) => string | undefined;
  /**
   * Most keys in flight at once. Beyond it, calls with a new key run on their own, uncoalesced (they
   * are counted as `bypassed`): the bound caps memory, never fails a call. Default 10 000.
   */
  maxKeys?: number;
  /** Keep results for a while, under the same key. Default: no cache (only concurrent calls share). */
  cache?: CoalesceCacheOptions;
}

export interface ResolvedCoalesceCacheOptions {
  readonly ttlMs: number;
  readonly maxEntries: number;
  readonly staleWhileRevalidateMs: number;
  readonly cacheFailures: boolean;
}

export interface ResolvedCoalesceOptions {
  readonly name: string;
  readonly key: (context: Context) => string | undefined;
  readonly maxKeys: number;
  readonly cache: ResolvedCoalesceCacheOptions | undefined;
  readonly clock: Clock;
}

const KEYS = [...COMMON_KEYS, 'key', 'maxKeys', 'cache'];
const CACHE_KEYS = ['ttlMs', 'maxEntries', 'staleWhileRevalidateMs', 'cacheFailures'];
const MAX = 2 ** 31 - 1;

export const COALESCE_DEFAULTS = Object.freeze({
  maxKeys: 10_000,
  cache: Object.freeze({ maxEntries: 1_000, staleWhileRevalidateMs: 0, cacheFailures: false }),
});

function resolveCache(value: unknown): ResolvedCoalesceCacheOptions | undefined {
  if (value === undefined) return undefined;
  checkKeys('coalesce.cache', value, CACHE_KEYS);
  const cache = value as CoalesceCacheOptions;
  if (cache.ttlMs === undefined)
    invalid('coalesce.cache.ttlMs', 'a number of ms in (0, 2147483647]', undefined);
  const defaults = COALESCE_DEFAULTS.cache;
  return Object.freeze({
    ttlMs: number('coalesce.cache.ttlMs', cache.ttlMs, 0, { min: 0, max: MAX, exclusiveMin: true }),
    maxEntries: number('coalesce.cache.maxEntries', cache.maxEntries, defaults.maxEntries, {
      min: 1,
      max: MAX,
      integer: true,
    }),
    staleWhileRevalidateMs: number(
      'coalesce.cache.staleWhileRevalidateMs',
      cache.staleWhileRevalidateMs,
      defaults.staleWhileRevalidateMs,
      { min: 0, max: MAX },
    ),
    cacheFailures: boolean('coalesce.cache.cacheFailures', cache.cacheFailures, defaults.cacheFailures),
  });
}

export function resolveCoalesceOptions(options: CoalesceOptions): ResolvedCoalesceOptions {
  if (options === undefined) invalid('coalesce', 'an options object with a key function', options);
  checkKeys('coalesce', options, KEYS);
  if (typeof options.key !== 'function') {
    invalid('coalesce.key', 'a function of the context returning a string or undefined', options.key);
  }
  return Object.freeze({
    name: resolveName('coalesce', options.name, 'coalesce'),
    key: options.key,
    maxKeys: number('coalesce.maxKeys', options.maxKeys, COALESCE_DEFAULTS.maxKeys, {
      min: 1,
      max: MAX,
      integer: true,
    }),
    cache: resolveCache(options.cache),
    clock: resolveClock('coalesce', options.clock),
  });
}
