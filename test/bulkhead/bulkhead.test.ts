import { AsyncLocalStorage } from 'node:async_hooks';
import { describe, expect, it } from 'vitest';
import {
  BulkheadRejectedError,
  bulkhead,
  circuitBreaker,
  pipeline,
  TimeoutError,
  timeout,
} from '../../src/index.js';
import { abortListeners, deferred, FakeClock, track } from '../helpers.js';

describe('bulkhead', () => {
  it('runs at most `limit` calls at once and rejects the rest when there is no queue', async () => {
    const b = bulkhead({ limit: 2, clock: new FakeClock() });
    const gates = [deferred(), deferred()];
    const running = gates.map((g) => b.execute(() => g.promise));
    const third = await b.executeOutcome(() => 'never');
    expect(third.ok).toBe(false);
    const error = (third as { error: BulkheadRejectedError }).error;
    expect(error).toBeInstanceOf(BulkheadRejectedError);
    expect(error.reason).toBe('full');
    expect(error.code).toBe('BW_ERR_BULKHEAD_REJECTED');
    expect(b.snapshot()).toMatchObject({ inflight: 2, queueSize: 0, rejected: 1, admitted: 2 });
    gates[0]!.resolve('a');
    await running[0];
    await expect(b.execute(() => 'now there is room')).resolves.toBe('now there is room');
    gates[1]!.resolve('b');
    await Promise.all(running);
    expect(b.snapshot().inflight).toBe(0);
  });

  it('queues up to `queue` calls and runs them in arrival order', async () => {
    const b = bulkhead({ limit: 1, queue: 3, clock: new FakeClock() });
    const first = deferred();
    const order: number[] = [];
    const all = [b.execute(() => first.promise)];
    for (let i = 1; i <= 3; i++) all.push(b.execute(() => order.push(i)));
    const overflow = await b.executeOutcome(() => 'no');
    expect((overflow as { error: BulkheadRejectedError }).error.reason).toBe('full');
    expect(b.snapshot()).toMatchObject({ inflight: 1, queueSize: 3 });
    first.resolve(0);
    await Promise.all(all);
    expect(order).toEqual([1, 2, 3]);
  });

  it('rejects a call that waited longer than maxWaitMs', async () => {
    const clock = new FakeClock();
    const b = bulkhead({ limit: 1, queue: 1, maxWaitMs: 100, clock });
    const hold = deferred();
    void b.execute(() => hold.promise);
    const waiting = track(b.execute(() => 'late'));
    await clock.tick(99);
    expect(waiting.settled).toBe(false);
    await clock.tick(1);
    expect((waiting.error as BulkheadRejectedError).reason).toBe('wait-timeout');
    expect(b.snapshot().queueSize).toBe(0);
    hold.resolve(1);
  });

  it('an aborted queued call leaves the queue at once, frees its place and leaves no listener', async () => {
    const clock = new FakeClock();
    const b = bulkhead({ limit: 1, queue: 1, clock });
    const hold = deferred();
    void b.execute(() => hold.promise);
    const controller = new AbortController();
    let called = false;
    const waiting = track(
      b.execute(() => {
        called = true;
      }, controller.signal),
    );
    expect(abortListeners(controller.signal)).toBe(1);
    controller.abort('caller gave up');
    await clock.tick(0);
    expect(waiting.error).toBe('caller gave up');
    expect(called).toBe(false);
    expect(abortListeners(controller.signal)).toBe(0);
    expect(b.snapshot().queueSize).toBe(0);
    // Its place is free again.
    const next = track(b.execute(() => 'queued again'));
    hold.resolve(1);
    await clock.tick(0);
    expect(next.value).toBe('queued again');
  });

  it('holds the slot until the work ends even after an inner aggressive timeout gave up on it', async () => {
    const clock = new FakeClock();
    const b = bulkhead({ limit: 1, queue: 0, clock });
    const policy = pipeline(b, timeout({ durationMs: 50, clock }));
    const work = deferred();
    const call = track(policy.execute(() => work.promise));
    await clock.tick(50);
    expect(call.error).toBeInstanceOf(TimeoutError);
    expect(b.snapshot()).toMatchObject({ inflight: 1, abandoned: 1 });
    expect((await b.executeOutcome(() => 'over the limit')).ok).toBe(false);
    work.resolve('finally');
    await clock.tick(0);
    expect(b.snapshot()).toMatchObject({ inflight: 0, abandoned: 0 });
    await expect(b.execute(() => 'room again')).resolves.toBe('room again');
  });

  it('through nested aggressive timeouts, the slot is held until the innermost work ends', async () => {
    const clock = new FakeClock();
    const b = bulkhead({ limit: 1, queue: 0, clock });
    // Both deadlines pass at 50: the outer one gives up on an inner one that gave up on the work.
    const policy = pipeline(b, timeout({ durationMs: 50, clock }), timeout({ durationMs: 100, clock }));
    const work = deferred();
    const call = track(policy.execute(() => work.promise));
    await clock.tick(200);
    expect(call.error).toBeInstanceOf(TimeoutError);
    expect(b.snapshot()).toMatchObject({ inflight: 1, abandoned: 1 });
    work.resolve('finally');
    await clock.tick(0);
    expect(b.snapshot()).toMatchObject({ inflight: 0, abandoned: 0 });
  });

  it('frees an abandoned slot even when the work it waits for rejects', async () => {
    const clock = new FakeClock();
    const b = bulkhead({ limit: 1, queue: 0, clock });
    const policy = pipeline(b, timeout({ durationMs: 50, clock }));
    const work = deferred();
    const call = track(policy.execute(() => work.promise));
    await clock.tick(50);
    expect(call.error).toBeInstanceOf(TimeoutError);
    work.reject(new Error('late failure'));
    await clock.tick(0);
    expect(b.snapshot()).toMatchObject({ inflight: 0, abandoned: 0 });
  });

  it('raising the limit at run time admits queued calls at once; lowering it stops admissions', async () => {
    const b = bulkhead({ limit: 1, queue: 10, clock: new FakeClock() });
    const hold = deferred();
    void b.execute(() => hold.promise);
    const started: number[] = [];
    const queued = [1, 2, 3].map((i) => b.execute(() => started.push(i)));
    b.setLimit(3);
    expect(b.snapshot()).toMatchObject({ limit: 3, inflight: 3, queueSize: 1 });
    await Promise.all(queued.slice(0, 2));
    await Promise.all(queued);
    expect(started).toEqual([1, 2, 3]);
    b.setLimit(1);
    const blocked = track(b.execute(() => 'waits'));
    await Promise.resolve();
    expect(b.snapshot()).toMatchObject({ inflight: 1, queueSize: 1 });
    hold.resolve(0);
    await new Promise((r) => setImmediate(r));
    expect(blocked.value).toBe('waits');
    expect(() => b.setLimit(0)).toThrow(RangeError);
  });

  it('runs a queued call in its own caller async context', async () => {
    const als = new AsyncLocalStorage<string>();
    const b = bulkhead({ limit: 1, queue: 5, clock: new FakeClock() });
    const hold = deferred();
    const first = als.run('first caller', () => b.execute(() => hold.promise));
    const seen = ['A', 'B'].map((id) => als.run(id, () => b.execute(() => als.getStore())));
    hold.resolve(0);
    await first;
    expect(await Promise.all(seen)).toEqual(['A', 'B']);
  });

  it('its rejections do not count as failures of an outer circuit breaker', async () => {
    const clock = new FakeClock();
    const breaker = circuitBreaker({ window: { kind: 'consecutive', failures: 1 }, clock });
    const b = bulkhead({ limit: 1, clock });
    const policy = pipeline(breaker, b);
    const hold = deferred();
    void policy.execute(() => hold.promise);
    for (let i = 0; i < 5; i++) expect((await policy.executeOutcome(() => 1)).ok).toBe(false);
    expect(breaker.state).toBe('closed');
    hold.resolve(1);
  });

  it('emits rejections, outcomes with durations and queue waits', async () => {
    const clock = new FakeClock();
    const b = bulkhead({ name: 'db', limit: 1, queue: 1, clock });
    const seen: unknown[] = [];
    b.onReject((e) => seen.push(e));
    b.onSuccess((e) => seen.push(e));
    b.onFailure((e) => seen.push(e));
    b.onQueueWait((e) => seen.push(e));
    const hold = deferred();
    const first = b.execute(() => hold.promise);
    const second = b.executeOutcome(async () => {
      clock.advance(5);
      throw new Error('x');
    });
    await b.executeOutcome(() => 'rejected');
    clock.advance(20);
    hold.resolve(1);
    await first;
    await second;
    const base = { policy: 'db', kind: 'bulkhead', partition: '(default)' };
    expect(seen).toEqual([
      { type: 'reject', ...base, reason: 'full', retryAfterMs: undefined },
      { type: 'call', ...base, outcome: 'success', durationMs: 20 },
      { type: 'queue-wait', ...base, waitedMs: 20 },
      { type: 'call', ...base, outcome: 'failure', durationMs: 5 },
    ]);
  });

  it('delivers the same event object to a typed view and to onEvent, with the partition', async () => {
    const clock = new FakeClock();
    const b = bulkhead({ name: 'db', limit: 1, partitions: { live: 0.5 }, clock });
    const all: unknown[] = [];
    const rejects: unknown[] = [];
    const successes: unknown[] = [];
    b.onEvent((e) => all.push(e));
    b.onReject((e) => rejects.push(e));
    b.onSuccess((e) => successes.push(e));
    const live = b.partition('live');
    const hold = deferred();
    const running = live.execute(() => hold.promise);
    await live.executeOutcome(() => 'rejected');
    clock.advance(7);
    hold.resolve(1);
    await running;
    expect(all).toHaveLength(2);
    expect(rejects).toEqual([
      {
        type: 'reject',
        policy: 'db',
        kind: 'bulkhead',
        reason: 'full',
        retryAfterMs: undefined,
        partition: 'live',
      },
    ]);
    expect(rejects[0]).toBe(all[0]);
    expect(successes).toEqual([
      { type: 'call', policy: 'db', kind: 'bulkhead', outcome: 'success', durationMs: 7, partition: 'live' },
    ]);
    expect(successes[0]).toBe(all[1]);
  });

  it('reports a failure of a call called off as ignored, not to onFailure', async () => {
    const b = bulkhead({ name: 'db', limit: 1, clock: new FakeClock() });
    const all: { type: string; outcome?: string }[] = [];
    const failures: unknown[] = [];
    b.onEvent((e) => all.push(e));
    b.onFailure((e) => failures.push(e));
    const controller = new AbortController();
    const call = b.executeOutcome(async () => {
      controller.abort('gone');
      throw new Error('after abort');
    }, controller.signal);
    await call;
    expect(all.map((e) => e.outcome)).toEqual(['ignored']);
    expect(failures).toEqual([]);
  });
});

describe('bulkhead partitions', () => {
  it('reserves each partition its share and lets them borrow unreserved slots', async () => {
    const b = bulkhead({ limit: 10, partitions: { live: 0.7, batch: 0.2 }, clock: new FakeClock() });
    const live = b.partition('live');
    const batch = b.partition('batch');
    const hold = deferred();
    // Batch may take its 2 reserved slots plus the 1 unreserved one, never the 7 kept for live.
    const batchCalls = Array.from({ length: 5 }, () => batch.executeOutcome(() => hold.promise));
    await Promise.resolve();
    expect(b.snapshot().partitions.find((p) => p.name === 'batch')).toMatchObject({
      reserved: 2,
      inflight: 3,
    });
    const liveCalls = Array.from({ length: 8 }, () => live.executeOutcome(() => hold.promise));
    await Promise.resolve();
    expect(b.snapshot()).toMatchObject({ inflight: 10 });
    expect(b.snapshot().partitions.find((p) => p.name === 'live')).toMatchObject({
      reserved: 7,
      inflight: 7,
    });
    hold.resolve('done');
    const outcomes = await Promise.all([...batchCalls, ...liveCalls]);
    expect(outcomes.filter((o) => !o.ok)).toHaveLength(3);
    expect(b.partition('live')).toBe(live);
    expect(() => b.partition('nope')).toThrow(RangeError);
  });

  it('refuses shares that add up to more than the whole', () => {
    expect(() => bulkhead({ limit: 5, partitions: { a: 0.6, b: 0.6 } })).toThrow(RangeError);
  });
});

describe('bulkhead with an adaptive limit', () => {
  it('reports every call as a sample and follows the limit it is given', async () => {
    const clock = new FakeClock();
    const samples: unknown[] = [];
    let notify: (n: number) => void = () => {};
    const limiter = {
      limit: 1,
      onSample: (s: unknown) => samples.push(s),
      onLimitChange: (l: (n: number) => void) => {
        notify = l;
        return () => {};
      },
    };
    const b = bulkhead({ limit: limiter, queue: 5, clock });
    const hold = deferred();
    const first = b.execute(async () => {
      await hold.promise;
      clock.advance(30);
    });
    const second = track(b.execute(() => 'second'));
    limiter.limit = 2;
    notify(2);
    await new Promise((r) => setImmediate(r));
    expect(second.value).toBe('second');
    hold.resolve(0);
    await first;
    await b.executeOutcome(() => Promise.reject(TimeoutErrorLike()));
    expect(samples).toEqual([
      { startedAt: 0, rttMs: 0, inflight: 2, dropped: false },
      { startedAt: 0, rttMs: 30, inflight: 1, dropped: false },
      { startedAt: 30, rttMs: 0, inflight: 1, dropped: true },
    ]);
    expect(() => b.setLimit(3)).toThrow(TypeError);
  });
});

function TimeoutErrorLike() {
  return TimeoutError.create(1, 'inner');
}

describe('bulkhead with a real adaptive limit', () => {
  it('backs off when calls time out and grows again when they are fast', async () => {
    const { aimdLimit } = await import('../../src/index.js');
    const clock = new FakeClock();
    const limit = aimdLimit({ initialLimit: 10, minLimit: 1, maxLimit: 50 });
    const b = bulkhead({ limit, queue: 100, clock });
    const policy = pipeline(b, timeout({ durationMs: 100, clock }));
    const slow = () => new Promise((r) => clock.setTimer(() => r('slow'), 500));
    const fast = () => new Promise((r) => clock.setTimer(() => r('fast'), 5));
    const burst = (fn: () => Promise<unknown>) =>
      Promise.all(Array.from({ length: 20 }, () => policy.executeOutcome(fn)));
    let done = burst(slow);
    await clock.tick(2_000);
    await done;
    const afterTimeouts = b.limit;
    expect(afterTimeouts).toBeLessThan(10);
    for (let round = 0; round < 20; round++) {
      done = burst(fast);
      await clock.tick(200);
      await done;
    }
    expect(b.limit).toBeGreaterThan(afterTimeouts);
  });
});
