import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ConsecutiveWindow } from '../../src/circuit-breaker/windows/consecutive.js';
import { CountWindow } from '../../src/circuit-breaker/windows/count.js';
import { TimeWindow } from '../../src/circuit-breaker/windows/time.js';

const outcome = fc.record({ failed: fc.boolean(), slow: fc.boolean() });

describe('count window', () => {
  it('matches the last N outcomes of a naive list, for any sequence', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 20 }),
        fc.array(outcome, { maxLength: 100 }),
        (size, outcomes) => {
          const w = new CountWindow(size);
          for (const o of outcomes) w.record(o.failed, o.slow);
          const last = outcomes.slice(-size);
          expect([w.calls, w.failures, w.slowCalls]).toEqual([
            last.length,
            last.filter((o) => o.failed).length,
            last.filter((o) => o.slow).length,
          ]);
        },
      ),
    );
  });

  it('exports and imports its outcomes in order', () => {
    const w = new CountWindow(3);
    for (const f of [true, false, true, true]) w.record(f, !f);
    const copy = new CountWindow(3);
    expect(copy.import(w.export())).toBe(true);
    expect(copy.export()).toEqual(w.export());
    copy.record(false, false);
    expect([copy.calls, copy.failures]).toEqual([3, 2]);
    expect(new CountWindow(4).import(w.export())).toBe(false);
  });
});

describe('consecutive window', () => {
  it('counts the current streak of failures', () => {
    const w = new ConsecutiveWindow();
    for (const f of [true, true, false, true]) w.record(f);
    expect(w.failures).toBe(1);
  });
});

describe('time window', () => {
  it('counts only the calls of the last durationMs (to a bucket)', () => {
    const w = new TimeWindow(1_000, 10);
    w.record(true, false, 0);
    w.record(false, false, 450);
    w.record(true, true, 999);
    w.advance(999);
    expect([w.calls, w.failures, w.slowCalls]).toEqual([3, 2, 1]);
    w.advance(1_000); // bucket [0, 100) has left the window
    expect([w.calls, w.failures, w.slowCalls]).toEqual([2, 1, 1]);
    w.advance(1_450);
    expect(w.calls).toBe(1);
  });

  it('clears every stale bucket after an idle gap longer than the window', () => {
    const w = new TimeWindow(60_000, 60);
    for (let t = 0; t < 60_000; t += 500) w.record(true, false, t);
    expect(w.calls).toBe(120);
    // An hour of silence, then one success: the hour-old failures must not count.
    w.record(false, false, 3_660_000);
    expect([w.calls, w.failures]).toEqual([1, 0]);
  });

  it('matches a naive list of timestamped outcomes for any sequence of records and reads, from any start', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 10 }),
        fc.integer({ min: 1, max: 50 }),
        // A clock may start below zero (a custom one, a FakeClock(-1000)).
        fc.integer({ min: -100_000, max: 100_000 }),
        fc.array(
          fc.record({ gap: fc.integer({ min: 0, max: 300 }), failed: fc.boolean(), slow: fc.boolean() }),
          {
            maxLength: 80,
          },
        ),
        (buckets, bucketMs, start, steps) => {
          const durationMs = buckets * bucketMs;
          const w = new TimeWindow(durationMs, buckets);
          const log: { bucket: number; failed: boolean; slow: boolean }[] = [];
          let now = start;
          for (const s of steps) {
            now += s.gap;
            w.record(s.failed, s.slow, now);
            log.push({ bucket: Math.floor(now / bucketMs), failed: s.failed, slow: s.slow });
            // Live: the current bucket and the buckets-1 before it.
            const current = Math.floor(now / bucketMs);
            const live = log.filter((e) => e.bucket > current - buckets);
            expect([w.calls, w.failures, w.slowCalls]).toEqual([
              live.length,
              live.filter((e) => e.failed).length,
              live.filter((e) => e.slow).length,
            ]);
          }
        },
      ),
    );
  });

  it('restores exported buckets at the same age relative to the new clock', () => {
    const w = new TimeWindow(1_000, 4);
    w.record(true, false, 100); // bucket 0
    w.record(false, false, 800); // bucket 3 (current at 800)
    const data = w.export(800);
    const restored = new TimeWindow(1_000, 4);
    expect(restored.import(data, 50_000)).toBe(true);
    expect([restored.calls, restored.failures]).toEqual([2, 1]);
    restored.advance(50_250); // one bucket later: the oldest (the failure) leaves
    expect([restored.calls, restored.failures]).toEqual([1, 0]);
    expect(new TimeWindow(1_000, 5).import(data, 0)).toBe(false);
  });
});
