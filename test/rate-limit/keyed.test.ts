import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { RateLimitedError } from '../../src/index.js';
import { rateLimiter } from '../../src/rate-limit/index.js';
import { FakeClock, track } from '../helpers.js';

const ok = async (p: Promise<{ ok: boolean }>) => (await p).ok;

describe('keyed rate limiter', () => {
  it('gives each key its own limit; calls without a key share one', async () => {
    const clock = new FakeClock();
    const rl = rateLimiter({ ratePerSecond: 1, burst: 2, keyed: true, clock });
    const call = (key?: string) => ok(rl.executeOutcome(() => key, { key }));
    expect([await call('a'), await call('a'), await call('a')]).toEqual([true, true, false]);
    expect([await call('b'), await call('b'), await call('b')]).toEqual([true, true, false]);
    expect([await call(), await call(), await call()]).toEqual([true, true, false]);
    expect(rl.snapshot()).toMatchObject({ keys: 3, maxKeys: 10_000, available: undefined, rejected: 3 });
  });

  it('keys context.key from execute(fn, { key }) and a signal alongside', async () => {
    const clock = new FakeClock();
    const rl = rateLimiter({ ratePerSecond: 1, burst: 1, keyed: { maxKeys: 5 }, clock });
    const controller = new AbortController();
    await expect(rl.execute(({ key }) => key, { key: 'tenant-1', signal: controller.signal })).resolves.toBe(
      'tenant-1',
    );
    await expect(rl.execute(() => 0, { key: 'tenant-1' })).rejects.toBeInstanceOf(RateLimitedError);
  });

  it('tracks at most maxKeys keys, dropping the least recently used', async () => {
    const clock = new FakeClock();
    const rl = rateLimiter({ ratePerSecond: 1, burst: 1, keyed: { maxKeys: 2 }, clock });
    expect(rl.tryAcquire('a')).not.toBeInstanceOf(Error);
    expect(rl.tryAcquire('b')).not.toBeInstanceOf(Error);
    // Touch a: b becomes the least recently used.
    expect(rl.tryAcquire('a')).toBeInstanceOf(RateLimitedError);
    expect(rl.tryAcquire('c')).not.toBeInstanceOf(Error);
    expect(rl.snapshot()).toMatchObject({ keys: 2, evictedKeys: 1 });
    // a is still tracked (and still empty); b was dropped and starts over with a full bucket.
    expect(rl.tryAcquire('a')).toBeInstanceOf(RateLimitedError);
    expect(rl.tryAcquire('b')).not.toBeInstanceOf(Error);
    expect(rl.snapshot()).toMatchObject({ keys: 2, evictedKeys: 2 });
  });

  it('drops a key only after at least maxKeys / 2 other keys were used since its last use (property)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 12 }),
        // A few hot keys among many cold ones.
        fc.array(fc.oneof(fc.integer({ min: 0, max: 2 }), fc.integer({ min: 0, max: 30 })), {
          maxLength: 300,
          size: 'max',
        }),
        (maxKeys, uses) => {
          // A bucket of one permit that never refills: a key is granted exactly once while tracked.
          const rl = rateLimiter({
            tokens: 1,
            intervalMs: 2 ** 31 - 1,
            keyed: { maxKeys },
            clock: new FakeClock(),
          });
          const lastUse = new Map<number, number>();
          const wrongly: string[] = [];
          let maxTracked = 0;
          uses.forEach((k, now) => {
            const granted = !(rl.tryAcquire(`k${k}`) instanceof RateLimitedError);
            const last = lastUse.get(k);
            if (last !== undefined && granted) {
              const othersSince = new Set(uses.slice(last + 1, now).filter((o) => o !== k)).size;
              if (othersSince < maxKeys / 2) wrongly.push(`k${k} dropped after ${othersSince} other keys`);
            }
            lastUse.set(k, now);
            maxTracked = Math.max(maxTracked, rl.snapshot().keys);
          });
          expect(wrongly).toEqual([]);
          expect(maxTracked).toBeLessThanOrEqual(maxKeys);
        },
      ),
      { numRuns: 200 },
    );
  });

  it('never drops a key with waiting calls, which keeps its schedule; it is tracked again after', async () => {
    const clock = new FakeClock();
    const rl = rateLimiter({ ratePerSecond: 10, burst: 1, maxWaitMs: 1_000, keyed: { maxKeys: 1 }, clock });
    const started: string[] = [];
    const run = (key: string) => track(rl.execute(() => started.push(`${key}@${clock.now()}`), { key }));
    run('hot');
    run('hot'); // waits for slot 100
    // Many other keys come and go while 'hot' waits; none may push it out.
    for (let i = 0; i < 20; i++) run(`other-${i}`);
    expect(rl.snapshot()).toMatchObject({ keys: 2, waiting: 1 });
    const third = run('hot'); // slot 200 of the same schedule, not a fresh bucket
    await clock.tick(0);
    expect(started.filter((s) => s.startsWith('hot'))).toEqual(['hot@0']);
    await clock.tick(200);
    expect(started.filter((s) => s.startsWith('hot'))).toEqual(['hot@0', 'hot@100', 'hot@200']);
    expect(third.ok).toBe(true);
    expect(rl.snapshot()).toMatchObject({ keys: 1, waiting: 0 });
    expect(clock.pendingTimers).toBe(0);
  });

  it('serves waiters of several keys from one timer, each at its own slot', async () => {
    const clock = new FakeClock();
    const rl = rateLimiter({ ratePerSecond: 10, burst: 1, maxWaitMs: 1_000, keyed: true, clock });
    const started: string[] = [];
    const calls: Promise<unknown>[] = [];
    const run = (key: string) => calls.push(rl.execute(() => started.push(`${key}@${clock.now()}`), { key }));
    run('a');
    run('a'); // a@100
    run('a'); // a@200
    clock.advance(30);
    run('b');
    run('b'); // b@130
    clock.advance(20);
    run('c');
    run('c'); // c@150
    expect(clock.pendingTimers).toBe(1);
    await clock.tick(300);
    await Promise.all(calls);
    expect(started).toEqual(['a@0', 'b@30', 'c@50', 'a@100', 'b@130', 'c@150', 'a@200']);
  });

  it('stays bounded under 100k distinct keys', () => {
    const clock = new FakeClock();
    const rl = rateLimiter({ ratePerSecond: 1, burst: 1, keyed: { maxKeys: 1_000 }, clock });
    let granted = 0;
    for (let i = 0; i < 100_000; i++) {
      if (!(rl.tryAcquire(`client-${i}`) instanceof Error)) granted++;
      if (i % 997 === 0) clock.advance(1);
      if (i % 10_000 === 0) expect(rl.snapshot().keys).toBeLessThanOrEqual(1_000);
    }
    expect(granted).toBe(100_000);
    expect(rl.snapshot()).toMatchObject({ keys: 1_000, evictedKeys: 99_000, admitted: 100_000 });
  });
});

const root = fileURLToPath(new URL('../..', import.meta.url));

// A child process with --expose-gc, so the heap figures are not muddied by the test runner.
const script = `
const { rateLimiter } = await import('./src/rate-limit/index.ts');
const rl = rateLimiter({ ratePerSecond: 1, burst: 1, maxWaitMs: 0, keyed: { maxKeys: 1_000 } });
const run = (from, to) => { for (let i = from; i < to; i++) rl.tryAcquire('client-' + i); };
run(0, 20_000);
globalThis.gc(); globalThis.gc();
const before = process.memoryUsage().heapUsed;
run(20_000, 120_000);
globalThis.gc(); globalThis.gc();
const after = process.memoryUsage().heapUsed;
console.log(JSON.stringify({ keys: rl.snapshot().keys, grewBytes: after - before }));
`;

describe('keyed rate limiter memory', () => {
  it('100k more distinct keys on a full table do not grow the heap', () => {
    const out = JSON.parse(
      execFileSync(
        process.execPath,
        ['--expose-gc', '--import', 'tsx', '--input-type=module', '-e', script],
        {
          cwd: root,
          encoding: 'utf8',
        },
      ),
    );
    expect(out.keys).toBe(1_000);
    // 100k retained keys take about 25 MB (some 250 bytes each); a full table only replaces entries.
    expect(out.grewBytes).toBeLessThan(1_000_000);
  });
});
