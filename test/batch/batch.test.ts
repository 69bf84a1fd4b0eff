import { describe, expect, it } from 'vitest';
import { batch } from '../../src/batch/index.js';
import type { BatchResult } from '../../src/batch/options.js';
import { coalesce } from '../../src/coalesce/index.js';
import {
  type Context,
  circuitBreaker,
  type PolicyEvent,
  pipeline,
  retry,
  TimeoutError,
  timeout,
} from '../../src/index.js';
import { abortListeners, captureCallbackErrors, deferred, FakeClock, flush, track } from '../helpers.js';

/** A run function whose batches are recorded and answered by hand. */
function manual<V = string>() {
  const sent: {
    keys: readonly string[];
    ctx: Context;
    reply: ReturnType<typeof deferred<BatchResult<V>>>;
  }[] = [];
  const run = (keys: readonly string[], ctx: Context) => {
    const reply = deferred<BatchResult<V>>();
    sent.push({ keys, ctx, reply });
    return reply.promise;
  };
  return { sent, run };
}

const upper = (keys: readonly string[]) => new Map(keys.map((k) => [k, k.toUpperCase()]));

describe('batch', () => {
  it('collects the loads made within maxDelayMs into one run and gives each caller its item', async () => {
    const clock = new FakeClock();
    const { sent, run } = manual();
    const b = batch({ run, maxDelayMs: 10, clock });
    const a = track(b.load('a'));
    await clock.tick(5);
    const c = track(b.load('c'));
    expect(sent).toHaveLength(0);
    await clock.tick(5);
    expect(sent.map((s) => s.keys)).toEqual([['a', 'c']]);
    sent[0]!.reply.resolve(
      new Map([
        ['a', 'A'],
        ['c', 'C'],
      ]),
    );
    await flush();
    expect([a.value, c.value]).toEqual(['A', 'C']);
    expect(clock.pendingTimers).toBe(0);
  });

  it('sends a batch at once when it reaches maxSize distinct keys', async () => {
    const clock = new FakeClock();
    const { sent, run } = manual();
    const b = batch({ run, maxSize: 2, maxDelayMs: 1_000, clock });
    b.load('a');
    b.load('a');
    expect(sent).toHaveLength(0);
    b.load('b');
    expect(sent.map((s) => s.keys)).toEqual([['a', 'b']]);
    expect(clock.pendingTimers).toBe(0);
    b.load('c');
    expect(b.snapshot()).toMatchObject({ pendingKeys: 1, pendingCallers: 1, inflightBatches: 1 });
    b.flush();
    expect(sent.map((s) => s.keys)).toEqual([['a', 'b'], ['c']]);
    expect(clock.pendingTimers).toBe(0);
  });

  it('sends each key once and gives its item to every caller of it', async () => {
    const { sent, run } = manual();
    const b = batch({ run, maxDelayMs: 0, clock: new FakeClock() });
    const calls = ['x', 'y', 'x'].map((k) => b.load(k));
    b.flush();
    expect(sent[0]!.keys).toEqual(['x', 'y']);
    sent[0]!.reply.resolve(['X', 'Y']);
    await expect(Promise.all(calls)).resolves.toEqual(['X', 'Y', 'X']);
  });

  it('takes an array aligned with keys, with per-item errors, and resolves keys a Map lacks to undefined', async () => {
    const clock = new FakeClock();
    const missing = new Error('no such user');
    const arrays = batch<string>({
      run: (keys) => keys.map((k) => (k === 'bad' ? missing : `#${k}`)),
      clock,
    });
    const fromArray = [track(arrays.load('ok')), track(arrays.load('bad'))];
    const maps = batch<string>({ run: () => new Map([['known', 'K']]), clock });
    const fromMap = [track(maps.load('known')), track(maps.load('unknown'))];
    await clock.tick(0);
    expect(fromArray[0]!.value).toBe('#ok');
    expect(fromArray[1]!.error).toBe(missing);
    expect(fromMap[0]!.value).toBe('K');
    expect(fromMap[1]).toMatchObject({ settled: true, ok: true, value: undefined });
  });

  it('fails every caller of a batch whose run returns the wrong shape', async () => {
    const clock = new FakeClock();
    const short = batch({ run: () => ['only one'], clock, name: 'users' });
    const calls = [track(short.load('a')), track(short.load('b'))];
    const wrong = batch({ run: () => 42 as never, clock });
    const other = track(wrong.load('a'));
    await clock.tick(0);
    expect(calls[0]!.error).toBeInstanceOf(TypeError);
    expect((calls[0]!.error as Error).message).toBe(
      'breakwater: batch "users": run returned 1 items for 2 keys',
    );
    expect(calls[1]!.error).toBe(calls[0]!.error);
    expect(other.error).toBeInstanceOf(TypeError);
  });

  it('a batch that fails fails its own callers only', async () => {
    const clock = new FakeClock();
    const { sent, run } = manual();
    const b = batch({ run, maxSize: 2, clock });
    const first = [track(b.load('a')), track(b.load('b'))];
    const second = [track(b.load('c'))];
    await clock.tick(0);
    const down = new Error('down');
    sent[0]!.reply.reject(down);
    sent[1]!.reply.resolve(upper(sent[1]!.keys));
    await flush();
    expect(first.map((c) => c.error)).toEqual([down, down]);
    expect(second[0]!.value).toBe('C');
  });

  it('a run that throws synchronously fails its batch', async () => {
    const clock = new FakeClock();
    const boom = new Error('sync');
    const b = batch({
      run: () => {
        throw boom;
      },
      clock,
    });
    const call = track(b.load('a'));
    await clock.tick(0);
    expect(call.error).toBe(boom);
  });

  describe('cancellation', () => {
    it('a caller that aborts leaves its pending batch at once; its key is not sent if nobody else wants it', async () => {
      const clock = new FakeClock();
      const { sent, run } = manual();
      const b = batch({ run, maxDelayMs: 10, clock });
      const c = new AbortController();
      const leaving = track(b.load('a', c.signal));
      const staying = track(b.load('b'));
      const sharing = new AbortController();
      const sharedKey = [track(b.load('b', sharing.signal))];
      c.abort('left');
      sharing.abort('left too');
      await flush();
      expect(leaving.error).toBe('left');
      expect(sharedKey[0]!.error).toBe('left too');
      expect(b.snapshot()).toMatchObject({ pendingKeys: 1, pendingCallers: 1 });
      await clock.tick(10);
      expect(sent.map((s) => s.keys)).toEqual([['b']]);
      sent[0]!.reply.resolve(upper(['b']));
      await flush();
      expect(staying.value).toBe('B');
      expect(abortListeners(c.signal)).toBe(0);
    });

    it('a batch whose callers all left before it was sent is never sent, and leaves no timer', async () => {
      const clock = new FakeClock();
      const { sent, run } = manual();
      const b = batch({ run, maxDelayMs: 10, clock });
      const c = new AbortController();
      const calls = [track(b.load('a', c.signal)), track(b.load('b', c.signal))];
      expect(clock.pendingTimers).toBe(1);
      c.abort('gone');
      await flush();
      expect(calls.map((x) => x.error)).toEqual(['gone', 'gone']);
      expect(clock.pendingTimers).toBe(0);
      await clock.tick(20);
      expect(sent).toHaveLength(0);
      expect(b.snapshot()).toMatchObject({ pendingKeys: 0, pendingCallers: 0, batches: 0 });
    });

    it('aborts a sent batch once every caller has left, and not before', async () => {
      const clock = new FakeClock();
      const { sent, run } = manual();
      const b = batch({ run, clock });
      const c1 = new AbortController();
      const c2 = new AbortController();
      const first = track(b.load('a', c1.signal));
      const second = track(b.load('b', c2.signal));
      await clock.tick(0);
      const signal = sent[0]!.ctx.signal;
      c1.abort('one');
      await flush();
      expect(first.error).toBe('one');
      expect(signal.aborted).toBe(false);
      c2.abort('two');
      expect(signal.aborted).toBe(true);
      expect(signal.reason).toBe('two');
      await flush();
      expect(second.error).toBe('two');
      sent[0]!.reply.resolve(upper(['a', 'b']));
      await flush();
      expect(b.snapshot()).toMatchObject({ inflightBatches: 0, abandoned: 1 });
    });

    it('rejects a load whose signal is already aborted without queuing it', async () => {
      const b = batch({ run: upper, clock: new FakeClock() });
      await expect(b.load('a', AbortSignal.abort('early'))).rejects.toBe('early');
      expect(b.snapshot().pendingKeys).toBe(0);
    });
  });

  describe('as a policy', () => {
    it('execute(fn, { key }) resolves to the key item without calling fn; without a key fn runs', async () => {
      const clock = new FakeClock();
      const b = batch<string>({ run: upper, clock });
      let called = 0;
      const fn = () => {
        called++;
        return 'from fn';
      };
      const keyed = [track(b.execute(fn, { key: 'a' })), track(b.execute(fn, { key: 'b' }))];
      await expect(b.execute(fn)).resolves.toBe('from fn');
      await clock.tick(0);
      expect(keyed.map((k) => k.value)).toEqual(['A', 'B']);
      expect(called).toBe(1);
      expect(b.snapshot().batches).toBe(1);
    });

    it('uses a key function; a call whose key function throws runs on its own', async () => {
      const clock = new FakeClock();
      const seen: (readonly number[])[] = [];
      const b = batch<string, number>({
        run: (keys) => {
          seen.push(keys);
          return keys.map((k) => `#${k}`);
        },
        key: (ctx) => (ctx.key === undefined ? undefined : Number(ctx.key)),
        clock,
      });
      const call = track(b.execute(() => 'unused', { key: '7' }));
      await clock.tick(0);
      expect(call.value).toBe('#7');
      expect(seen).toEqual([[7]]);
      const boom = new Error('key');
      const failing = batch({
        run: upper,
        key: () => {
          throw boom;
        },
      });
      const reported = captureCallbackErrors();
      try {
        await expect(failing.execute(() => 'x', { key: 'a' })).resolves.toBe('x');
        await expect(failing.executeOutcome(() => 'y', { key: 'a' })).resolves.toEqual({
          ok: true,
          value: 'y',
        });
        expect(reported.map((e) => [e.callback, e.error])).toEqual([
          ['batch.key', boom],
          ['batch.key', boom],
        ]);
      } finally {
        reported.stop();
      }
    });

    it('executeOutcome gives each caller its own outcome', async () => {
      const clock = new FakeClock();
      const bad = new Error('bad item');
      const b = batch<string>({ run: (keys) => keys.map((k) => (k === 'x' ? bad : k)), clock });
      const calls = [b.executeOutcome(() => '', { key: 'x' }), b.executeOutcome(() => '', { key: 'y' })];
      await clock.tick(0);
      await expect(Promise.all(calls)).resolves.toEqual([
        { ok: false, error: bad },
        { ok: true, value: 'y' },
      ]);
    });

    it('a timeout outside makes its caller leave the batch', async () => {
      const clock = new FakeClock();
      const { sent, run } = manual();
      const b = batch({ run, maxDelayMs: 50, clock });
      const policy = pipeline(timeout({ durationMs: 10, clock }), b);
      const call = track(policy.execute(() => 'unused', { key: 'a' }));
      const other = track(b.load('b'));
      await clock.tick(10);
      expect(call.error).toBeInstanceOf(TimeoutError);
      await clock.tick(40);
      expect(sent.map((s) => s.keys)).toEqual([['b']]);
      sent[0]!.reply.resolve(upper(['b']));
      await flush();
      expect(other.value).toBe('B');
    });

    it('sends coalesced callers as one key', async () => {
      const clock = new FakeClock();
      const { sent, run } = manual();
      const policy = pipeline(coalesce({ key: (ctx) => ctx.key, clock }), batch({ run, clock }));
      const calls = ['a', 'a', 'b'].map((key) => track(policy.execute(() => '', { key })));
      await clock.tick(0);
      expect(sent.map((s) => s.keys)).toEqual([['a', 'b']]);
      sent[0]!.reply.resolve(upper(['a', 'b']));
      await flush();
      expect(calls.map((c) => c.value)).toEqual(['A', 'A', 'B']);
    });
  });

  describe('the batch call runs through an inner policy', () => {
    it('retries a failed batch call', async () => {
      const clock = new FakeClock();
      let calls = 0;
      const b = batch<string>({
        run: (keys) => {
          calls++;
          if (calls === 1) throw new Error('transient');
          return keys.map((k) => k.toUpperCase());
        },
        policy: retry({ maxRetries: 2, backoff: 5, clock }),
        clock,
      });
      const both = [track(b.load('a')), track(b.load('b'))];
      await clock.tick(0);
      await clock.tick(5);
      expect(calls).toBe(2);
      expect(both.map((c) => c.value)).toEqual(['A', 'B']);
    });

    it('counts one call per batch against a breaker, and fails fast once it is open', async () => {
      const clock = new FakeClock();
      const breaker = circuitBreaker({ window: { kind: 'consecutive', failures: 1 }, clock });
      const b = batch({
        run: () => {
          throw new Error('down');
        },
        policy: breaker,
        maxSize: 3,
        clock,
      });
      const first = ['a', 'b', 'c'].map((k) => track(b.load(k)));
      await flush();
      expect(first.every((c) => c.settled && !c.ok)).toBe(true);
      expect(breaker.state).toBe('open');
      const next = track(b.load('d'));
      await clock.tick(0);
      expect((next.error as Error).name).toBe('BrokenCircuitError');
    });

    it('an inner timeout bounds the batch call and aborts its signal', async () => {
      const clock = new FakeClock();
      let signal: AbortSignal | undefined;
      const b = batch({
        run: (_keys, ctx) => {
          signal = ctx.signal;
          return new Promise<never>(() => {});
        },
        policy: timeout({ durationMs: 30, clock }),
        clock,
      });
      const call = track(b.load('a'));
      await clock.tick(0);
      await clock.tick(30);
      expect(call.error).toBeInstanceOf(TimeoutError);
      expect(signal?.aborted).toBe(true);
    });
  });

  it('reports each batch and its call, and a snapshot', async () => {
    const clock = new FakeClock();
    const { sent, run } = manual();
    const b = batch({ run, name: 'ids', maxSize: 10, maxDelayMs: 5, clock });
    const events: PolicyEvent[] = [];
    const stop = b.onEvent((e) => events.push(e));
    const calls = ['a', 'b', 'a'].map((k) => b.load(k));
    await clock.tick(5);
    await clock.tick(3);
    sent[0]!.reply.resolve(upper(['a', 'b']));
    await Promise.all(calls);
    stop();
    expect(events).toEqual([
      { type: 'batch', policy: 'ids', kind: 'batch', size: 2 },
      { type: 'call', policy: 'ids', kind: 'batch', outcome: 'success', durationMs: 3 },
    ]);
    expect(b.snapshot()).toEqual({
      kind: 'batch',
      name: 'ids',
      maxSize: 10,
      maxDelayMs: 5,
      pendingKeys: 0,
      pendingCallers: 0,
      inflightBatches: 0,
      batches: 1,
      items: 2,
      abandoned: 0,
    });
  });

  it('delivers one event object to onEvent and to its diagnostics channel', async () => {
    const dc = await import('node:diagnostics_channel');
    const b = batch({ run: upper, name: 'same', clock: new FakeClock() });
    const fromStream: PolicyEvent[] = [];
    const fromChannel: unknown[] = [];
    const listener = (message: unknown) => fromChannel.push(message);
    const stop = b.onEvent((e) => fromStream.push(e));
    dc.subscribe('breakwater:batch:batch', listener);
    try {
      const call = b.load('a');
      b.flush();
      await call;
    } finally {
      dc.unsubscribe('breakwater:batch:batch', listener);
      stop();
    }
    expect(fromChannel).toEqual([{ type: 'batch', policy: 'same', kind: 'batch', size: 1 }]);
    expect(fromStream[0]).toBe(fromChannel[0]);
  });
});

describe('registry', () => {
  it('lists coalesce and batch policies of a pipeline and forwards their events', async () => {
    const { policyRegistry } = await import('../../src/index.js');
    const clock = new FakeClock();
    const co = coalesce({ key: (ctx) => ctx.key, name: 'users-coalesce', clock });
    const b = batch({ run: upper, name: 'users-batch', clock });
    const registry = policyRegistry().add(pipeline(co, b));
    const types: string[] = [];
    const stop = registry.onEvent((e) => types.push(`${e.kind}:${e.type}`));
    const call = track(pipeline(co, b).execute(() => '', { key: 'a' }));
    await clock.tick(0);
    stop();
    expect(call.value).toBe('A');
    expect(Object.keys(registry.snapshots()).sort()).toEqual(['users-batch', 'users-coalesce']);
    expect(types).toEqual(['coalesce:miss', 'batch:batch', 'batch:call', 'coalesce:call']);
  });
});
