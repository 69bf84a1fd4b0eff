import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { circuitBreaker } from '../../src/index.js';
import { deferred, FakeClock } from '../helpers.js';

/**
 * Model-based test: random sequences of overlapping calls, clock advances and manual actions run
 * against the breaker and against a deliberately naive reference model of the specification (plain
 * arrays, no generations: each call remembers the period it started in).
 */

type Kind = 'success' | 'failure' | 'ignored';
type Op =
  | { t: 'start'; kind: Kind }
  | { t: 'finish'; pick: number }
  | { t: 'advance'; ms: number }
  | { t: 'open' }
  | { t: 'close' }
  | { t: 'reset' }
  | { t: 'isolate' }
  | { t: 'release' };

interface Config {
  window: { kind: 'count'; size: number } | { kind: 'time'; durationMs: number; buckets: number };
  minimumCalls: number;
  failureRateThreshold: number;
  slowCallDurationMs: number;
  slowCallRateThreshold: number;
  breakDurationMs: number;
  maxCalls: number;
  successThreshold: number;
}

class Model {
  state: string = 'closed';
  period = 0;
  openUntil = 0;
  probes = 0;
  probeOk = 0;
  probeBad = 0;
  isolations = 0;
  log: { at: number; failed: boolean; slow: boolean }[] = [];
  constructor(readonly c: Config) {}

  #live(now: number) {
    const w = this.c.window;
    if (w.kind === 'count') return this.log.slice(-w.size);
    const bucketMs = w.durationMs / w.buckets;
    const current = Math.floor(now / bucketMs);
    return this.log.filter((e) => Math.floor(e.at / bucketMs) > current - w.buckets);
  }

  #go(to: string) {
    this.state = to;
    this.period++;
    this.probes = this.probeOk = this.probeBad = 0;
    this.log = [];
  }

  open(now: number) {
    this.openUntil = now + this.c.breakDurationMs;
    this.#go('open');
  }

  admit(now: number): number | null {
    if (this.state === 'isolated') return null;
    if (this.state === 'open') {
      if (now < this.openUntil) return null;
      this.#go('half-open');
    }
    if (this.state === 'half-open') {
      if (this.probes >= this.c.maxCalls) return null;
      this.probes++;
    }
    return this.period;
  }

  record(period: number, kind: Kind, durationMs: number, now: number) {
    if (period !== this.period) return;
    const slow = durationMs > this.c.slowCallDurationMs;
    if (this.state === 'half-open') {
      if (kind === 'ignored') {
        this.probes--;
        return;
      }
      if (kind === 'failure' || slow) this.probeBad++;
      else this.probeOk++;
      if (this.probeOk >= this.c.successThreshold) this.#go('closed');
      else if (this.probeBad > this.c.maxCalls - this.c.successThreshold) this.open(now);
      return;
    }
    if (this.state !== 'closed' || kind === 'ignored') return;
    this.log.push({ at: now, failed: kind === 'failure', slow });
    if (kind !== 'failure' && !slow) return;
    const live = this.#live(now);
    if (live.length < this.c.minimumCalls) return;
    const failureRate = live.filter((e) => e.failed).length / live.length;
    const slowRate = live.filter((e) => e.slow).length / live.length;
    if (failureRate >= this.c.failureRateThreshold || slowRate >= this.c.slowCallRateThreshold)
      this.open(now);
  }

  totals(now: number) {
    if (this.state !== 'closed') return undefined;
    const live = this.#live(now);
    return { calls: live.length, failures: live.filter((e) => e.failed).length };
  }
}

const configArb: fc.Arbitrary<Config> = fc
  .record({
    window: fc.oneof(
      fc.record({ kind: fc.constant('count' as const), size: fc.integer({ min: 1, max: 8 }) }),
      fc.record({
        kind: fc.constant('time' as const),
        durationMs: fc.constantFrom(100, 200, 400),
        buckets: fc.constantFrom(1, 2, 4),
      }),
    ),
    minimumCalls: fc.integer({ min: 1, max: 8 }),
    failureRateThreshold: fc.constantFrom(0.25, 0.5, 1),
    slowCallDurationMs: fc.constantFrom(30, 1_000_000),
    slowCallRateThreshold: fc.constantFrom(0.5, 1),
    breakDurationMs: fc.constantFrom(50, 150),
    maxCalls: fc.integer({ min: 1, max: 3 }),
    successRatio: fc.double({ min: 0, max: 1, noNaN: true }),
  })
  .map(({ successRatio, ...c }) => {
    const minimumCalls = c.window.kind === 'count' ? Math.min(c.minimumCalls, c.window.size) : c.minimumCalls;
    return { ...c, minimumCalls, successThreshold: Math.max(1, Math.round(successRatio * c.maxCalls)) };
  });

const opArb: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.record({
      t: fc.constant('start' as const),
      kind: fc.constantFrom<Kind>('success', 'failure', 'ignored'),
    }),
  },
  { weight: 6, arbitrary: fc.record({ t: fc.constant('finish' as const), pick: fc.nat() }) },
  {
    weight: 3,
    arbitrary: fc.record({ t: fc.constant('advance' as const), ms: fc.integer({ min: 1, max: 120 }) }),
  },
  {
    weight: 1,
    arbitrary: fc.constantFrom<Op>(
      { t: 'open' },
      { t: 'close' },
      { t: 'reset' },
      { t: 'isolate' },
      { t: 'release' },
    ),
  },
);

describe('circuit breaker against a reference model', () => {
  it('agrees on every admission, state and count', async () => {
    await fc.assert(
      fc.asyncProperty(configArb, fc.array(opArb, { maxLength: 60 }), async (config, ops) => {
        const clock = new FakeClock();
        const breaker = circuitBreaker({
          window: config.window,
          minimumCalls: config.minimumCalls,
          failureRateThreshold: config.failureRateThreshold,
          slowCallDurationMs: config.slowCallDurationMs,
          slowCallRateThreshold: config.slowCallRateThreshold,
          breakDurationMs: config.breakDurationMs,
          halfOpen: { maxCalls: config.maxCalls, successThreshold: config.successThreshold },
          ignore: RangeError,
          clock,
        });
        const model = new Model(config);
        const pending: {
          kind: Kind;
          period: number;
          startedAt: number;
          d: ReturnType<typeof deferred>;
          p: Promise<unknown>;
        }[] = [];
        const handles: (() => void)[] = [];
        for (const op of ops) {
          const now = clock.now();
          switch (op.t) {
            case 'start': {
              const period = model.admit(now);
              const d = deferred();
              let called = false;
              const p = breaker.executeOutcome(() => {
                called = true;
                return d.promise;
              });
              await Promise.resolve();
              expect(called).toBe(period !== null);
              if (period !== null) pending.push({ kind: op.kind, period, startedAt: now, d, p });
              else await p;
              break;
            }
            case 'finish': {
              if (pending.length === 0) break;
              const [call] = pending.splice(op.pick % pending.length, 1);
              if (call === undefined) break;
              model.record(call.period, call.kind, now - call.startedAt, now);
              if (call.kind === 'success') call.d.resolve('ok');
              else call.d.reject(call.kind === 'failure' ? new Error('x') : new RangeError('ignored'));
              await call.p;
              break;
            }
            case 'advance':
              clock.advance(op.ms);
              break;
            case 'open':
              if (model.state !== 'isolated') model.open(now);
              breaker.open(config.breakDurationMs);
              break;
            case 'close':
              if (model.state !== 'isolated' && model.state !== 'closed') resetModel(model, 'closed');
              breaker.close();
              break;
            case 'reset':
              model.isolations = 0;
              resetModel(model, 'closed');
              breaker.reset();
              handles.length = 0;
              break;
            case 'isolate':
              model.isolations++;
              if (model.state !== 'isolated') resetModel(model, 'isolated');
              handles.push(breaker.isolate());
              break;
            case 'release': {
              const h = handles.pop();
              if (h === undefined) break;
              model.isolations--;
              if (model.isolations === 0) resetModel(model, 'closed');
              h();
              break;
            }
          }
          expect(breaker.state).toBe(model.state);
          const totals = model.totals(clock.now());
          if (totals !== undefined) expect(breaker.snapshot()).toMatchObject(totals);
        }
        for (const call of pending) call.d.resolve('done');
        await Promise.all(pending.map((c) => c.p));
        expect(breaker.snapshot().inflight).toBe(0);
      }),
      { numRuns: 400 },
    );
  });
});

function resetModel(model: Model, to: string): void {
  model.state = to;
  model.period++;
  model.probes = model.probeOk = model.probeBad = 0;
  model.log = [];
}
