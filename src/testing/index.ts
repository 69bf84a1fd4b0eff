// breakwater/testing: a deterministic kit for a service's own tests. With a fake clock and seeded faults,
// a test can assert "with 30% downstream errors and 2 s latency spikes, our endpoint still answers
// within its SLO" in milliseconds of real time, and replay the exact same run every time.
import type { Clock, RandomSource } from '../core/clock.js';
import type { Context } from '../core/context.js';
import { FakeClock, flush } from '../core/fake-clock.js';
import { checkKeys, func, invalid, number } from '../core/options.js';
import { seededRandom } from '../core/random.js';

export { injectBehavior, injectError, injectLatency, injectResult } from '../chaos/index.js';
export { FakeClock, flush, seededRandom };

export interface DownstreamPhase {
  /** The phase lasts until this clock time (ms since the downstream was created). */
  untilMs: number;
  /** Share of calls failing in this phase, [0, 1]. Default: the downstream's. */
  errorRate?: number;
  /** Latency in this phase, ms (or a function of the random source). Default: the downstream's. */
  latencyMs?: number | ((random: RandomSource) => number);
}

export interface SimulatedDownstreamOptions {
  clock: Clock;
  random?: RandomSource;
  /** Latency of a call, ms, or a function of the random source (for distributions). Default 10. */
  latencyMs?: number | ((random: RandomSource) => number);
  /** Share of calls that fail, [0, 1]. Default 0. */
  errorRate?: number;
  /** The error a failing call rejects with. Default: a new Error('downstream failure'). */
  error?: () => unknown;
  /** Phases in time order (healthy, failing, slow...). After the last one, the base settings apply. */
  phases?: readonly DownstreamPhase[];
}

export interface SimulatedDownstream {
  /** A task for `policy.execute`: answers 'ok' after its latency, or fails; honours the signal. */
  (context: Context): Promise<string>;
  /** Calls received so far (attempts, hedges and retries included). */
  readonly calls: number;
  /** Calls running now. */
  readonly inflight: number;
}

/** A downstream on a fake clock whose latency and failures follow a seeded random source and a schedule. */
export function simulatedDownstream(options: SimulatedDownstreamOptions): SimulatedDownstream {
  checkKeys('simulatedDownstream', options, ['clock', 'random', 'latencyMs', 'errorRate', 'error', 'phases']);
  const clock = options?.clock;
  if (clock === undefined || typeof clock.now !== 'function')
    invalid('simulatedDownstream.clock', 'a Clock', clock);
  const random = func<RandomSource>('simulatedDownstream.random', options.random, seededRandom(1));
  const baseRate = number('simulatedDownstream.errorRate', options.errorRate, 0, { min: 0, max: 1 });
  const baseLatency = options.latencyMs ?? 10;
  const makeError = func<() => unknown>(
    'simulatedDownstream.error',
    options.error,
    () => new Error('downstream failure'),
  );
  const phases = options.phases ?? [];
  const start = clock.now();
  let calls = 0;
  let inflight = 0;
  const settings = () => {
    const t = clock.now() - start;
    const phase = phases.find((p) => t < p.untilMs);
    return { rate: phase?.errorRate ?? baseRate, latency: phase?.latencyMs ?? baseLatency };
  };
  const downstream = ((ctx: Context) => {
    calls++;
    inflight++;
    const { rate, latency } = settings();
    const ms = typeof latency === 'function' ? latency(random) : latency;
    const fails = random() < rate;
    return new Promise<string>((resolve, reject) => {
      const { signal } = ctx;
      const onAbort = () => {
        clock.clearTimer(timer);
        inflight--;
        reject(signal.reason);
      };
      const timer = clock.setTimer(
        () => {
          signal.removeEventListener('abort', onAbort);
          inflight--;
          if (fails) reject(makeError());
          else resolve('ok');
        },
        Math.max(0, ms),
      );
      if (signal.aborted) onAbort();
      else signal.addEventListener('abort', onAbort, { once: true });
    });
  }) as SimulatedDownstream;
  Object.defineProperties(downstream, {
    calls: { get: () => calls },
    inflight: { get: () => inflight },
  });
  return downstream;
}

export interface LoadOptions {
  clock: FakeClock;
  /** Calls to make in total. */
  calls: number;
  /** One call starts every `intervalMs` (open-loop load). Default 10. */
  intervalMs?: number;
  /** Makes one call (e.g. `() => endpoint.execute(downstream)`). */
  call: () => Promise<unknown>;
}

export interface LoadReport {
  readonly calls: number;
  readonly succeeded: number;
  readonly failed: number;
  /** Failures by error name (or 'non-error' for thrown values that are not errors). */
  readonly failures: Readonly<Record<string, number>>;
  /** Latency of every call, successful or not, ms (nearest-rank percentiles). */
  readonly latency: {
    readonly p50: number;
    readonly p90: number;
    readonly p99: number;
    readonly max: number;
  };
  /** succeeded / calls. */
  readonly successRatio: number;
  /** Fake-clock time the run took, ms. */
  readonly durationMs: number;
}

/**
 * Runs an open-loop load on the fake clock: starts `calls` calls, one every `intervalMs`, and advances the
 * clock until every call has settled. Real time spent is what the code under test costs, nothing more.
 */
export async function runLoad(options: LoadOptions): Promise<LoadReport> {
  checkKeys('runLoad', options, ['clock', 'calls', 'intervalMs', 'call']);
  const { clock } = options;
  if (!(clock instanceof FakeClock)) invalid('runLoad.clock', 'a FakeClock', clock);
  const total = number('runLoad.calls', options.calls, 0, { min: 1, integer: true });
  const interval = number('runLoad.intervalMs', options.intervalMs, 10, { min: 0 });
  const call = func<() => Promise<unknown>>('runLoad.call', options.call);
  if (call === undefined) invalid('runLoad.call', 'a function', undefined);
  const started = clock.now();
  const latencies: number[] = [];
  const failures: Record<string, number> = {};
  let settled = 0;
  let succeeded = 0;
  const launch = () => {
    const t0 = clock.now();
    call()
      .then(
        () => {
          succeeded++;
        },
        (error: unknown) => {
          const key = error instanceof Error ? error.name : 'non-error';
          failures[key] = (failures[key] ?? 0) + 1;
        },
      )
      .finally(() => {
        latencies.push(clock.now() - t0);
        settled++;
      });
  };
  for (let i = 0; i < total; i++) {
    launch();
    await clock.tick(interval);
  }
  // Let the stragglers finish: advance in steps until all settle (bounded, so a hung call cannot loop).
  for (let guard = 0; settled < total && guard < 100_000; guard++) await clock.tick(Math.max(1, interval));
  if (settled < total) throw new Error(`runLoad: ${total - settled} calls never settled`);
  await flush();
  latencies.sort((a, b) => a - b);
  const at = (p: number) => latencies[Math.max(0, Math.ceil((p / 100) * latencies.length) - 1)] ?? 0;
  return {
    calls: total,
    succeeded,
    failed: total - succeeded,
    failures,
    latency: { p50: at(50), p90: at(90), p99: at(99), max: latencies[latencies.length - 1] ?? 0 },
    successRatio: succeeded / total,
    durationMs: clock.now() - started,
  };
}
