import { describe, expect, it } from 'vitest';
import { bulkhead } from '../../src/index.js';
import { deferred, FakeClock, flush } from '../helpers.js';

// Raising the limit frees several slots at once: queued calls are admitted partitions still under
// their reservation first, then in arrival order. Reservations are floor(limit · ratio).
describe('setLimit with calls queued in several partitions', () => {
  it('admits reserved partitions first, then FIFO, with reservations rounded down', async () => {
    const b = bulkhead({
      limit: 1,
      queue: 100,
      partitions: { a: 0.5, b: 0.3 },
      clock: new FakeClock(),
    });
    const release = deferred<void>();
    const started: string[] = [];
    const admitted: (string | undefined)[] = [];
    b.onQueueWait((e) => admitted.push(e.partition));
    const run = (policy: { execute: typeof b.execute }, name: string) =>
      policy.execute(() => {
        started.push(name);
        return release.promise;
      });
    const calls = [run(b, 'holder')];
    await flush();
    // Arrival order: the unreserved rest (the bulkhead itself) first, then a, then b.
    for (const [policy, name] of [
      [b, 'd1'],
      [b, 'd2'],
      [b.partition('a'), 'a1'],
      [b.partition('a'), 'a2'],
      [b.partition('a'), 'a3'],
      [b.partition('b'), 'b1'],
      [b.partition('b'), 'b2'],
    ] as const) {
      calls.push(run(policy, name));
    }
    expect(b.snapshot()).toMatchObject({ inflight: 1, queueSize: 7 });

    // Limit 5: a reserves floor(2.5) = 2, b floor(1.5) = 1, 2 slots left for anyone (one held already).
    b.setLimit(5);
    expect(b.snapshot().partitions.map((p) => [p.name, p.reserved, p.inflight, p.queueSize])).toEqual([
      ['(default)', 0, 2, 1],
      ['a', 2, 2, 1],
      ['b', 1, 1, 1],
    ]);
    // a and b fill their reservations (a1 before b1: both reserved, a1 came first); then the oldest
    // waiter of all, d1, gets the last slot, although a3 and b2 wait too.
    expect(admitted).toEqual(['a', 'a', 'b', '(default)']);
    await flush();
    expect(started).toEqual(['holder', 'a1', 'a2', 'b1', 'd1']);

    release.resolve();
    await Promise.all(calls);
    expect(b.snapshot()).toMatchObject({ inflight: 0, queueSize: 0 });
  });
});
