import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type DeadlineEntry, DeadlineQueue, type HeapEntry } from '../../src/core/deadline-queue.js';
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

function heapEntry(deadline: number, onDeadline: () => void): HeapEntry {
  return { deadline, heapIndex: -1, heapSeq: 0, onDeadline };
}

describe('DeadlineQueue heap entries (arbitrary deadlines)', () => {
  it("fires them at their exact time, earliest first, ties in scheduling order, on the lanes' timer", () => {
    const clock = new FakeClock();
    const q = new DeadlineQueue(clock);
    const fired: string[] = [];
    const at = (name: string) => () => fired.push(`${name}@${clock.now()}`);
    q.schedule(heapEntry(100 / 3, at('c')));
    q.schedule(heapEntry(10, at('a')));
    q.schedule(heapEntry(100 / 3, at('d')));
    q.lane(20).add(entry(20, fired, 'lane20'));
    q.schedule(heapEntry(15, at('b')));
    expect(clock.pendingTimers).toBe(1);
    expect(q.size).toBe(5);
    expect(q.heapSize).toBe(4);
    clock.advance(100);
    expect(fired).toEqual(['a@10', 'b@15', 'lane20', `c@${100 / 3}`, `d@${100 / 3}`]);
    expect(clock.pendingTimers).toBe(0);
    expect(q.size).toBe(0);
  });

  it('reschedules an entry that fired, or moved, keeping its place among equal deadlines', () => {
    const clock = new FakeClock();
    const q = new DeadlineQueue(clock);
    const fired: string[] = [];
    let left = 3;
    const a: HeapEntry = heapEntry(10, () => {
      fired.push(`a@${clock.now()}`);
      if (--left > 0) {
        a.deadline += 10;
        q.reschedule(a);
      }
    });
    const b = heapEntry(20, () => fired.push(`b@${clock.now()}`));
    q.schedule(a);
    q.schedule(b);
    clock.advance(100);
    // a was scheduled first: at 20 it still goes before b.
    expect(fired).toEqual(['a@10', 'a@20', 'b@20', 'a@30']);
    // Moved earlier, then later again, while scheduled (the clock is at 100).
    const c = heapEntry(150, () => fired.push('c'));
    q.schedule(c);
    c.deadline = 140;
    q.reschedule(c);
    c.deadline = 145;
    q.reschedule(c);
    clock.advance(44);
    expect(fired).toHaveLength(4);
    clock.advance(1);
    expect(fired).toHaveLength(5);
    expect(clock.pendingTimers).toBe(0);
  });

  it('keeps the process alive while one is scheduled, and drops the timer when the last leaves early', async () => {
    const clock = new FakeClock();
    const q = new DeadlineQueue(clock);
    const a = heapEntry(100, () => {});
    const b = heapEntry(50, () => {});
    q.schedule(a);
    expect(clock.refTimers).toBe(1);
    q.schedule(b);
    expect(clock.pendingTimers).toBe(1);
    q.unschedule(b);
    q.unschedule(b);
    expect(clock.refTimers).toBe(1);
    q.unschedule(a);
    expect(clock.pendingTimers).toBe(0);
    expect(q.keepsAlive).toBe(false);
    // With a lane entry still armed, leaving only unschedules.
    const e = entry(200, [], 'e');
    q.lane(200).add(e);
    q.schedule(a);
    q.unschedule(a);
    expect(clock.refTimers).toBe(1);
    q.lane(200).remove(e);
    await flush();
    expect(clock.refTimers).toBe(0);
  });

  it('fires every lane and heap entry exactly once, at its deadline, for any arm/disarm sequence', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.record({
            at: fc.integer({ min: 0, max: 200 }),
            // A lane duration, or a heap entry's arbitrary (fractional) delay.
            kind: fc.oneof(
              fc.constantFrom(5, 20).map((ms) => ({ lane: ms })),
              fc.double({ min: 0, max: 100, noNaN: true }).map((ms) => ({ heap: ms })),
            ),
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
          const deadlines = new Map<number, number>();
          const record = (i: number) => () => firedAt.set(i, [...(firedAt.get(i) ?? []), clock.now()]);
          ops.forEach((op, i) => {
            clock.setTimer(() => {
              if ('lane' in op.kind) {
                const e: DeadlineEntry = {
                  deadline: clock.now() + op.kind.lane,
                  prevEntry: null,
                  nextEntry: null,
                  lane: null,
                  onDeadline: record(i),
                };
                deadlines.set(i, e.deadline);
                q.lane(op.kind.lane).add(e);
                if (op.cancelAfter !== undefined) clock.setTimer(() => e.lane?.remove(e), op.cancelAfter);
              } else {
                const e = heapEntry(clock.now() + op.kind.heap, record(i));
                deadlines.set(i, e.deadline);
                q.schedule(e);
                if (op.cancelAfter !== undefined) clock.setTimer(() => q.unschedule(e), op.cancelAfter);
              }
            }, op.at);
          });
          clock.advance(1_000);
          ops.forEach((op, i) => {
            const delay = 'lane' in op.kind ? op.kind.lane : op.kind.heap;
            const cancelledFirst = op.cancelAfter !== undefined && op.cancelAfter < delay;
            if (cancelledFirst) expect(firedAt.get(i)).toBeUndefined();
            else {
              expect(firedAt.get(i)).toHaveLength(1);
              const late = firedAt.get(i)![0]! - deadlines.get(i)!;
              // Heap entries fire at their very time; lane entries may round up to a whole ms.
              expect(late).toBeGreaterThanOrEqual(-1e-6);
              expect(late).toBeLessThan('lane' in op.kind ? 1 : 1e-6);
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
