import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { SmoothLimiter } from '../../src/rate-limit/smooth.js';
import { TokenBucket } from '../../src/rate-limit/token-bucket.js';

import { spacingViolations, windowExcess } from './bounds.js';

// Float slack for sums of refills (a third of a permit added three times).
const EPS = 1e-6;

describe('token bucket', () => {
  it('starts full: `capacity` permits pass at once, the next one waits 1 / rate', () => {
    const b = new TokenBucket(10 / 1_000, 3, 0);
    expect([b.acquire(0, 0), b.acquire(0, 0), b.acquire(0, 0)]).toEqual([0, 0, 0]);
    expect(b.available(0)).toBe(0);
    expect(b.acquire(0, 0)).toBeCloseTo(-100, 9);
    expect(b.waitTime(0)).toBeCloseTo(100, 9);
  });

  it('refills continuously, not in a batch at interval boundaries', () => {
    const b = new TokenBucket(10 / 1_000, 10, 0);
    for (let i = 0; i < 10; i++) b.acquire(0, 0);
    expect(b.available(250)).toBe(2);
    expect(b.acquire(250, 0)).toBe(0);
    expect(b.acquire(250, 0)).toBe(0);
    expect(b.acquire(250, 0)).toBeCloseTo(-50, 9);
  });

  it('never holds more than its capacity after a quiet period', () => {
    const b = new TokenBucket(1, 5, 0);
    expect(b.available(1e9)).toBe(5);
    expect(b.idle(1e9)).toBe(true);
    b.acquire(1e9, 0);
    expect(b.idle(1e9)).toBe(false);
  });

  it('reserves ahead within maxWaitMs: consecutive reservations are 1 / rate apart', () => {
    const b = new TokenBucket(10 / 1_000, 1, 0);
    expect(b.acquire(0, 1_000)).toBe(0);
    expect(b.acquire(0, 1_000)).toBeCloseTo(100, 9);
    expect(b.acquire(30, 1_000)).toBeCloseTo(170, 9);
    // Too far: reserves nothing and says how long it would have been.
    expect(b.acquire(30, 200)).toBeCloseTo(-270, 9);
    expect(b.acquire(30, 1_000)).toBeCloseTo(270, 9);
  });

  it('release gives back the latest reserved slot exactly', () => {
    const b = new TokenBucket(10 / 1_000, 1, 0);
    b.acquire(0, 1_000);
    b.acquire(0, 1_000); // slot 100
    b.acquire(0, 1_000); // slot 200
    b.release(50);
    expect(b.acquire(50, 1_000)).toBeCloseTo(150, 9); // slot 200 again
  });

  it('grants at most rate * W + capacity permits in any window of W ms (property)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 50 }), // permits per second
        fc.integer({ min: 1, max: 5 }), // capacity
        fc.array(fc.integer({ min: 0, max: 120 }), { minLength: 1, maxLength: 200, size: 'max' }), // gaps, ms
        (perSecond, capacity, gaps) => {
          const rate = perSecond / 1_000;
          const b = new TokenBucket(rate, capacity, 0);
          const granted: number[] = [];
          let now = 0;
          for (const gap of gaps) {
            now += gap;
            if (b.acquire(now, 0) === 0) granted.push(now);
          }
          expect(windowExcess(granted, rate, capacity)).toEqual([]);
        },
      ),
    );
  });

  it('is work-conserving: a refused call would have needed exactly the wait it reports (property)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 50 }),
        fc.integer({ min: 1, max: 5 }),
        fc.array(fc.integer({ min: 0, max: 120 }), { minLength: 1, maxLength: 100, size: 'max' }),
        (perSecond, capacity, gaps) => {
          const b = new TokenBucket(perSecond / 1_000, capacity, 0);
          let now = 0;
          for (const gap of gaps) {
            now += gap;
            const r = b.acquire(now, 0);
            if (r < 0) {
              // Just before the reported time still nothing; at it, a permit.
              const probe = new TokenBucket(b.ratePerMs, b.capacity, b.at);
              probe.tokens = b.tokens;
              expect(probe.available(now - r - 0.01)).toBe(0);
              expect(probe.available(now - r + EPS)).toBeGreaterThanOrEqual(1);
            }
          }
        },
      ),
    );
  });
});

describe('smooth (GCRA)', () => {
  it('spaces permits evenly with no burst, even after a quiet period', () => {
    const s = new SmoothLimiter(100, 0, 0);
    expect(s.acquire(0, 0)).toBe(0);
    expect(s.acquire(0, 0)).toBe(-100);
    expect(s.acquire(99, 0)).toBe(-1);
    expect(s.acquire(100, 0)).toBe(0);
    expect(s.available(10_000)).toBe(1);
    expect(s.idle(10_000)).toBe(true);
  });

  it('lets a call come up to toleranceMs early', () => {
    const s = new SmoothLimiter(100, 30, 0);
    expect(s.acquire(0, 0)).toBe(0);
    expect(s.acquire(70, 0)).toBe(0); // slot 100, 30 early
    expect(s.acquire(140, 0)).toBe(-30); // slot 200: 60 early is too early
    expect(s.available(1_000)).toBe(1);
    // A tolerance of two intervals allows three permits at once.
    expect(new SmoothLimiter(100, 200, 0).available(0)).toBe(3);
  });

  it('reserves consecutive slots for waiters and gives back the latest one', () => {
    const s = new SmoothLimiter(100, 0, 0);
    expect(s.acquire(0, 500)).toBe(0);
    expect(s.acquire(0, 500)).toBe(100);
    expect(s.acquire(10, 500)).toBe(190);
    s.release(20);
    expect(s.acquire(20, 500)).toBe(180);
    expect(s.waitTime(20)).toBe(280);
  });

  it('keeps any two permits i < j at least (j - i) * interval - tolerance apart (property)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 200 }), // interval, ms
        fc.integer({ min: 0, max: 300 }), // tolerance, ms
        fc.array(fc.integer({ min: 0, max: 150 }), { minLength: 1, maxLength: 200, size: 'max' }),
        (interval, tolerance, gaps) => {
          const s = new SmoothLimiter(interval, tolerance, 0);
          const granted: number[] = [];
          let now = 0;
          for (const gap of gaps) {
            now += gap;
            if (s.acquire(now, 0) === 0) granted.push(now);
          }
          expect(spacingViolations(granted, interval, tolerance)).toEqual([]);
        },
      ),
    );
  });
});
