import { describe, expect, it } from 'vitest';
import type { LimitSample } from '../../src/limit/types.js';
import { vegasLimit } from '../../src/limit/vegas.js';

function sample(startedAt: number, rttMs: number, inflight: number, dropped = false): LimitSample {
  return { startedAt, rttMs, inflight, dropped };
}

// Probing off unless a test is about it: a multiplier this large never comes due.
const NO_PROBE = { probeMultiplier: 1e9 };

/** A Vegas limit whose no-load rtt is already 10 ms. */
function warmed(options: Parameters<typeof vegasLimit>[0] = {}) {
  const limit = vegasLimit({ ...NO_PROBE, ...options });
  limit.onSample(sample(0, 10, 20));
  return limit;
}

describe('vegasLimit', () => {
  it('takes the smallest rtt seen as the no-load rtt, without moving the limit', () => {
    const limit = vegasLimit(NO_PROBE);
    expect(limit.rttNoLoadMs).toBe(Number.POSITIVE_INFINITY);
    limit.onSample(sample(0, 12, 20));
    limit.onSample(sample(1, 10, 20));
    expect(limit.rttNoLoadMs).toBe(10);
    expect(limit.limit).toBe(20);
  });

  it('grows by beta at once while the estimated queue is within the threshold', () => {
    // queue = ceil(20 × (1 − 10/10)) = 0 <= threshold 1: +beta (6)
    const limit = warmed();
    limit.onSample(sample(10, 10, 20));
    expect(limit.limit).toBe(26);
  });

  it('grows by log10 of the limit while the queue is below alpha', () => {
    // queue = ceil(20 × (1 − 10/11)) = 2 < alpha 3: +1
    const limit = warmed();
    limit.onSample(sample(10, 11, 20));
    expect(limit.limit).toBe(21);
  });

  it('holds while the queue is between alpha and beta', () => {
    // queue = ceil(20 × (1 − 10/13)) = 5
    const limit = warmed();
    limit.onSample(sample(10, 13, 20));
    expect(limit.limit).toBe(20);
  });

  it('shrinks by log10 of the limit when the queue exceeds beta', () => {
    // queue = ceil(20 × (1 − 10/20)) = 10 > beta 6: −1
    const limit = warmed();
    limit.onSample(sample(10, 20, 20));
    expect(limit.limit).toBe(19);
  });

  it('shrinks on a drop, even when app-limited, and a drop never sets the no-load rtt', () => {
    const limit = warmed();
    limit.onSample(sample(10, 1, 2, true));
    expect(limit.limit).toBe(19);
    expect(limit.rttNoLoadMs).toBe(10);
  });

  it('does not move while fewer than half the permits are in use (app-limited)', () => {
    const limit = warmed();
    limit.onSample(sample(10, 10, 9));
    limit.onSample(sample(20, 30, 9));
    expect(limit.limit).toBe(20);
  });

  it('applies smoothing to every step', () => {
    const limit = warmed({ smoothing: 0.5 });
    limit.onSample(sample(10, 10, 20)); // 20 + 0.5 × 6
    expect(limit.limit).toBe(23);
  });

  it('uses the configured thresholds and steps', () => {
    const limit = warmed({ alpha: 10, beta: 20, threshold: 0, increase: (l) => l * 2 });
    limit.onSample(sample(10, 13, 20)); // queue 5: between threshold and alpha
    expect(limit.limit).toBe(40);
  });

  it('changes at most once per round trip: calls started before a change are ignored', () => {
    const limit = warmed();
    limit.onSample(sample(10, 20, 20)); // −1 at t = 30
    limit.onSample(sample(11, 20, 20));
    limit.onSample(sample(12, 1, 2, true));
    expect(limit.limit).toBe(19);
    limit.onSample(sample(30, 20, 19));
    expect(limit.limit).toBe(18);
  });

  it('probes by halving the limit for one round and taking the fastest rtt of that round as the base', () => {
    // Jitter 0.5 × multiplier 1 × limit 20: the 10th sample above the minimum starts a probe.
    const limit = vegasLimit({ probeMultiplier: 1, random: () => 0, alpha: 0, beta: 50, threshold: 0 });
    const seen: number[] = [];
    limit.onLimitChange((value) => seen.push(value));
    limit.onSample(sample(0, 10, 20));
    for (let i = 1; i <= 10; i++) limit.onSample(sample(i, 30, 20));
    expect(limit.limit).toBe(10);
    // Calls started before the probe are still queued behind the old limit: they do not count.
    limit.onSample(sample(20, 30, 20));
    expect(limit.limit).toBe(10);
    // Ten calls started under the halved limit: the fastest becomes the no-load rtt.
    for (let i = 0; i < 10; i++) limit.onSample(sample(40 + i, 24 + (i % 3), 10));
    expect(limit.rttNoLoadMs).toBe(24);
    expect(limit.limit).toBe(20);
    expect(seen).toEqual([10, 20]);
  });

  it('a drop during a probe ends it and keeps the limit down', () => {
    const limit = vegasLimit({ probeMultiplier: 1, random: () => 0, alpha: 0, beta: 50, threshold: 0 });
    limit.onSample(sample(0, 10, 20));
    for (let i = 1; i <= 10; i++) limit.onSample(sample(i, 30, 20));
    expect(limit.limit).toBe(10);
    limit.onSample(sample(40, 30, 10, true));
    expect(limit.limit).toBe(9);
    expect(limit.rttNoLoadMs).toBe(10);
  });

  it('skips samples whose rtt is negative, NaN or infinite', () => {
    const limit = warmed();
    for (const rtt of [-1, Number.NaN, Number.POSITIVE_INFINITY]) limit.onSample(sample(10, rtt, 20));
    expect(limit.limit).toBe(20);
    expect(limit.rttNoLoadMs).toBe(10);
  });

  it('reads a zero rtt as no queue', () => {
    const limit = vegasLimit(NO_PROBE);
    limit.onSample(sample(0, 0, 20));
    limit.onSample(sample(0, 0, 20));
    expect(limit.limit).toBe(26);
  });
});
