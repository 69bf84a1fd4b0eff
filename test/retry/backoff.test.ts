import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { constant, exponential, type Jitter, linear } from '../../src/index.js';

const never = undefined as never;

describe('backoff curves', () => {
  it('constant returns its delay, capped', () => {
    expect(constant(250).delay(1, 0, Math.random, 1_000, never)).toBe(250);
    expect(constant(250).delay(1, 0, Math.random, 100, never)).toBe(100);
  });

  it('linear grows by its step', () => {
    const b = linear({ initialMs: 100, stepMs: 50 });
    expect([1, 2, 3].map((n) => b.delay(n, 0, Math.random, 10_000, never))).toEqual([100, 150, 200]);
  });

  it('exponential without jitter doubles from the initial delay', () => {
    const b = exponential({ initialMs: 100, jitter: 'none' });
    expect([1, 2, 3, 4].map((n) => b.delay(n, 0, Math.random, 10_000, never))).toEqual([100, 200, 400, 800]);
  });

  it('full jitter spans [0, ceiling], equal jitter [ceiling/2, ceiling]', () => {
    const full = exponential({ initialMs: 100, jitter: 'full' });
    const equal = exponential({ initialMs: 100, jitter: 'equal' });
    expect(full.delay(3, 0, () => 0, 10_000, never)).toBe(0);
    expect(full.delay(3, 0, () => 0.5, 10_000, never)).toBe(200);
    expect(equal.delay(3, 0, () => 0, 10_000, never)).toBe(200);
    expect(equal.delay(3, 0, () => 0.999999, 10_000, never)).toBeCloseTo(400, 2);
  });

  it('decorrelated jitter draws between the base and three times the previous delay', () => {
    const b = exponential({ initialMs: 100, jitter: 'decorrelated' });
    expect(b.delay(1, 0, () => 0.999999, 10_000, never)).toBeCloseTo(300, 2);
    expect(b.delay(2, 1_000, () => 0.5, 10_000, never)).toBe(1_550);
  });

  it('every curve stays within [0, cap] for any attempt, previous delay and random draw', () => {
    fc.assert(
      fc.property(
        fc.constantFrom<Jitter>('none', 'full', 'equal', 'decorrelated'),
        fc.integer({ min: 0, max: 10_000 }),
        fc.double({ min: 1, max: 10, noNaN: true }),
        fc.integer({ min: 1, max: 5_000 }),
        fc.double({ min: 0, max: 1e9, noNaN: true }),
        fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
        fc.integer({ min: 0, max: 1_000_000 }),
        (jitter, initialMs, factor, attempt, previous, draw, cap) => {
          const d = exponential({ initialMs, factor, jitter }).delay(
            attempt,
            previous,
            () => draw,
            cap,
            never,
          );
          expect(Number.isFinite(d)).toBe(true);
          expect(d).toBeGreaterThanOrEqual(0);
          expect(d).toBeLessThanOrEqual(cap);
        },
      ),
    );
  });

  it('without jitter the curve never decreases with the attempt', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 1_000 }),
        fc.integer({ min: 1, max: 200 }),
        (initialMs, attempt) => {
          const b = exponential({ initialMs, jitter: 'none' });
          expect(b.delay(attempt + 1, 0, Math.random, 60_000, never)).toBeGreaterThanOrEqual(
            b.delay(attempt, 0, Math.random, 60_000, never),
          );
        },
      ),
    );
  });

  it('full jitter stays within [0, min(cap, initial·factor^(n-1))]', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 1_000 }),
        fc.integer({ min: 1, max: 40 }),
        fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
        (initialMs, attempt, draw) => {
          const ceiling = Math.min(30_000, initialMs * 2 ** (attempt - 1));
          const d = exponential({ initialMs, jitter: 'full' }).delay(attempt, 0, () => draw, 30_000, never);
          expect(d).toBeLessThanOrEqual(ceiling);
          expect(d).toBeGreaterThanOrEqual(0);
        },
      ),
    );
  });
});
