import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type DeadlineEntry, DeadlineQueue } from '../../src/core/deadline-queue.js';
import { FakeClock, flush } from '../helpers.js';

function entry(deadline: number, fired: string[], name: string): DeadlineEntry {
  return { deadline, prevEntry: null, nextEntry: null, lane: null, onDeadline: () => fired.push(name) };
}

describe('DeadlineQueue', () => {
  it('fires entries at their deadline, in order, across lanes, with one native timer', () => {
    const clock = new FakeClock();
    const q = new DeadlineQueue(clock);
    const fired: string[] = [];
    q.lane(100).add(entry(100, fired, 'a100'));
    q.lane(30).add(entry(30, fired, 'b30'));
    clock.advance(10);
    q.lane(100).add(entry(110, fired, 'c110'));
    expect(clock.pendingTimers).toBe(1);
    clock.advance(20);
    expect(fired).toEqual(['b30']);
    clock.advance(70);
    expect(fired).toEqual(['b30', 'a100']);
    clock.advance(10);
    expect(fired).toEqual(['b30', 'a100', 'c110']);
    expect(clock.pendingTimers).toBe(0);
  });

  it('keeps the process alive while an entry is armed, and not past the turn in which the last one left', async () => {
    const clock = new FakeClock();
    const q = new DeadlineQueue(clock);
    const fired: string[] = [];
    const lane = q.lane(100);
    const a = entry(100, fired, 'a');
    const b = entry(100, fired, 'b');
    lane.add(a);
    expect(clock.refTimers).toBe(1);
    lane.add(b);
    lane.remove(a);
    expect(clock.refTimers).toBe(1);
    lane.remove(b);
    // The timer stays armed for a deadline nobody waits on any more: by the end of the turn it must
    // not hold the process.
    await flush();
    expect(clock.pendingTimers).toBe(1);
    expect(clock.refTimers).toBe(0);
    lane.add(entry(150, fired, 'c'));
    expect(clock.refTimers).toBe(1);
    clock.advance(150);
    expect(fired).toEqual(['c']);
    expect(clock.pendingTimers).toBe(0);
  });

  it('does not fire removed entries', () => {
    const clock = new FakeClock();
    const q = new DeadlineQueue(clock);
    const fired: string[] = [];
    const lane = q.lane(50);
    const a = entry(50, fired, 'a');
    lane.add(a);
    lane.add(entry(50, fired, 'b'));
    lane.remove(a);
    clock.advance(50);
    expect(fired).toEqual(['b']);
  });

  it('keeps a lane sorted when entries arrive out of order', () => {
    const clock = new FakeClock();
    const q = new DeadlineQueue(clock);
    const fired: string[] = [];
    const lane = q.lane(1);
    lane.add(entry(30, fired, '30'));
    lane.add(entry(10, fired, '10'));
    lane.add(entry(20, fired, '20'));
    clock.advance(100);
    expect(fired).toEqual(['10', '20', '30']);
  });

  it('fires every entry exactly once, at or after its deadline, for any arm/disarm sequence', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.record({
            at: fc.integer({ min: 0, max: 200 }),
            lane: fc.constantFrom(5, 20, 75),
            // Half-ms cancellations never tie with a deadline.
            cancelAfter: fc.option(
              fc.integer({ min: 0, max: 100 }).map((n) => n + 0.5),
              { nil: undefined },
            ),
          }),
          { maxLength: 40 },
        ),
        (ops) => {
          const clock = new FakeClock();
          const q = new DeadlineQueue(clock);
          const firedAt = new Map<number, number[]>();
          ops.forEach((op, i) => {
            clock.setTimer(() => {
              const e: DeadlineEntry = {
                deadline: clock.now() + op.lane,
                prevEntry: null,
                nextEntry: null,
                lane: null,
                onDeadline: () => firedAt.set(i, [...(firedAt.get(i) ?? []), clock.now()]),
              };
              q.lane(op.lane).add(e);
              if (op.cancelAfter !== undefined) {
                clock.setTimer(() => {
                  if (e.lane !== null) e.lane.remove(e);
                }, op.cancelAfter);
              }
            }, op.at);
          });
          clock.advance(1_000);
          ops.forEach((op, i) => {
            const deadline = op.at + op.lane;
            const cancelledFirst = op.cancelAfter !== undefined && op.cancelAfter < op.lane;
            if (cancelledFirst) expect(firedAt.get(i)).toBeUndefined();
            else {
              expect(firedAt.get(i)).toHaveLength(1);
              expect(firedAt.get(i)![0]).toBe(deadline);
            }
          });
          expect(q.size).toBe(0);
          expect(clock.pendingTimers).toBe(0);
        },
      ),
    );
  });
});

describe('DeadlineQueue on the system clock', () => {
  it('never fires an entry before its deadline', async () => {
    const { systemClock } = await import('../../src/core/clock.js');
    const q = new DeadlineQueue(systemClock);
    const deadlines = [3, 7.5, 12.25, 20].map((ms) => systemClock.now() + ms);
    const fired = await Promise.all(
      deadlines.map(
        (deadline) =>
          new Promise<[number, number]>((resolve) => {
            q.lane(deadline).add({
              deadline,
              prevEntry: null,
              nextEntry: null,
              lane: null,
              onDeadline: () => resolve([deadline, systemClock.now()]),
            });
          }),
      ),
    );
    for (const [deadline, at] of fired) expect(at).toBeGreaterThanOrEqual(deadline);
    expect(q.timerArmed).toBe(false);
  });
});
