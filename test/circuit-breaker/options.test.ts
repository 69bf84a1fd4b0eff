import { describe, expect, it } from 'vitest';
import { circuitBreaker } from '../../src/index.js';

describe('circuit breaker options', () => {
  it.each([
    ['circuitBreaker.failureRateThreshold', { failureRateThreshold: 0 }, RangeError],
    ['circuitBreaker.failureRateThreshold', { failureRateThreshold: 1.5 }, RangeError],
    ['circuitBreaker.slowCallRateThreshold', { slowCallRateThreshold: -0.1 }, RangeError],
    ['circuitBreaker.minimumCalls', { minimumCalls: 0 }, RangeError],
    ['circuitBreaker.minimumCalls', { minimumCalls: 2.5 }, RangeError],
    ['circuitBreaker.minimumCalls', { window: { kind: 'count', size: 5 }, minimumCalls: 6 }, RangeError],
    ['circuitBreaker.window.size', { window: { kind: 'count', size: 0 } }, RangeError],
    ['circuitBreaker.window.size', { window: { kind: 'count', size: 3.5 } }, RangeError],
    ['circuitBreaker.window.kind', { window: { kind: 'sliding' } }, RangeError],
    ['circuitBreaker.window.buckets', { window: { kind: 'time', buckets: 0 } }, RangeError],
    ['circuitBreaker.window.durationMs', { window: { kind: 'time', durationMs: -1 } }, RangeError],
    ['circuitBreaker.window.failures', { window: { kind: 'consecutive', failures: 0 } }, RangeError],
    ['circuitBreaker.window.size', { window: { kind: 'consecutive', size: 3 } }, TypeError],
    [
      'circuitBreaker.failureRateThreshold',
      { window: { kind: 'consecutive' }, failureRateThreshold: 0.5 },
      TypeError,
    ],
    ['circuitBreaker.breakDurationMs', { breakDurationMs: -5 }, RangeError],
    ['circuitBreaker.breakDurationMs', { breakDurationMs: 'long' }, TypeError],
    ['circuitBreaker.breakBackoff', { breakBackoff: 5 }, TypeError],
    ['circuitBreaker.breakBackoff', { breakDurationMs: 5, breakBackoff: { delay: () => 1 } }, TypeError],
    ['circuitBreaker.slowCallDurationMs', { slowCallDurationMs: 0 }, RangeError],
    ['circuitBreaker.slowCallDurationMs', { countInflightSlowCalls: true }, TypeError],
    ['circuitBreaker.halfOpen.maxCalls', { halfOpen: { maxCalls: 0 } }, RangeError],
    [
      'circuitBreaker.halfOpen.successThreshold',
      { halfOpen: { maxCalls: 2, successThreshold: 3 } },
      RangeError,
    ],
    [
      'circuitBreaker.halfOpen.failureRateThreshold',
      { halfOpen: { successThreshold: 1, failureRateThreshold: 0.5 } },
      TypeError,
    ],
    ['circuitBreaker.halfOpen.afterMaxDuration', { halfOpen: { afterMaxDuration: 'half-open' } }, RangeError],
    ['circuitBreaker.halfOpen.maxDurationMs', { halfOpen: { maxDurationMs: -1 } }, RangeError],
    ['circuitBreaker.treshold', { treshold: 0.5 }, TypeError],
  ])('%s is checked', (option, options, kind) => {
    let error: (Error & { option?: string; code?: string }) | undefined;
    try {
      circuitBreaker(options as never);
    } catch (e) {
      error = e as Error;
    }
    expect(error).toBeInstanceOf(kind);
    expect(error?.option).toBe(option);
    expect(error?.code).toBe('BW_ERR_INVALID_OPTION');
  });

  it('has finite, documented defaults', () => {
    const { options } = circuitBreaker();
    expect(options).toMatchObject({
      window: { kind: 'count', size: 100 },
      failureRateThreshold: 0.5,
      minimumCalls: 10,
      slowCallDurationMs: Number.POSITIVE_INFINITY,
      halfOpen: {
        maxCalls: 1,
        successThreshold: 1,
        maxDurationMs: 30_000,
        afterMaxDuration: 'open',
      },
    });
  });
});
