import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { batch } from '../../src/batch/index.js';
import type { Context } from '../../src/index.js';
import { abortListeners, FakeClock, flush } from '../helpers.js';

type Op =
  | { t: 'arrive'; key: number; abortAfter: number | undefined }
  | { t: 'advance'; ms: number }
  | { t: 'flush' };
/** How the n-th batch call behaves: whole failure, per-item errors for some keys, or success. */
interface Plan {
  workMs: number;
  outcome: 'ok' | 'fail' | 'item-errors';
  honorsAbort: boolean;
}
type Result = { ok: true; value: unknown } | { ok: false; error: unknown };

interface Sent {
  id: number;
  keys: readonly string[];
  attached: number;
  abandoned: boolean;
  signal: AbortSignal;
}
interface Caller {
  id: number;
  key: string;
  batch: Sent | null;
  done: boolean;
  expected: Result | undefined;
  got: Result[];
  signal: AbortSignal | undefined;
}

const opArb: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.record({
      t: fc.constant('arrive' as const),
      key: fc.integer({ min: 0, max: 4 }),
      abortAfter: fc.option(
        fc.integer({ min: 0, max: 20 }).map((n) => n + 0.5),
        { nil: undefined },
      ),
    }),
  },
  {
    weight: 3,
    arbitrary: fc.record({ t: fc.constant('advance' as const), ms: fc.integer({ min: 0, max: 8 }) }),
  },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('flush' as const) }) },
);
const planArb: fc.Arbitrary<Plan> = fc.record({
  workMs: fc.integer({ min: 0, max: 15 }),
  outcome: fc.constantFrom('ok' as const, 'fail' as const, 'item-errors' as const),
  honorsAbort: fc.boolean(),
});

describe('batch under random arrivals, aborts and outcomes (fake clock)', () => {
  it('every caller settles once with its own item, its batch failure or its own abort reason', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 4 }),
        fc.integer({ min: 0, max: 6 }),
        fc.array(opArb, { maxLength: 60 }),
        fc.array(planArb, { minLength: 1, maxLength: 20 }),
        async (maxSize, maxDelayMs, ops, plans) => {
          const clock = new FakeClock();
          const callers: Caller[] = [];
          const sent: Sent[] = [];
          // The batch being collected, in the model: its keys in arrival order and when it started.
          let collecting: { keys: Map<string, Caller[]>; since: number } | null = null;
          let dispatchedNow: Sent | null = null;
          /** True during load() and flush(): a batch sent then was full or flushed, else its delay ran out. */
          let inCall = false;

          const resultFor = (s: Sent, key: string): Result => {
            const plan = plans[s.id % plans.length]!;
            if (plan.outcome === 'fail') return { ok: false, error: `batch${s.id}` };
            if (plan.outcome === 'item-errors' && s.keys.indexOf(key) % 2 === 1) {
              return { ok: false, error: `item ${key}@${s.id}` };
            }
            return { ok: true, value: `${key}@${s.id}` };
          };

          const run = (keys: readonly string[], ctx: Context) => {
            // Sent when full or when its delay ran out, with exactly the keys still wanted.
            expect(collecting).not.toBeNull();
            const model = collecting!;
            expect(keys).toEqual([...model.keys.keys()]);
            expect(keys.length).toBeLessThanOrEqual(maxSize);
            if (!inCall) expect(clock.now()).toBe(model.since + maxDelayMs);
            const s: Sent = { id: sent.length, keys, attached: 0, abandoned: false, signal: ctx.signal };
            sent.push(s);
            for (const list of model.keys.values()) {
              for (const c of list) {
                c.batch = s;
                s.attached++;
              }
            }
            collecting = null;
            dispatchedNow = s;
            const plan = plans[s.id % plans.length]!;
            return new Promise<Map<string, unknown>>((resolve, reject) => {
              const timer = clock.setTimer(() => {
                if (!s.abandoned) {
                  for (const c of callers) {
                    if (c.batch === s && !c.done) {
                      c.done = true;
                      c.expected = resultFor(s, c.key);
                    }
                  }
                }
                if (plan.outcome === 'fail') reject(`batch${s.id}`);
                else {
                  resolve(
                    new Map(
                      keys.map((k) => {
                        const r = resultFor(s, k);
                        return [k, r.ok ? r.value : new Error(String(r.error))];
                      }),
                    ),
                  );
                }
              }, plan.workMs);
              if (plan.honorsAbort) {
                ctx.signal.addEventListener('abort', () => {
                  clock.clearTimer(timer);
                  reject(ctx.signal.reason);
                });
              }
            });
          };

          const b = batch<unknown>({ run, maxSize, maxDelayMs, clock });
          const settling: Promise<void>[] = [];
          for (const op of ops) {
            if (op.t === 'advance') {
              await clock.tick(op.ms);
              continue;
            }
            if (op.t === 'flush') {
              const hadKeys = collecting !== null;
              dispatchedNow = null;
              inCall = true;
              b.flush();
              inCall = false;
              expect(dispatchedNow !== null).toBe(hadKeys);
              continue;
            }
            const key = `k${op.key}`;
            const controller = op.abortAfter === undefined ? undefined : new AbortController();
            const caller: Caller = {
              id: callers.length,
              key,
              batch: null,
              done: false,
              expected: undefined,
              got: [],
              signal: controller?.signal,
            };
            callers.push(caller);
            if (collecting === null) collecting = { keys: new Map(), since: clock.now() };
            const model: { keys: Map<string, Caller[]>; since: number } = collecting;
            const list = model.keys.get(key) ?? [];
            list.push(caller);
            model.keys.set(key, list);
            const full = model.keys.size >= maxSize;
            dispatchedNow = null;
            inCall = true;
            const call = b.load(key, controller?.signal);
            inCall = false;
            // A batch reaching maxSize keys is sent at once, within the call that filled it.
            expect(dispatchedNow !== null).toBe(full);
            settling.push(
              call.then(
                (value) => void caller.got.push({ ok: true, value }),
                (error) =>
                  void caller.got.push({ ok: false, error: error instanceof Error ? error.message : error }),
              ),
            );
            if (controller !== undefined) {
              const reason = `abort${caller.id}`;
              clock.setTimer(() => {
                if (!caller.done) {
                  caller.done = true;
                  caller.expected = { ok: false, error: reason };
                  const s = caller.batch;
                  if (s === null) {
                    // Still collecting: the caller leaves the batch; its key too if nobody else wants it.
                    const m = collecting!;
                    const same = m.keys.get(caller.key)!;
                    same.splice(same.indexOf(caller), 1);
                    if (same.length === 0) m.keys.delete(caller.key);
                    if (m.keys.size === 0) collecting = null;
                  } else if (--s.attached === 0) {
                    s.abandoned = true;
                  }
                }
                controller.abort(reason);
                const s = caller.batch;
                if (s !== null) expect(s.signal.aborted).toBe(s.abandoned);
              }, op.abortAfter!);
            }
          }
          await clock.tick(1_000);
          await Promise.all(settling);
          await flush();
          for (const c of callers) {
            expect(c.got).toHaveLength(1);
            expect(c.got[0]).toEqual(c.expected);
            if (c.signal !== undefined) expect(abortListeners(c.signal)).toBe(0);
          }
          // A batch call is aborted exactly when every caller of it left.
          for (const s of sent) expect(s.signal.aborted).toBe(s.abandoned);
          expect(b.snapshot()).toMatchObject({ pendingKeys: 0, pendingCallers: 0, inflightBatches: 0 });
          expect(clock.pendingTimers).toBe(0);
        },
      ),
      { numRuns: 300 },
    );
  });
});
