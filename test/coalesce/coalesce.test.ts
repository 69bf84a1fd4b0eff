import { describe, expect, it } from 'vitest';
import { coalesce } from '../../src/coalesce/index.js';
import type { Context } from '../../src/index.js';
import {
  BulkheadRejectedError,
  bulkhead,
  circuitBreaker,
  fallback,
  type PolicyEvent,
  pipeline,
  retry,
  TimeoutError,
  timeout,
} from '../../src/index.js';
import { abortListeners, captureCallbackErrors, deferred, FakeClock, flush, track } from '../helpers.js';

const byKey = (ctx: Context) => ctx.key;

/** A task whose executions are counted and settled by hand. */
function controlled<T = string>() {
  const runs: { ctx: Context; settle: ReturnType<typeof deferred<T>> }[] = [];
  const task = (ctx: Context) => {
    const settle = deferred<T>();
    runs.push({ ctx, settle });
    return settle.promise;
  };
  return { runs, task };
}

describe('coalesce', () => {
  it('concurrent calls with the same key share one execution and its value', async () => {
    const policy = coalesce({ key: byKey });
    const { runs, task } = controlled();
    const calls = [1, 2, 3].map(() => policy.execute(task, { key: 'a' }));
    expect(runs).toHaveLength(1);
    runs[0]!.settle.resolve('A');
    await expect(Promise.all(calls)).resolves.toEqual(['A', 'A', 'A']);
  });

  it('shares a failure with every caller and frees the key right after it (no leak on rejection)', async () => {
    const policy = coalesce({ key: byKey });
    const { runs, task } = controlled();
    const calls = [1, 2].map(() => track(policy.execute(task, { key: 'a' })));
    const boom = new Error('boom');
    runs[0]!.settle.reject(boom);
    await flush();
    expect(calls.map((c) => c.error)).toEqual([boom, boom]);
    expect(policy.snapshot().inflightKeys).toBe(0);
    const again = track(policy.execute(task, { key: 'a' }));
    expect(runs).toHaveLength(2);
    runs[1]!.settle.resolve('ok');
    await flush();
    expect(again.value).toBe('ok');
  });

  it('runs calls with different keys separately', async () => {
    const policy = coalesce({ key: byKey });
    const { runs, task } = controlled();
    const a = policy.execute(task, { key: 'a' });
    const b = policy.execute(task, { key: 'b' });
    expect(runs.map((r) => r.ctx.key)).toEqual(['a', 'b']);
    runs[0]!.settle.resolve('A');
    runs[1]!.settle.resolve('B');
    await expect(Promise.all([a, b])).resolves.toEqual(['A', 'B']);
  });

  it('lets a call whose key is undefined pass through on its own', async () => {
    const policy = coalesce({ key: byKey });
    const { runs, task } = controlled();
    const calls = [policy.execute(task), policy.execute(task)];
    expect(runs).toHaveLength(2);
    runs[0]!.settle.resolve('1');
    runs[1]!.settle.resolve('2');
    await expect(Promise.all(calls)).resolves.toEqual(['1', '2']);
    expect(policy.snapshot()).toMatchObject({ misses: 0, joins: 0, calls: 0, inflightKeys: 0 });
  });

  it('groups by whatever the key function returns', async () => {
    const policy = coalesce({ key: (ctx) => ctx.key?.toLowerCase() });
    const { runs, task } = controlled();
    const calls = [policy.execute(task, { key: 'User:1' }), policy.execute(task, { key: 'user:1' })];
    expect(runs).toHaveLength(1);
    // Inside, the context carries the first caller's own key (what keyed inner policies group by).
    expect(runs[0]!.ctx.key).toBe('User:1');
    expect(runs[0]!.ctx.attempt).toBe(1);
    runs[0]!.settle.resolve('x');
    await expect(Promise.all(calls)).resolves.toEqual(['x', 'x']);
  });

  it('does not share a task that settles synchronously (it is over before anyone can join)', async () => {
    const policy = coalesce({ key: byKey });
    let n = 0;
    await expect(policy.execute(() => ++n, { key: 'a' })).resolves.toBe(1);
    await expect(
      policy.execute(
        () => {
          throw new Error('sync');
        },
        { key: 'a' },
      ),
    ).rejects.toThrow('sync');
    expect(policy.snapshot().inflightKeys).toBe(0);
  });

  it('runs a call on its own, and reports it, when the key function throws or returns a non-string', async () => {
    const reported = captureCallbackErrors();
    try {
      const boom = new Error('bad key');
      const throwing = coalesce({
        key: () => {
          throw boom;
        },
      });
      await expect(throwing.execute(() => 1)).resolves.toBe(1);
      await expect(throwing.execute(() => Promise.reject(new Error('task')))).rejects.toThrow('task');
      const numeric = coalesce({ key: () => 42 as unknown as string });
      await expect(numeric.execute(() => 2)).resolves.toBe(2);
      expect(reported.map((e) => e.callback)).toEqual(['coalesce.key', 'coalesce.key', 'coalesce.key']);
      expect(reported[0]!.error).toBe(boom);
    } finally {
      reported.stop();
    }
  });

  it('resolves the shared failure as an outcome with executeOutcome', async () => {
    const policy = coalesce({ key: byKey });
    const { runs, task } = controlled();
    const calls = [policy.executeOutcome(task, { key: 'a' }), policy.executeOutcome(task, { key: 'a' })];
    const boom = new Error('boom');
    runs[0]!.settle.reject(boom);
    await expect(Promise.all(calls)).resolves.toEqual([
      { ok: false, error: boom },
      { ok: false, error: boom },
    ]);
  });

  it.each([
    ['succeeds', true],
    ['fails', false],
  ])(
    'callers of every kind share one execution that %s: execute, executeOutcome, in a pipeline, with a signal',
    async (_, ok) => {
      const policy = coalesce({ key: byKey });
      const wrapped = pipeline(
        fallback({ fallback: (f) => `fallback for ${(f as { error: Error }).error.message}` }),
        policy,
      );
      const { runs, task } = controlled();
      const leader = track(policy.execute(task, { key: 'a' }));
      const outcome = policy.executeOutcome(task, { key: 'a' });
      const piped = wrapped.execute(task, { key: 'a' });
      const withSignal = track(policy.execute(task, { key: 'a', signal: new AbortController().signal }));
      expect(runs).toHaveLength(1);
      const boom = new Error('boom');
      if (ok) runs[0]!.settle.resolve('A');
      else runs[0]!.settle.reject(boom);
      await expect(outcome).resolves.toEqual(ok ? { ok: true, value: 'A' } : { ok: false, error: boom });
      await expect(piped).resolves.toBe(ok ? 'A' : 'fallback for boom');
      await flush();
      for (const call of [leader, withSignal]) {
        expect(call).toMatchObject(ok ? { ok: true, value: 'A' } : { ok: false, error: boom });
      }
    },
  );

  describe('cancellation', () => {
    it('a caller that aborts leaves at once with its own reason; the others get the result', async () => {
      const policy = coalesce({ key: byKey });
      const { runs, task } = controlled();
      const c1 = new AbortController();
      const c2 = new AbortController();
      const first = track(policy.execute(task, { key: 'a', signal: c1.signal }));
      const second = track(policy.execute(task, { key: 'a', signal: c2.signal }));
      const shared = runs[0]!.ctx.signal;
      c1.abort('first left');
      await flush();
      expect(first).toMatchObject({ settled: true, ok: false, error: 'first left' });
      expect(second.settled).toBe(false);
      expect(shared.aborted).toBe(false);
      runs[0]!.settle.resolve('A');
      await flush();
      expect(second.value).toBe('A');
      expect(abortListeners(c1.signal)).toBe(0);
      expect(abortListeners(c2.signal)).toBe(0);
    });

    it('aborts the shared work with the last reason once every caller has left, and frees the key', async () => {
      const policy = coalesce({ key: byKey });
      const { runs, task } = controlled();
      const c1 = new AbortController();
      const c2 = new AbortController();
      const first = track(policy.execute(task, { key: 'a', signal: c1.signal }));
      const second = track(policy.execute(task, { key: 'a', signal: c2.signal }));
      c2.abort('second left');
      expect(runs[0]!.ctx.signal.aborted).toBe(false);
      c1.abort('first left');
      expect(runs[0]!.ctx.signal.aborted).toBe(true);
      expect(runs[0]!.ctx.signal.reason).toBe('first left');
      await flush();
      expect(first.error).toBe('first left');
      expect(second.error).toBe('second left');
      expect(policy.snapshot()).toMatchObject({ inflightKeys: 0, abandoned: 1 });
      // A new caller does not join the abandoned work: it starts its own.
      const third = track(policy.execute(task, { key: 'a' }));
      expect(runs).toHaveLength(2);
      runs[1]!.settle.resolve('fresh');
      runs[0]!.settle.resolve('late');
      await flush();
      expect(third.value).toBe('fresh');
    });

    it('aborts a shared signal read before every caller left, and one read after', async () => {
      const policy = coalesce({ key: byKey });
      let early: AbortSignal | undefined;
      let ctx: Context | undefined;
      const c = new AbortController();
      const call = track(
        policy.execute(
          (context) => {
            early = context.signal;
            ctx = context;
            return new Promise(() => {});
          },
          { key: 'a', signal: c.signal },
        ),
      );
      c.abort('gone');
      expect(early?.aborted).toBe(true);
      expect(ctx?.signal.reason).toBe('gone');
      await flush();
      expect(call.error).toBe('gone');

      const lazy = coalesce({ key: byKey });
      let unread: Context | undefined;
      const c2 = new AbortController();
      lazy
        .execute(
          (context) => {
            unread = context;
            return new Promise(() => {});
          },
          { key: 'a', signal: c2.signal },
        )
        .catch(() => {});
      c2.abort('gone too');
      expect(unread?.signal.aborted).toBe(true);
      expect(unread?.signal.reason).toBe('gone too');
    });

    it('a caller without a signal keeps the shared work alive when the others leave', async () => {
      const policy = coalesce({ key: byKey });
      const { runs, task } = controlled();
      const stays = track(policy.execute(task, { key: 'a' }));
      const c = new AbortController();
      const leaves = track(policy.execute(task, { key: 'a', signal: c.signal }));
      c.abort('bye');
      expect(runs[0]!.ctx.signal.aborted).toBe(false);
      runs[0]!.settle.resolve('A');
      await flush();
      expect(leaves.error).toBe('bye');
      expect(stays.value).toBe('A');
    });

    it('the work keeps running for the callers left when its first caller (who started it) leaves', async () => {
      const policy = coalesce({ key: byKey });
      const { runs, task } = controlled();
      const c1 = new AbortController();
      const c2 = new AbortController();
      const first = track(policy.execute(task, { key: 'a', signal: c1.signal }));
      const second = track(policy.execute(task, { key: 'a', signal: c2.signal }));
      c1.abort('leader left');
      const third = track(policy.execute(task, { key: 'a' }));
      expect(runs).toHaveLength(1);
      runs[0]!.settle.resolve('A');
      await flush();
      expect([first.error, second.value, third.value]).toEqual(['leader left', 'A', 'A']);
    });
  });

  describe('maxKeys', () => {
    it('runs calls with a new key on their own beyond maxKeys keys in flight, never failing them', async () => {
      const policy = coalesce({ key: byKey, maxKeys: 2 });
      const { runs, task } = controlled();
      const calls = ['a', 'b', 'c', 'c', 'a'].map((key) => track(policy.execute(task, { key })));
      // a and b are coalesced; both c calls bypass (run on their own); the second a joins.
      expect(runs.map((r) => r.ctx.key)).toEqual(['a', 'b', 'c', 'c']);
      expect(policy.snapshot()).toMatchObject({ inflightKeys: 2, bypassed: 2, misses: 2, joins: 1 });
      runs.forEach((r, i) => {
        r.settle.resolve(`${r.ctx.key}${i}`);
      });
      await flush();
      expect(calls.map((c) => c.value)).toEqual(['a0', 'b1', 'c2', 'c3', 'a0']);
      expect(policy.snapshot().inflightKeys).toBe(0);
      // Once keys are free, a new key is coalesced again.
      const later = [track(policy.execute(task, { key: 'c' })), track(policy.execute(task, { key: 'c' }))];
      expect(runs).toHaveLength(5);
      runs[4]!.settle.resolve('C');
      await flush();
      expect(later.map((c) => c.value)).toEqual(['C', 'C']);
    });
  });

  it('keeps executions in flight joinable while thousands of other keys come and go', async () => {
    const policy = coalesce({ key: byKey });
    const held = deferred<string>();
    let heldRuns = 0;
    const holder = () => {
      heldRuns++;
      return held.promise;
    };
    const first = policy.execute(holder, { key: 'held' });
    for (let round = 0; round < 3; round++) {
      // Settled keys are kept as tombstones and swept now and then; the held key must survive it.
      const keys = Array.from({ length: 1_000 }, (_, i) => `k${round}.${i}`);
      await Promise.all(keys.map((key, i) => policy.execute(async () => i, { key })));
      expect(policy.snapshot().inflightKeys).toBe(1);
    }
    const joined = policy.execute(holder, { key: 'held' });
    expect(heldRuns).toBe(1);
    held.resolve('H');
    await expect(Promise.all([first, joined])).resolves.toEqual(['H', 'H']);
    expect(policy.snapshot()).toMatchObject({ inflightKeys: 0, misses: 3_001, joins: 1 });
    // A key that settled before starts again, and is counted once in flight.
    const again = deferred<string>();
    const twice = [
      policy.execute(() => again.promise, { key: 'k2.1' }),
      policy.execute(() => 'x', { key: 'k2.1' }),
    ];
    expect(policy.snapshot().inflightKeys).toBe(1);
    again.resolve('again');
    await expect(Promise.all(twice)).resolves.toEqual(['again', 'again']);
  });

  describe('events and snapshot', () => {
    it('reports miss, coalesced and one call per shared execution', async () => {
      const clock = new FakeClock();
      const policy = coalesce({ key: byKey, name: 'users', clock });
      const events: PolicyEvent[] = [];
      const stop = policy.onEvent((e) => events.push(e));
      const { runs, task } = controlled();
      const calls = [1, 2, 3].map(() => policy.execute(task, { key: 'u1' }));
      await clock.tick(7);
      runs[0]!.settle.resolve('x');
      await Promise.all(calls);
      const c = new AbortController();
      policy.execute(task, { key: 'u2', signal: c.signal }).catch(() => {});
      c.abort('left');
      runs[1]!.settle.reject(new Error('late'));
      await flush();
      stop();
      expect(events).toEqual([
        { type: 'miss', policy: 'users', kind: 'coalesce', key: 'u1' },
        { type: 'coalesced', policy: 'users', kind: 'coalesce', key: 'u1' },
        { type: 'coalesced', policy: 'users', kind: 'coalesce', key: 'u1' },
        { type: 'call', policy: 'users', kind: 'coalesce', outcome: 'success', durationMs: 7 },
        { type: 'miss', policy: 'users', kind: 'coalesce', key: 'u2' },
        { type: 'call', policy: 'users', kind: 'coalesce', outcome: 'ignored', durationMs: 0 },
      ]);
      expect(policy.snapshot()).toEqual({
        kind: 'coalesce',
        name: 'users',
        inflightKeys: 0,
        maxKeys: 10_000,
        cacheSize: 0,
        hits: 0,
        misses: 2,
        joins: 2,
        bypassed: 0,
        calls: 2,
        refreshes: 0,
        abandoned: 1,
      });
    });

    it('delivers one event object to onEvent and to its diagnostics channel', async () => {
      const dc = await import('node:diagnostics_channel');
      const policy = coalesce({ key: byKey, name: 'same' });
      const fromStream: PolicyEvent[] = [];
      const fromChannel: unknown[] = [];
      const listener = (message: unknown) => fromChannel.push(message);
      const stop = policy.onEvent((e) => fromStream.push(e));
      dc.subscribe('breakwater:coalesce:miss', listener);
      try {
        await policy.execute(() => 'v', { key: 'k' });
      } finally {
        dc.unsubscribe('breakwater:coalesce:miss', listener);
        stop();
      }
      expect(fromChannel).toEqual([{ type: 'miss', policy: 'same', kind: 'coalesce', key: 'k' }]);
      expect(fromStream[0]).toBe(fromChannel[0]);
    });

    it('publishes on breakwater:coalesce:* diagnostics channels', async () => {
      const dc = await import('node:diagnostics_channel');
      const seen: unknown[] = [];
      const listener = (message: unknown) => seen.push(message);
      dc.subscribe('breakwater:coalesce:coalesced', listener);
      try {
        const policy = coalesce({ key: byKey, name: 'dc' });
        const { runs, task } = controlled();
        const calls = [policy.execute(task, { key: 'k' }), policy.execute(task, { key: 'k' })];
        runs[0]!.settle.resolve('v');
        await Promise.all(calls);
      } finally {
        dc.unsubscribe('breakwater:coalesce:coalesced', listener);
      }
      expect(seen).toEqual([{ type: 'coalesced', policy: 'dc', kind: 'coalesce', key: 'k' }]);
    });
  });

  describe('in pipelines', () => {
    it('outside a circuit breaker, collapsed callers count as one call against it', async () => {
      const breaker = circuitBreaker({ window: { kind: 'consecutive', failures: 2 } });
      const failures: unknown[] = [];
      breaker.onFailure((e) => failures.push(e));
      const policy = pipeline(coalesce({ key: byKey }), breaker);
      const { runs, task } = controlled();
      const calls = Array.from({ length: 10 }, () => track(policy.execute(task, { key: 'a' })));
      runs[0]!.settle.reject(new Error('down'));
      await flush();
      expect(calls.every((c) => c.settled && !c.ok)).toBe(true);
      expect(failures).toHaveLength(1);
      expect(breaker.state).toBe('closed');
      // A second shared failure is the second call the breaker sees: it opens.
      const more = Array.from({ length: 10 }, () => track(policy.execute(task, { key: 'b' })));
      runs[1]!.settle.reject(new Error('down'));
      await flush();
      expect(more.every((c) => c.settled && !c.ok)).toBe(true);
      expect(failures).toHaveLength(2);
      expect(breaker.state).toBe('open');
    });

    it('an inner breaker ignores the failure of work abandoned by every caller', async () => {
      const breaker = circuitBreaker({ window: { kind: 'consecutive', failures: 1 } });
      const policy = pipeline(coalesce({ key: byKey }), breaker);
      const c = new AbortController();
      const call = track(
        policy.execute(
          ({ signal }) =>
            new Promise((_, reject) => signal.addEventListener('abort', () => reject(signal.reason))),
          { key: 'a', signal: c.signal },
        ),
      );
      c.abort(new Error('caller left'));
      await flush();
      expect(call.settled).toBe(true);
      expect(breaker.state).toBe('closed');
    });

    it('a timeout outside makes only its own caller leave; the work goes on for the others', async () => {
      const clock = new FakeClock();
      const co = coalesce({ key: byKey, clock });
      const short = pipeline(timeout({ durationMs: 10, clock }), co);
      const long = pipeline(timeout({ durationMs: 100, clock }), co);
      const { runs, task } = controlled();
      const impatient = track(short.execute(task, { key: 'a' }));
      const patient = track(long.execute(task, { key: 'a' }));
      expect(runs).toHaveLength(1);
      await clock.tick(10);
      expect(impatient.error).toBeInstanceOf(TimeoutError);
      expect(runs[0]!.ctx.signal.aborted).toBe(false);
      runs[0]!.settle.resolve('A');
      await flush();
      expect(patient.value).toBe('A');
      await clock.tick(200);
      expect(clock.pendingTimers).toBe(0);
    });

    it('a retry inside retries once for every caller', async () => {
      const clock = new FakeClock();
      let attempts = 0;
      const policy = pipeline(coalesce({ key: byKey, clock }), retry({ maxRetries: 2, backoff: 5, clock }));
      const task = async () => {
        attempts++;
        if (attempts < 3) throw new Error('flaky');
        return 'ok';
      };
      const calls = Array.from({ length: 5 }, () => track(policy.execute(task, { key: 'a' })));
      await clock.tick(20);
      expect(attempts).toBe(3);
      expect(calls.map((c) => c.value)).toEqual(['ok', 'ok', 'ok', 'ok', 'ok']);
    });

    it('an inner retry stops sleeping and gives up once every caller has left', async () => {
      const clock = new FakeClock();
      const policy = pipeline(
        coalesce({ key: byKey, clock }),
        retry({ maxRetries: 3, backoff: 1_000, clock }),
      );
      let attempts = 0;
      const c = new AbortController();
      const call = track(
        policy.execute(
          async () => {
            attempts++;
            throw new Error('flaky');
          },
          { key: 'a', signal: c.signal },
        ),
      );
      await flush();
      expect(clock.pendingTimers).toBe(1); // the retry's sleep
      c.abort('left');
      await flush();
      expect(call.error).toBe('left');
      expect(clock.pendingTimers).toBe(0);
      await clock.tick(5_000);
      expect(attempts).toBe(1);
    });

    it('the last caller leaving holds an outer bulkhead slot until the abandoned work really ends', async () => {
      const policy = pipeline(bulkhead(1), coalesce({ key: byKey }));
      const work = deferred<string>();
      const c = new AbortController();
      // The task ignores its signal: aborting it does not end it.
      const call = track(policy.execute(() => work.promise, { key: 'a', signal: c.signal }));
      c.abort('left');
      await flush();
      expect(call.error).toBe('left');
      await expect(policy.execute(() => 'next', { key: 'b' })).rejects.toBeInstanceOf(BulkheadRejectedError);
      work.resolve('done');
      await flush();
      await expect(policy.execute(() => 'next', { key: 'b' })).resolves.toBe('next');
    });
  });
});
