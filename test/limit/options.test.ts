import { describe, expect, it } from 'vitest';
import { aimdLimit } from '../../src/limit/aimd.js';
import { gradient2Limit } from '../../src/limit/gradient2.js';
import { log10Root } from '../../src/limit/options.js';
import { vegasLimit } from '../../src/limit/vegas.js';

function thrown(fn: () => unknown): Error & { code?: string; option?: string } {
  try {
    fn();
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected a throw');
}

describe('adaptive limit options', () => {
  it.each([
    ['aimdLimit.initialLimit', () => aimdLimit({ initialLimit: 0 }), RangeError],
    ['aimdLimit.initialLimit', () => aimdLimit({ initialLimit: 2.5 }), RangeError],
    ['aimdLimit.initialLimit', () => aimdLimit({ minLimit: 5, maxLimit: 10, initialLimit: 11 }), RangeError],
    ['aimdLimit.minLimit', () => aimdLimit({ minLimit: 0 }), RangeError],
    ['aimdLimit.maxLimit', () => aimdLimit({ minLimit: 10, maxLimit: 5 }), RangeError],
    ['aimdLimit.maxLimit', () => aimdLimit({ maxLimit: Number.POSITIVE_INFINITY }), RangeError],
    ['aimdLimit.backoffRatio', () => aimdLimit({ backoffRatio: 1 }), RangeError],
    ['aimdLimit.backoffRatio', () => aimdLimit({ backoffRatio: 0.4 }), RangeError],
    ['aimdLimit.backoffRatio', () => aimdLimit({ backoffRatio: '0.9' as never }), TypeError],
    ['aimdLimit.increment', () => aimdLimit({ increment: 0 }), RangeError],
    ['aimdLimit.timeoutMs', () => aimdLimit({ timeoutMs: 0 }), RangeError],
    ['aimdLimit.timeoutMs', () => aimdLimit({ timeoutMs: Number.NaN }), TypeError],
    ['aimdLimit.backoff', () => aimdLimit({ backoff: 0.5 } as never), TypeError],
    ['vegasLimit.alpha', () => vegasLimit({ alpha: -1 }), RangeError],
    ['vegasLimit.alpha', () => vegasLimit({ alpha: '3' as never }), TypeError],
    ['vegasLimit.beta', () => vegasLimit({ alpha: 6, beta: 3 }), RangeError],
    ['vegasLimit.threshold', () => vegasLimit({ threshold: {} as never }), TypeError],
    ['vegasLimit.increase', () => vegasLimit({ increase: 2 as never }), TypeError],
    ['vegasLimit.decrease', () => vegasLimit({ decrease: 'x' as never }), TypeError],
    ['vegasLimit.smoothing', () => vegasLimit({ smoothing: 0 }), RangeError],
    ['vegasLimit.smoothing', () => vegasLimit({ smoothing: 1.5 }), RangeError],
    ['vegasLimit.probeMultiplier', () => vegasLimit({ probeMultiplier: 0 }), RangeError],
    ['vegasLimit.probeMultiplier', () => vegasLimit({ probeMultiplier: 2.5 }), RangeError],
    ['vegasLimit.random', () => vegasLimit({ random: 0.5 as never }), TypeError],
    ['vegasLimit.maxLimit', () => vegasLimit({ maxLimit: 0 }), RangeError],
    ['vegasLimit.probe', () => vegasLimit({ probe: true } as never), TypeError],
    ['gradient2Limit.smoothing', () => gradient2Limit({ smoothing: 0 }), RangeError],
    ['gradient2Limit.tolerance', () => gradient2Limit({ tolerance: 0.9 }), RangeError],
    ['gradient2Limit.longWindow', () => gradient2Limit({ longWindow: 0 }), RangeError],
    ['gradient2Limit.longWindow', () => gradient2Limit({ longWindow: 1.5 }), RangeError],
    ['gradient2Limit.windowMs', () => gradient2Limit({ windowMs: -1 }), RangeError],
    ['gradient2Limit.windowSize', () => gradient2Limit({ windowSize: 0 }), RangeError],
    ['gradient2Limit.headroom', () => gradient2Limit({ headroom: -1 }), RangeError],
    ['gradient2Limit.headroom', () => gradient2Limit({ headroom: null as never }), TypeError],
    ['gradient2Limit.initialLimit', () => gradient2Limit({ initialLimit: -3 }), RangeError],
    ['gradient2Limit.shortWindow', () => gradient2Limit({ shortWindow: 10 } as never), TypeError],
  ])('%s is checked', (option, build, kind) => {
    const error = thrown(build);
    expect(error).toBeInstanceOf(kind);
    expect(error.code).toBe('BW_ERR_INVALID_OPTION');
    expect(error.option).toBe(option);
    expect(error.message).toContain(`"${option}"`);
  });

  it('rejects options that are not an object', () => {
    expect(thrown(() => aimdLimit(5 as never)).option).toBe('aimdLimit');
  });

  it('says the range a backoff ratio must be in', () => {
    expect(thrown(() => aimdLimit({ backoffRatio: 1 })).message).toBe(
      'breakwater: option "aimdLimit.backoffRatio" must be a number in [0.5, 1), received 1',
    );
  });

  it('resolves AIMD defaults and freezes them', () => {
    const limit = aimdLimit();
    expect(limit.options).toEqual({
      initialLimit: 20,
      minLimit: 1,
      maxLimit: 1000,
      backoffRatio: 0.9,
      increment: 1,
      timeoutMs: Number.POSITIVE_INFINITY,
    });
    expect(Object.isFrozen(limit.options)).toBe(true);
    expect(limit.limit).toBe(20);
  });

  it('resolves Vegas defaults: thresholds scale with log10 of the limit', () => {
    const { options } = vegasLimit();
    expect(options).toMatchObject({ initialLimit: 20, minLimit: 1, maxLimit: 1000, smoothing: 1 });
    expect(options.probeMultiplier).toBe(100);
    expect(Object.isFrozen(options)).toBe(true);
    expect([options.alpha(20), options.beta(20), options.threshold(20)]).toEqual([3, 6, 1]);
    expect([options.alpha(500), options.beta(500), options.threshold(500)]).toEqual([6, 12, 2]);
    expect([options.increase(20), options.decrease(20)]).toEqual([21, 19]);
  });

  it('turns constant Vegas thresholds into functions of the limit', () => {
    const { options } = vegasLimit({ alpha: 2, beta: 4, threshold: 0 });
    expect([options.alpha(900), options.beta(900), options.threshold(900)]).toEqual([2, 4, 0]);
  });

  it('resolves Gradient2 defaults: headroom is sqrt(limit)', () => {
    const { options } = gradient2Limit();
    expect(options).toMatchObject({
      initialLimit: 20,
      minLimit: 1,
      maxLimit: 1000,
      smoothing: 0.2,
      tolerance: 1.5,
      longWindow: 600,
      windowMs: 1000,
      windowSize: 10,
    });
    expect(options.headroom(16)).toBe(4);
    expect(gradient2Limit({ headroom: 3 }).options.headroom(100)).toBe(3);
    expect(Object.isFrozen(options)).toBe(true);
  });

  it('fits the default initial and maximum limits to the bounds given', () => {
    expect(aimdLimit({ minLimit: 50 }).limit).toBe(50);
    expect(aimdLimit({ maxLimit: 10 }).limit).toBe(10);
    expect(vegasLimit({ minLimit: 2000 }).options).toMatchObject({ initialLimit: 2000, maxLimit: 2000 });
  });

  it('log10Root is max(1, floor(log10(limit)))', () => {
    expect([0, 1, 9, 99, 100, 999, 1000, 20_000].map(log10Root)).toEqual([1, 1, 1, 1, 2, 2, 3, 4]);
  });
});
