import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ThrottleWindow } from '../../src/throttle/window.js';

describe('ThrottleWindow', () => {
  it('computes max(0, (requests - k * accepts) / (requests + padding))', () => {
    const w = new ThrottleWindow(1_000, 10);
    w.advance(0);
    expect(w.probability(2, 1)).toBe(0);
    for (let i = 0; i < 9; i++) w.addRequest();
    w.addAccept();
    expect(w.probability(2, 1)).toBeCloseTo(7 / 10, 12);
    expect(w.probability(2, 8)).toBeCloseTo(7 / 17, 12);
    for (let i = 0; i < 4; i++) w.addAccept();
    expect(w.probability(2, 1)).toBe(0);
  });

  it('forgets buckets as they leave the window, and everything after an idle gap', () => {
    const w = new ThrottleWindow(1_000, 10);
    w.advance(0);
    w.addRequest();
    w.advance(550);
    w.addRequest();
    w.addAccept();
    w.advance(999);
    expect([w.requests, w.accepts]).toEqual([2, 1]);
    w.advance(1_000);
    expect([w.requests, w.accepts]).toEqual([1, 1]);
    // The bucket of t=550 covers [500, 600): it leaves when the bucket of [1500, 1600) starts.
    w.advance(1_499);
    expect([w.requests, w.accepts]).toEqual([1, 1]);
    w.advance(1_500);
    expect([w.requests, w.accepts]).toEqual([0, 0]);
    w.addRequest();
    w.advance(1e9);
    expect([w.requests, w.accepts]).toEqual([0, 0]);
  });

  it('takes a request back only while its bucket is in the window', () => {
    const w = new ThrottleWindow(1_000, 10);
    w.advance(0);
    w.addRequest();
    w.addRequest();
    const epoch = w.epoch;
    w.advance(500);
    w.removeRequest(epoch);
    expect(w.requests).toBe(1);
    w.advance(1_000);
    w.addRequest();
    w.removeRequest(epoch); // that bucket is gone: the request already left
    expect(w.requests).toBe(1);
  });

  it('works on a clock that starts below zero', () => {
    const w = new ThrottleWindow(1_000, 10);
    w.advance(-5_000);
    w.addRequest();
    w.advance(-4_500);
    w.addAccept();
    expect([w.requests, w.accepts]).toEqual([1, 1]);
    w.advance(-3_950);
    expect([w.requests, w.accepts]).toEqual([0, 1]);
  });

  it('always holds exactly the requests and accepts of the last buckets (property)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 20 }),
        fc.array(
          fc.record({ gap: fc.integer({ min: 0, max: 400 }), requests: fc.nat(3), accepts: fc.nat(3) }),
          { maxLength: 100, size: 'max' },
        ),
        (buckets, steps) => {
          const durationMs = 1_000;
          const bucketMs = durationMs / buckets;
          const w = new ThrottleWindow(durationMs, buckets);
          const log: { epoch: number; requests: number; accepts: number }[] = [];
          let now = 0;
          for (const step of steps) {
            now += step.gap;
            w.advance(now);
            for (let i = 0; i < step.requests; i++) w.addRequest();
            for (let i = 0; i < step.accepts; i++) w.addAccept();
            const epoch = Math.floor(now / bucketMs);
            log.push({ epoch, requests: step.requests, accepts: step.accepts });
            const live = log.filter((e) => epoch - e.epoch < buckets);
            expect(w.requests).toBe(live.reduce((s, e) => s + e.requests, 0));
            expect(w.accepts).toBe(live.reduce((s, e) => s + e.accepts, 0));
          }
        },
      ),
    );
  });
});
