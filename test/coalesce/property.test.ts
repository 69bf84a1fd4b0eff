import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { coalesce } from '../../src/coalesce/index.js';
import type { Context } from '../../src/index.js';
import { abortListeners, FakeClock, flush } from '../helpers.js';

type Op = { t: 'arrive'; key: number; abortAfter: number | undefined } | { t: 'advance'; ms: number };
/** How the n-th execution behaves. */
interface Plan {
  workMs: number;
  ok: boolean;
  /** Reads its signal and rejects with the reason when it aborts (else it ignores it and runs on). */
  honorsAbort: boolean;
}
type Result = { ok: true; value: unknown } | { ok: false; error: unknown };

interface Exec {
  id: number;
  key: string;
  attached: number;
  done: boolean;
  abandoned: boolean;
  signal: AbortSignal;
}
interface Caller {
  id: number;
  key: string;
  exec: Exec | null;
  done: boolean;
  expected: Result | undefined;
  got: Result[];
  signal: AbortSignal | undefined;
}

const opArb: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 5,
    arbitrary: fc.record({
      t: fc.constant('arrive' as const),
      key: fc.integer({ min: 0, max: 2 }),
      // Half-integers: an abort never ties with work ending on integer times.
      abortAfter: fc.option(
        fc.integer({ min: 0, max: 30 }).map((n) => n + 0.5),
        { nil: undefined },
      ),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({ t: fc.constant('advance' as const), ms: fc.integer({ min: 0, max: 12 }) }),
  },
);
const planArb: fc.Arbitrary<Plan> = fc.record({
  workMs: fc.integer({ min: 0, max: 25 }),
  ok: fc.boolean(),
  honorsAbort: fc.boolean(),
});

describe('coalesce under random arrivals, aborts and outcomes (fake clock)', () => {
  it('every caller settles once, with the outcome of the execution it joined or its own abort reason', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(opArb, { maxLength: 60 }),
        fc.array(planArb, { minLength: 1, maxLength: 20 }),
        fc.option(fc.integer({ min: 1, max: 30 }), { nil: undefined }),
        async (ops, plans, ttlMs) => {
          const clock = new FakeClock();
          const policy = coalesce({
            key: (ctx) => ctx.key,
            clock,
            ...(ttlMs === undefined ? {} : { cache: { ttlMs } }),
          });
          const execs: Exec[] = [];
          const live = new Map<string, Exec>();
          const cache = new Map<string, { value: Result; until: number }>();
          const callers: Caller[] = [];
          let invoked: Exec | null = null;

          const outcomeOf = (exec: Exec): Result => {
            const plan = plans[exec.id % plans.length]!;
            return plan.ok ? { ok: true, value: `v${exec.id}` } : { ok: false, error: `e${exec.id}` };
          };
          // The model: an execution ends for its callers when its work ends, unless all of them left.
          const settleModel = (exec: Exec) => {
            exec.done = true;
            if (exec.abandoned) return;
            if (live.get(exec.key) === exec) live.delete(exec.key);
            const result = outcomeOf(exec);
            for (const c of callers) {
              if (c.exec === exec && !c.done) {
                c.done = true;
                c.expected = result;
              }
            }
            if (ttlMs !== undefined && result.ok)
              cache.set(exec.key, { value: result, until: clock.now() + ttlMs });
          };

          const task = (ctx: Context) => {
            const key = ctx.key!;
            // At most one execution per key at any time (executions <= distinct keys per window).
            expect(live.has(key)).toBe(false);
            const exec: Exec = {
              id: execs.length,
              key,
              attached: 0,
              done: false,
              abandoned: false,
              signal: ctx.signal,
            };
            execs.push(exec);
            invoked = exec;
            const plan = plans[exec.id % plans.length]!;
            return new Promise((resolve, reject) => {
              const timer = clock.setTimer(() => {
                settleModel(exec);
                if (plan.ok) resolve(`v${exec.id}`);
                else reject(`e${exec.id}`);
              }, plan.workMs);
              if (plan.honorsAbort) {
                ctx.signal.addEventListener('abort', () => {
                  clock.clearTimer(timer);
                  reject(ctx.signal.reason);
                });
              }
            });
          };

          const pending: Promise<void>[] = [];
          for (const op of ops) {
            if (op.t === 'advance') {
              await clock.tick(op.ms);
              continue;
            }
            const key = `k${op.key}`;
            const controller = op.abortAfter === undefined ? undefined : new AbortController();
            const caller: Caller = {
              id: callers.length,
              key,
              exec: null,
              done: false,
              expected: undefined,
              got: [],
              signal: controller?.signal,
            };
            callers.push(caller);
            const cached = cache.get(key);
            const hit = cached !== undefined && clock.now() < cached.until;
            const joins = !hit && live.has(key);
            invoked = null;
            const call = policy.execute(task, { key, signal: controller?.signal });
            if (hit) {
              expect(invoked).toBeNull();
              caller.done = true;
              caller.expected = cached.value;
            } else if (joins) {
              expect(invoked).toBeNull();
              caller.exec = live.get(key)!;
              caller.exec.attached++;
            } else {
              expect(invoked).not.toBeNull();
              const exec = invoked as unknown as Exec;
              live.set(key, exec);
              exec.attached++;
              caller.exec = exec;
            }
            pending.push(
              call.then(
                (value) => void caller.got.push({ ok: true, value }),
                (error) => void caller.got.push({ ok: false, error }),
              ),
            );
            if (controller !== undefined) {
              const reason = `abort${caller.id}`;
              clock.setTimer(() => {
                if (!caller.done) {
                  caller.done = true;
                  caller.expected = { ok: false, error: reason };
                  const exec = caller.exec!;
                  exec.attached--;
                  if (exec.attached === 0) {
                    exec.abandoned = true;
                    if (live.get(exec.key) === exec) live.delete(exec.key);
                  }
                }
                controller.abort(reason);
                // The shared work is aborted exactly when every caller has left.
                const exec = caller.exec;
                if (exec !== null && !exec.done) expect(exec.signal.aborted).toBe(exec.abandoned);
              }, op.abortAfter!);
            }
          }
          await clock.tick(1_000);
          await Promise.all(pending);
          await flush();
          for (const c of callers) {
            expect(c.got).toHaveLength(1);
            expect(c.got[0]).toEqual(c.expected);
            if (c.signal !== undefined) expect(abortListeners(c.signal)).toBe(0);
          }
          for (const exec of execs) expect(exec.signal.aborted).toBe(exec.abandoned);
          expect(policy.snapshot().inflightKeys).toBe(0);
          expect(clock.pendingTimers).toBe(0);
        },
      ),
      { numRuns: 300 },
    );
  });
});
