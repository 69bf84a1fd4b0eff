import { describe, expect, it } from 'vitest';
import { coalesce } from '../../src/coalesce/index.js';
import type { Context } from '../../src/index.js';

const byKey = (ctx: Context) => ctx.key;

function thrown(build: () => unknown): (Error & { option?: string; code?: string }) | undefined {
  try {
    build();
  } catch (e) {
    return e as Error;
  }
  return undefined;
}

describe('coalesce options', () => {
  it.each([
    ['coalesce', () => coalesce(undefined as never), TypeError],
    ['coalesce.key', () => coalesce({} as never), TypeError],
    ['coalesce.key', () => coalesce({ key: 'id' } as never), TypeError],
    ['coalesce.maxKeys', () => coalesce({ key: byKey, maxKeys: 0 }), RangeError],
    ['coalesce.maxKeys', () => coalesce({ key: byKey, maxKeys: -5 }), RangeError],
    ['coalesce.maxKeys', () => coalesce({ key: byKey, maxKeys: 1.5 }), RangeError],
    ['coalesce.maxKeys', () => coalesce({ key: byKey, maxKeys: Number.POSITIVE_INFINITY }), RangeError],
    ['coalesce.cache', () => coalesce({ key: byKey, cache: 100 as never }), TypeError],
    ['coalesce.cache.ttlMs', () => coalesce({ key: byKey, cache: {} as never }), TypeError],
    ['coalesce.cache.ttlMs', () => coalesce({ key: byKey, cache: { ttlMs: 0 } }), RangeError],
    ['coalesce.cache.ttlMs', () => coalesce({ key: byKey, cache: { ttlMs: -1 } }), RangeError],
    [
      'coalesce.cache.maxEntries',
      () => coalesce({ key: byKey, cache: { ttlMs: 1, maxEntries: 0 } }),
      RangeError,
    ],
    [
      'coalesce.cache.staleWhileRevalidateMs',
      () => coalesce({ key: byKey, cache: { ttlMs: 1, staleWhileRevalidateMs: -1 } }),
      RangeError,
    ],
    [
      'coalesce.cache.cacheFailures',
      () => coalesce({ key: byKey, cache: { ttlMs: 1, cacheFailures: 'yes' as never } }),
      TypeError,
    ],
    ['coalesce.cache.ttl', () => coalesce({ key: byKey, cache: { ttl: 5 } as never }), TypeError],
    ['coalesce.ttlMs', () => coalesce({ key: byKey, ttlMs: 5 } as never), TypeError],
    ['coalesce.name', () => coalesce({ key: byKey, name: '' }), TypeError],
    ['coalesce.clock', () => coalesce({ key: byKey, clock: {} as never }), TypeError],
  ])('%s is checked at construction', (option, build, kind) => {
    const error = thrown(build);
    expect(error).toBeInstanceOf(kind);
    expect(error?.code).toBe('BW_ERR_INVALID_OPTION');
    expect(error?.option).toBe(option);
  });

  it('has finite defaults', () => {
    expect(coalesce({ key: byKey }).options).toMatchObject({
      name: 'coalesce',
      maxKeys: 10_000,
      cache: undefined,
    });
    expect(coalesce({ key: byKey, cache: { ttlMs: 5 } }).options.cache).toEqual({
      ttlMs: 5,
      maxEntries: 1_000,
      staleWhileRevalidateMs: 0,
      cacheFailures: false,
    });
    expect(Object.isFrozen(coalesce({ key: byKey, cache: { ttlMs: 5 } }).options.cache)).toBe(true);
  });
});
