import { describe, expect, it } from 'vitest';
import { gradient2Limit } from '../../src/limit/gradient2.js';
import type { LimitSample } from '../../src/limit/types.js';

function sample(startedAt: number, rttMs: number, inflight: number, dropped = false): LimitSample {
  return { startedAt, rttMs, inflight, dropped };
}

/** Every sample closes its own window, so each one is an update. */
const PER_SAMPLE = { windowMs: 0, windowSize: 1 };

describe('gradient2Limit', () => {
  it('grows by smoothing × headroom while latency is flat', () => {
    const limit = gradient2Limit(PER_SAMPLE);
    limit.onSample(sample(0, 10, 20));
    // 0.8 × 20 + 0.2 × (20 × 1 + sqrt(20)) = 20.89
    expect(limit.limit).toBe(21);
    expect(limit.longRttMs).toBe(10);
    expect(limit.shortRttMs).toBe(10);
  });

  it('shrinks by the gradient once the short rtt exceeds tolerance × the long rtt', () => {
    const limit = gradient2Limit({ ...PER_SAMPLE, tolerance: 1, headroom: 0 });
    limit.onSample(sample(0, 10, 20));
    expect(limit.limit).toBe(20);
    // long = mean(10, 20) = 15, gradient = 15 / 20: 0.8 × 20 + 0.2 × 15 = 19
    limit.onSample(sample(10, 20, 20));
    expect(limit.limit).toBe(19);
  });

  it('tolerates a short rtt up to tolerance × the long rtt', () => {
    const limit = gradient2Limit({ ...PER_SAMPLE, headroom: 0 });
    limit.onSample(sample(0, 10, 20));
    limit.onSample(sample(10, 20, 20)); // 1.5 × 15 / 20 > 1
    expect(limit.limit).toBe(20);
  });

  it('never cuts by more than half the gradient, however large the rtt', () => {
    const limit = gradient2Limit({ ...PER_SAMPLE, tolerance: 1, headroom: 0 });
    for (let t = 0; t < 10; t++) limit.onSample(sample(t * 10, 10, 20));
    limit.onSample(sample(100, 100_000, 20));
    // gradient clamped to 0.5: 0.8 × 20 + 0.2 × 10 = 18
    expect(limit.limit).toBe(18);
  });

  it('adds headroom only while the gradient is 1', () => {
    const limit = gradient2Limit({ ...PER_SAMPLE, tolerance: 1, headroom: 20 });
    limit.onSample(sample(0, 10, 20)); // 0.8 × 20 + 0.2 × 40 = 24
    expect(limit.limit).toBe(24);
    // gradient 10.5 / 11: 0.8 × 24 + 0.2 × 24 × 0.9545 = 23.8, not 27.8 with headroom
    limit.onSample(sample(10, 11, 24));
    expect(limit.limit).toBe(24);
  });

  it('takes the steepest gradient for a window with a drop', () => {
    const limit = gradient2Limit({ ...PER_SAMPLE, headroom: 0 });
    limit.onSample(sample(0, 10, 20));
    limit.onSample(sample(10, 10, 20, true)); // 0.8 × 20 + 0.2 × 10
    expect(limit.limit).toBe(18);
  });

  it('does not grow while fewer than half the permits are in use, but may still shrink', () => {
    const limit = gradient2Limit({ ...PER_SAMPLE, tolerance: 1, headroom: 4 });
    limit.onSample(sample(0, 10, 9));
    expect(limit.limit).toBe(20);
    limit.onSample(sample(10, 20, 9));
    expect(limit.limit).toBe(19);
  });

  it('averages rtt over a window and judges use by the most calls in flight in it', () => {
    const limit = gradient2Limit({ windowMs: 0, windowSize: 3 });
    limit.onSample(sample(0, 10, 5));
    limit.onSample(sample(1, 20, 15));
    expect(limit.shortRttMs).toBeNaN();
    limit.onSample(sample(2, 30, 8));
    expect(limit.shortRttMs).toBe(20);
    expect(limit.limit).toBe(21);
  });

  it('times windows by the completion times in the samples', () => {
    const limit = gradient2Limit({ windowMs: 100, windowSize: 1 });
    limit.onSample(sample(0, 10, 20)); // opens a window ending at 110
    limit.onSample(sample(40, 20, 20));
    expect(limit.shortRttMs).toBeNaN();
    limit.onSample(sample(80, 30, 20)); // completes at 110
    expect(limit.shortRttMs).toBe(20);
  });

  it('averages the first ten windows, then follows an exponential average over longWindow windows', () => {
    const limit = gradient2Limit({ ...PER_SAMPLE, longWindow: 9 });
    for (let t = 0; t < 10; t++) limit.onSample(sample(t * 10, t < 5 ? 10 : 20, 20));
    expect(limit.longRttMs).toBeCloseTo(15, 10);
    limit.onSample(sample(100, 25, 20));
    expect(limit.longRttMs).toBeCloseTo(15 + (25 - 15) * 0.2, 10);
  });

  it('pulls the long rtt down faster once it is more than twice the short rtt', () => {
    const limit = gradient2Limit(PER_SAMPLE);
    for (let t = 0; t < 10; t++) limit.onSample(sample(t * 100, 100, 20));
    limit.onSample(sample(1_000, 10, 20));
    expect(limit.longRttMs).toBeCloseTo((100 + (10 - 100) * (2 / 601)) * 0.95, 10);
  });

  it('reads a zero rtt as no queue', () => {
    const limit = gradient2Limit(PER_SAMPLE);
    limit.onSample(sample(0, 0, 20));
    limit.onSample(sample(0, 0, 20));
    expect(limit.limit).toBe(22);
  });

  it('skips samples whose rtt is negative, NaN or infinite', () => {
    const limit = gradient2Limit(PER_SAMPLE);
    for (const rtt of [-1, Number.NaN, Number.POSITIVE_INFINITY]) limit.onSample(sample(0, rtt, 20));
    expect(limit.limit).toBe(20);
    expect(limit.shortRttMs).toBeNaN();
  });
});
