import { describe, expect, it } from 'vitest';
import { exponential, fallback, linear, retry, timeout } from '../../src/index.js';

function thrown(fn: () => unknown): Error & { code?: string; option?: string } {
  try {
    fn();
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected a throw');
}

describe('option validation at construction', () => {
  it.each([
    ['timeout.durationMs', () => timeout(0), RangeError],
    ['timeout.durationMs', () => timeout(-5), RangeError],
    ['timeout.durationMs', () => timeout(Number.NaN), TypeError],
    ['timeout.durationMs', () => timeout(2 ** 31), RangeError],
    ['timeout.durationMs', () => timeout({} as never), TypeError],
    ['timeout.strategy', () => timeout({ durationMs: 5, strategy: 'eager' as never }), RangeError],
    ['retry.maxRetries', () => retry({ maxRetries: -1 }), RangeError],
    ['retry.maxRetries', () => retry({ maxRetries: 1.5 }), RangeError],
    ['retry.maxAttempts', () => retry({ maxAttempts: 0 }), RangeError],
    ['retry.maxAttempts', () => retry({ maxAttempts: 2, maxRetries: 1 }), TypeError],
    ['retry.maxDelayMs', () => retry({ maxDelayMs: -1 }), RangeError],
    ['retry.backoff', () => retry({ backoff: 'fast' as never }), TypeError],
    ['retry.backoff', () => retry({ backoff: -10 }), RangeError],
    ['retry.handle', () => retry({ handle: 'Error' as never }), TypeError],
    ['retry.handle[0]', () => retry({ handle: [Object as never] }), TypeError],
    ['retry.clock', () => retry({ clock: { now: () => 0 } as never }), TypeError],
    ['retry.maxRetry', () => retry({ maxRetry: 3 } as never), TypeError],
    ['exponential.factor', () => exponential({ factor: 0.5 }), RangeError],
    ['exponential.jitter', () => exponential({ jitter: 'some' as never }), RangeError],
    ['linear.stepMs', () => linear({ stepMs: -1 }), RangeError],
    ['fallback.fallback', () => fallback({} as never), TypeError],
    ['fallback.name', () => fallback({ fallback: () => 1, name: '' }), TypeError],
  ])('%s is checked', (option, build, kind) => {
    const error = thrown(build);
    expect(error).toBeInstanceOf(kind);
    expect(error.code).toBe('BW_ERR_INVALID_OPTION');
    expect(error.option).toBe(option);
    expect(error.message).toContain(`"${option}"`);
  });

  it('says what it expected and what it received', () => {
    expect(thrown(() => retry({ maxRetries: -1 })).message).toBe(
      'breakwater: option "retry.maxRetries" must be an integer in [0, Infinity], received -1',
    );
  });

  it('accepts Infinity only where "no limit" makes sense', () => {
    expect(() => retry({ maxRetries: Number.POSITIVE_INFINITY })).not.toThrow();
    expect(() => timeout(Number.POSITIVE_INFINITY)).toThrow(RangeError);
  });
});
