import { describe, expect, it } from 'vitest';
import { rateLimiter } from '../../src/rate-limit/index.js';

describe('rateLimiter options', () => {
  it.each([
    ['rateLimiter.ratePerSecond', () => rateLimiter(0), RangeError],
    ['rateLimiter.ratePerSecond', () => rateLimiter({}), TypeError],
    ['rateLimiter.ratePerSecond', () => rateLimiter({ ratePerSecond: 5, tokens: 5 }), TypeError],
    ['rateLimiter.ratePerSecond', () => rateLimiter({ ratePerSecond: Number.NaN }), TypeError],
    ['rateLimiter.tokens', () => rateLimiter({ tokens: 0.5 }), RangeError],
    ['rateLimiter.tokens', () => rateLimiter({ tokens: 1e9, intervalMs: 0.5 }), RangeError],
    ['rateLimiter.intervalMs', () => rateLimiter({ tokens: 5, intervalMs: 0 }), RangeError],
    ['rateLimiter.burst', () => rateLimiter({ ratePerSecond: 5, burst: 0 }), RangeError],
    ['rateLimiter.burst', () => rateLimiter({ ratePerSecond: 5, burst: 2.5 }), RangeError],
    ['rateLimiter.burst', () => rateLimiter({ algorithm: 'smooth', ratePerSecond: 5, burst: 2 }), TypeError],
    ['rateLimiter.toleranceMs', () => rateLimiter({ ratePerSecond: 5, toleranceMs: 10 }), TypeError],
    [
      'rateLimiter.toleranceMs',
      () => rateLimiter({ algorithm: 'smooth', ratePerSecond: 5, toleranceMs: -1 }),
      RangeError,
    ],
    [
      'rateLimiter.algorithm',
      () => rateLimiter({ algorithm: 'leaky' as never, ratePerSecond: 5 }),
      RangeError,
    ],
    ['rateLimiter.maxWaitMs', () => rateLimiter({ ratePerSecond: 5, maxWaitMs: -1 }), RangeError],
    ['rateLimiter.maxWaitMs', () => rateLimiter({ ratePerSecond: 5, maxWaitMs: Infinity }), RangeError],
    ['rateLimiter.keyed', () => rateLimiter({ ratePerSecond: 5, keyed: 'yes' as never }), TypeError],
    ['rateLimiter.keyed.maxKeys', () => rateLimiter({ ratePerSecond: 5, keyed: { maxKeys: 0 } }), RangeError],
    [
      'rateLimiter.keyed.size',
      () => rateLimiter({ ratePerSecond: 5, keyed: { size: 1 } as never }),
      TypeError,
    ],
    ['rateLimiter.rate', () => rateLimiter({ rate: 5 } as never), TypeError],
    ['rateLimiter.clock', () => rateLimiter({ ratePerSecond: 5, clock: {} as never }), TypeError],
  ])('%s is checked', (option, build, kind) => {
    let error: (Error & { option?: string; code?: string }) | undefined;
    try {
      build();
    } catch (e) {
      error = e as Error;
    }
    expect(error).toBeInstanceOf(kind);
    expect(error?.option).toBe(option);
    expect(error?.code).toBe('BW_ERR_INVALID_OPTION');
  });

  it('has finite defaults: a one-second burst, no waiting, unkeyed', () => {
    expect(rateLimiter(50).options).toMatchObject({
      name: 'rateLimiter',
      algorithm: 'token-bucket',
      ratePerSecond: 50,
      permitIntervalMs: 20,
      burst: 50,
      toleranceMs: 0,
      maxWaitMs: 0,
      keyed: false,
    });
    expect(rateLimiter({ ratePerSecond: 0.5 }).options.burst).toBe(1);
    expect(rateLimiter({ tokens: 100, intervalMs: 60_000 }).options).toMatchObject({
      burst: 100,
      permitIntervalMs: 600,
    });
    expect(rateLimiter({ ratePerSecond: 1, keyed: true }).options).toMatchObject({
      keyed: true,
      maxKeys: 10_000,
    });
    expect(Object.isFrozen(rateLimiter(1).options)).toBe(true);
  });
});
