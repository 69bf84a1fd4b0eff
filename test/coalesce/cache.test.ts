import { describe, expect, it } from 'vitest';
import { coalesce } from '../../src/coalesce/index.js';
import { LruCache } from '../../src/coalesce/lru.js';
import type { Context, PolicyEvent } from '../../src/index.js';
import { deferred, FakeClock, flush, track } from '../helpers.js';

const byKey = (ctx: Context) => ctx.key;

/** A task that answers `${key}#${n}` after `ms` on the fake clock (or fails when told to). */
function counted(clock: FakeClock, ms = 10) {
  const state = { runs: 0, fail: false, signals: [] as AbortSignal[] };
  const task = (ctx: Context) => {
    const n = ++state.runs;
    const failing = state.fail;
    state.signals.push(ctx.signal);
    return new Promise<string>((resolve, reject) =>
      clock.setTimer(() => (failing ? reject(new Error(`${ctx.key}#${n}`)) : resolve(`${ctx.key}#${n}`)), ms),
    );
  };
  return { state, task };
}

describe('coalesce cache', () => {
  it('serves a result for ttlMs after its execution settled, then runs again', async () => {
    const clock = new FakeClock();
    const policy = coalesce({ key: byKey, clock, cache: { ttlMs: 100 } });
    const { state, task } = counted(clock);
    const first = track(policy.execute(task, { key: 'a' }));
    await clock.tick(10);
    expect(first.value).toBe('a#1');
    await clock.tick(99);
    await expect(policy.execute(task, { key: 'a' })).resolves.toBe('a#1');
    expect(state.runs).toBe(1);
    await clock.tick(1);
    const third = track(policy.execute(task, { key: 'a' }));
    expect(state.runs).toBe(2);
    await clock.tick(10);
    expect(third.value).toBe('a#2');
    expect(policy.snapshot()).toMatchObject({ hits: 1, misses: 2, cacheSize: 1, calls: 2 });
  });

  it('does not cache failures unless asked', async () => {
    const clock = new FakeClock();
    const policy = coalesce({ key: byKey, clock, cache: { ttlMs: 100 } });
    const { state, task } = counted(clock);
    state.fail = true;
    const first = track(policy.execute(task, { key: 'a' }));
    await clock.tick(10);
    expect(first.error).toMatchObject({ message: 'a#1' });
    state.fail = false;
    const second = track(policy.execute(task, { key: 'a' }));
    await clock.tick(10);
    expect(second.value).toBe('a#2');
    expect(state.runs).toBe(2);
  });

  it('caches failures for ttlMs with cacheFailures', async () => {
    const clock = new FakeClock();
    const policy = coalesce({ key: byKey, clock, cache: { ttlMs: 50, cacheFailures: true } });
    const { state, task } = counted(clock);
    state.fail = true;
    const first = track(policy.execute(task, { key: 'a' }));
    await clock.tick(10);
    state.fail = false;
    await expect(policy.execute(task, { key: 'a' })).rejects.toBe(first.error);
    await expect(policy.executeOutcome(task, { key: 'a' })).resolves.toEqual({
      ok: false,
      error: first.error,
    });
    expect(state.runs).toBe(1);
    await clock.tick(50);
    const later = track(policy.execute(task, { key: 'a' }));
    await clock.tick(10);
    expect(later.value).toBe('a#2');
  });

  it('evicts the least recently used result beyond maxEntries', async () => {
    const clock = new FakeClock();
    const policy = coalesce({ key: byKey, clock, cache: { ttlMs: 1_000, maxEntries: 2 } });
    const { state, task } = counted(clock, 0);
    for (const key of ['a', 'b']) {
      policy.execute(task, { key });
      await clock.tick(0);
    }
    // Reading `a` makes `b` the least recently used: adding `c` evicts `b`.
    await expect(policy.execute(task, { key: 'a' })).resolves.toBe('a#1');
    policy.execute(task, { key: 'c' });
    await clock.tick(0);
    expect(state.runs).toBe(3);
    expect(policy.snapshot().cacheSize).toBe(2);
    await expect(policy.execute(task, { key: 'a' })).resolves.toBe('a#1');
    await expect(policy.execute(task, { key: 'c' })).resolves.toBe('c#3');
    const b = track(policy.execute(task, { key: 'b' }));
    await clock.tick(0);
    expect(b.value).toBe('b#4');
  });

  it('serves a stale result while one background execution refreshes it', async () => {
    const clock = new FakeClock();
    const policy = coalesce({ key: byKey, clock, cache: { ttlMs: 100, staleWhileRevalidateMs: 50 } });
    const events: string[] = [];
    policy.onEvent((e) => events.push(e.type));
    const { state, task } = counted(clock);
    policy.execute(task, { key: 'a' });
    await clock.tick(10);
    await clock.tick(100); // stale from t=110 to t=160
    const stale = await Promise.all([1, 2, 3].map(() => policy.execute(task, { key: 'a' })));
    expect(stale).toEqual(['a#1', 'a#1', 'a#1']);
    expect(state.runs).toBe(2);
    await clock.tick(10);
    await expect(policy.execute(task, { key: 'a' })).resolves.toBe('a#2');
    expect(state.runs).toBe(2);
    expect(policy.snapshot()).toMatchObject({ hits: 4, misses: 1, refreshes: 1, calls: 2 });
    expect(events).toEqual(['miss', 'call', 'hit', 'hit', 'hit', 'call', 'hit']);
  });

  it('joins a background refresh once the stale window has passed', async () => {
    const clock = new FakeClock();
    const policy = coalesce({ key: byKey, clock, cache: { ttlMs: 100, staleWhileRevalidateMs: 5 } });
    const { state, task } = counted(clock, 20);
    policy.execute(task, { key: 'a' });
    await clock.tick(20);
    await clock.tick(102);
    await expect(policy.execute(task, { key: 'a' })).resolves.toBe('a#1'); // stale, refresh starts
    await clock.tick(10); // past the stale window, refresh still running
    const joined = track(policy.execute(task, { key: 'a' }));
    expect(state.runs).toBe(2);
    await clock.tick(10);
    expect(joined.value).toBe('a#2');
    expect(policy.snapshot()).toMatchObject({ joins: 1, refreshes: 1 });
  });

  it('a background refresh is not aborted when callers who joined it leave', async () => {
    const clock = new FakeClock();
    const policy = coalesce({ key: byKey, clock, cache: { ttlMs: 100, staleWhileRevalidateMs: 5 } });
    const { state, task } = counted(clock, 20);
    policy.execute(task, { key: 'a' });
    await clock.tick(120);
    await policy.execute(task, { key: 'a' }); // stale hit at t=120: refresh until t=140
    await clock.tick(10);
    const c = new AbortController();
    const leaving = track(policy.execute(task, { key: 'a', signal: c.signal }));
    c.abort('left');
    await flush();
    expect(leaving.error).toBe('left');
    expect(state.signals[1]!.aborted).toBe(false);
    await clock.tick(10);
    await expect(policy.execute(task, { key: 'a' })).resolves.toBe('a#2');
  });

  it('keeps serving the stale result when a refresh fails', async () => {
    const clock = new FakeClock();
    const policy = coalesce({ key: byKey, clock, cache: { ttlMs: 100, staleWhileRevalidateMs: 100 } });
    const { state, task } = counted(clock);
    policy.execute(task, { key: 'a' });
    await clock.tick(110);
    state.fail = true;
    await expect(policy.execute(task, { key: 'a' })).resolves.toBe('a#1');
    await clock.tick(10);
    expect(state.runs).toBe(2);
    await expect(policy.execute(task, { key: 'a' })).resolves.toBe('a#1');
    expect(state.runs).toBe(3); // still stale: the next hit refreshes again
  });

  it('does not cache the result of work whose callers all left', async () => {
    const clock = new FakeClock();
    const policy = coalesce({ key: byKey, clock, cache: { ttlMs: 100 } });
    const work = deferred<string>();
    const c = new AbortController();
    policy.execute(() => work.promise, { key: 'a', signal: c.signal }).catch(() => {});
    c.abort('left');
    work.resolve('unwanted');
    await flush();
    expect(policy.snapshot().cacheSize).toBe(0);
  });

  it('invalidate(key) forgets a result, and detaches the execution in flight', async () => {
    const clock = new FakeClock();
    const policy = coalesce({ key: byKey, clock, cache: { ttlMs: 1_000 } });
    const { state, task } = counted(clock);
    policy.execute(task, { key: 'a' });
    policy.execute(task, { key: 'b' });
    await clock.tick(10);
    policy.invalidate('a');
    expect(policy.snapshot().cacheSize).toBe(1);
    const inflight = track(policy.execute(task, { key: 'a' }));
    policy.invalidate('a');
    // The detached execution still answers its caller, but a later caller starts a fresh one.
    const after = track(policy.execute(task, { key: 'a' }));
    expect(state.runs).toBe(4);
    await clock.tick(10);
    expect([inflight.value, after.value]).toEqual(['a#3', 'a#4']);
    await expect(policy.execute(task, { key: 'a' })).resolves.toBe('a#4');
    policy.invalidate();
    expect(policy.snapshot()).toMatchObject({ cacheSize: 0, inflightKeys: 0 });
    policy.invalidate('unknown');
  });

  it('invalidate() detaches every execution in flight', async () => {
    const clock = new FakeClock();
    const policy = coalesce({ key: byKey, clock, cache: { ttlMs: 1_000 } });
    const { state, task } = counted(clock);
    const a = track(policy.execute(task, { key: 'a' }));
    policy.invalidate();
    expect(policy.snapshot().inflightKeys).toBe(0);
    await clock.tick(10);
    expect(a.value).toBe('a#1');
    expect(policy.snapshot().cacheSize).toBe(0);
    expect(state.runs).toBe(1);
  });

  it('reports hits with the key', async () => {
    const clock = new FakeClock();
    const policy = coalesce({ key: byKey, clock, name: 'c', cache: { ttlMs: 10 } });
    const events: PolicyEvent[] = [];
    policy.onEvent((e) => events.push(e));
    const { task } = counted(clock, 0);
    policy.execute(task, { key: 'k' });
    await clock.tick(0);
    await policy.execute(task, { key: 'k' });
    expect(events.at(-1)).toEqual({ type: 'hit', policy: 'c', kind: 'coalesce', key: 'k' });
  });
});

describe('LruCache', () => {
  it('keeps at most maxEntries, evicting the least recently used in O(1) steps', () => {
    const lru = new LruCache(3);
    for (const k of ['a', 'b', 'c']) lru.set(k, k, 10, 10);
    expect(lru.keys()).toEqual(['c', 'b', 'a']);
    lru.touch(lru.peek('a')!);
    expect(lru.keys()).toEqual(['a', 'c', 'b']);
    lru.set('d', 'd', 10, 10);
    expect(lru.keys()).toEqual(['d', 'a', 'c']);
    expect(lru.peek('b')).toBeUndefined();
    lru.set('c', 'C', 20, 30);
    expect(lru.keys()).toEqual(['c', 'd', 'a']);
    expect(lru.peek('c')).toMatchObject({ result: 'C', freshUntil: 20, staleUntil: 30 });
    lru.delete(lru.peek('d')!);
    expect(lru.keys()).toEqual(['c', 'a']);
    lru.delete(lru.peek('a')!);
    lru.delete(lru.peek('c')!);
    expect(lru.keys()).toEqual([]);
    expect(lru.size).toBe(0);
    lru.set('x', 1, 1, 1);
    lru.clear();
    expect(lru.size).toBe(0);
    expect(lru.keys()).toEqual([]);
  });
});
