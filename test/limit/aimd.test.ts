import { describe, expect, it } from 'vitest';
import { aimdLimit } from '../../src/limit/aimd.js';
import type { LimitSample } from '../../src/limit/types.js';

function sample(startedAt: number, rttMs: number, inflight: number, dropped = false): LimitSample {
  return { startedAt, rttMs, inflight, dropped };
}

describe('aimdLimit', () => {
  it('adds one per successful sample while at least half the permits are in use', () => {
    const limit = aimdLimit();
    limit.onSample(sample(0, 10, 10));
    expect(limit.limit).toBe(21);
    limit.onSample(sample(10, 10, 21));
    expect(limit.limit).toBe(22);
  });

  it('adds the configured increment', () => {
    const limit = aimdLimit({ increment: 3 });
    limit.onSample(sample(0, 10, 20));
    expect(limit.limit).toBe(23);
  });

  it('does not grow while fewer than half the permits are in use (app-limited)', () => {
    const limit = aimdLimit();
    limit.onSample(sample(0, 10, 9));
    expect(limit.limit).toBe(20);
  });

  it('multiplies by the backoff ratio on a drop, even when app-limited', () => {
    const limit = aimdLimit({ initialLimit: 100 });
    limit.onSample(sample(0, 10, 1, true));
    expect(limit.limit).toBe(90);
    const other = aimdLimit({ initialLimit: 100, backoffRatio: 0.5 });
    other.onSample(sample(0, 10, 100, true));
    expect(other.limit).toBe(50);
  });

  it('treats a sample slower than timeoutMs as a drop', () => {
    const limit = aimdLimit({ initialLimit: 100, timeoutMs: 50 });
    limit.onSample(sample(0, 50, 100));
    expect(limit.limit).toBe(101);
    limit.onSample(sample(50, 51, 100));
    expect(limit.limit).toBe(91);
  });

  it('ignores latency altogether without timeoutMs', () => {
    const limit = aimdLimit();
    limit.onSample(sample(0, 1e9, 20));
    expect(limit.limit).toBe(21);
  });

  it('backs off by at least one even where limit × ratio rounds back to the limit', () => {
    const limit = aimdLimit({ initialLimit: 5 });
    limit.onSample(sample(0, 10, 5, true));
    expect(limit.limit).toBe(4);
  });

  it('stays within [minLimit, maxLimit]', () => {
    const limit = aimdLimit({ initialLimit: 3, minLimit: 2, maxLimit: 4 });
    for (let t = 0; t < 10; t++) limit.onSample(sample(t * 10, 10, 4));
    expect(limit.limit).toBe(4);
    for (let t = 10; t < 20; t++) limit.onSample(sample(t * 10, 10, 4, true));
    expect(limit.limit).toBe(2);
  });

  it('changes at most once per round trip: calls started before a change are ignored', () => {
    const limit = aimdLimit({ initialLimit: 100 });
    // A burst of timeouts from calls that were all in flight together is one congestion event.
    limit.onSample(sample(0, 100, 100, true));
    limit.onSample(sample(1, 100, 100, true));
    limit.onSample(sample(2, 100, 100, true));
    expect(limit.limit).toBe(90);
    // Nor does a success from before the cut credit the new limit.
    limit.onSample(sample(50, 60, 100));
    expect(limit.limit).toBe(90);
    // A call started at or after the change counts.
    limit.onSample(sample(100, 100, 90, true));
    expect(limit.limit).toBe(81);
  });

  it('emits only when the integer limit changes', () => {
    const limit = aimdLimit({ increment: 0.4 });
    const seen: number[] = [];
    const dispose = limit.onLimitChange((value) => seen.push(value));
    limit.onSample(sample(0, 1, 20)); // 20.4
    limit.onSample(sample(1, 1, 20)); // 20.8
    limit.onSample(sample(2, 1, 20)); // 21.2
    expect(seen).toEqual([21]);
    expect(limit.limit).toBe(21);
    dispose();
    limit.onSample(sample(3, 1, 20, true));
    expect(seen).toEqual([21]);
  });

  it('skips samples whose rtt is negative, NaN or infinite', () => {
    const limit = aimdLimit();
    for (const rtt of [-1, Number.NaN, Number.POSITIVE_INFINITY]) limit.onSample(sample(0, rtt, 20, true));
    expect(limit.limit).toBe(20);
  });
});
