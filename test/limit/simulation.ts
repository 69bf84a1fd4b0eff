import type { ConcurrencyLimit } from '../../src/limit/types.js';

/**
 * A discrete-event simulation of a closed-loop client behind an adaptive limit, calling a downstream
 * with a fixed concurrency capacity. Time is simulated (no timers, no sleeps), and every random draw
 * comes from a seeded generator, so a run is exactly repeatable.
 *
 * Downstream model: `capacity` calls run in parallel in `baseLatencyMs`; calls above that wait in a
 * FIFO queue, so a call started with `n` calls in flight (itself included) takes
 * base × max(1, n / capacity) × jitter, with jitter uniform in [1 − jitter, 1 + jitter]. A call longer
 * than `timeoutMs` is abandoned at `timeoutMs` and reported as dropped (and stops loading the
 * downstream: it is assumed to be cancelled). During the spike the base latency is multiplied by
 * `spike.factor` and the capacity by `spike.capacityFactor` (default 1). With the capacity unchanged,
 * a latency spike leaves the ideal limit at `capacity` (only throughput falls); a capacity factor below
 * 1 models a downstream that lost workers, whose ideal limit falls with it.
 *
 * Client model: `callers` loops, each calling again as soon as its previous call completes. A caller
 * waits (outside the measured rtt) while in-flight >= limit, as a bulkhead with a queue would do.
 */
export interface Scenario {
  /** Downstream capacity C, in concurrent calls. */
  capacity: number;
  baseLatencyMs: number;
  /** Relative spread of each latency: 0.1 draws from [0.9, 1.1] × the model latency. */
  jitter: number;
  timeoutMs: number;
  callers: number;
  durationMs: number;
  /** Ignored when computing the steady state: the algorithm's start-up. */
  warmupMs: number;
  /** Base latency × factor and capacity × capacityFactor during [startMs, endMs). Omit for none. */
  spike: { startMs: number; endMs: number; factor: number; capacityFactor?: number } | undefined;
  /** The limit has recovered once it reaches this fraction of its pre-spike steady mean. */
  recoveredFraction: number;
  seed: number;
}

export const DEFAULT_SCENARIO: Readonly<Scenario> = Object.freeze({
  capacity: 20,
  baseLatencyMs: 10,
  jitter: 0.1,
  timeoutMs: 100,
  callers: 200,
  durationMs: 40_000,
  warmupMs: 5_000,
  spike: { startMs: 20_000, endMs: 25_000, factor: 5 },
  recoveredFraction: 0.9,
  seed: 1,
});

export interface TracePoint {
  /** Simulated time, ms. */
  readonly timeMs: number;
  /** Samples reported so far. */
  readonly samples: number;
  readonly limit: number;
}

export interface Summary {
  readonly capacity: number;
  /** Time-weighted mean limit over [warmupMs, spike start) (or to the end without a spike). */
  readonly steadyMeanLimit: number;
  readonly steadyMinLimit: number;
  readonly steadyMaxLimit: number;
  /** Successful calls per second in the steady window (ideal: capacity / base latency × 1000). */
  readonly steadyThroughput: number;
  /** Mean rtt of successful calls in the steady window, ms (ideal: the base latency). */
  readonly steadyMeanRttMs: number;
  /** Lowest limit from the spike's start until recovery (or the end of the run). */
  readonly spikeMinLimit: number;
  /** Time-weighted mean limit during the spike. */
  readonly spikeMeanLimit: number;
  /** Time from the spike's end until the limit is back to recoveredFraction × steadyMeanLimit. */
  readonly recoveryMs: number;
  /** Samples over the same span. */
  readonly recoverySamples: number;
  /** Time-weighted mean limit over the second half of the time after the spike. */
  readonly afterMeanLimit: number;
  readonly samples: number;
  readonly drops: number;
}

export interface SimulationResult {
  /** One point at the start and one per limit change. */
  readonly trace: readonly TracePoint[];
  readonly summary: Summary;
}

/** What a limit factory receives: a seeded random source for algorithms that jitter. */
export interface SimulationEnv {
  readonly random: () => number;
}

/** mulberry32: small, fast and good enough for a simulation. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

interface Call {
  readonly startedAt: number;
  readonly endsAt: number;
  readonly inflight: number;
  readonly dropped: boolean;
  readonly seq: number;
}

/** A binary min-heap of calls ordered by completion time (then start order). */
class CallHeap {
  readonly #items: Call[] = [];

  get size(): number {
    return this.#items.length;
  }

  push(call: Call): void {
    const items = this.#items;
    items.push(call);
    let i = items.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!before(call, items[parent]!)) break;
      items[i] = items[parent]!;
      i = parent;
    }
    items[i] = call;
  }

  pop(): Call | undefined {
    const items = this.#items;
    const top = items[0];
    const last = items.pop();
    if (top === undefined || last === undefined || items.length === 0) return top;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= items.length) break;
      const r = l + 1;
      const child = r < items.length && before(items[r]!, items[l]!) ? r : l;
      if (!before(items[child]!, last)) break;
      items[i] = items[child]!;
      i = child;
    }
    items[i] = last;
    return top;
  }
}

function before(a: Call, b: Call): boolean {
  return a.endsAt < b.endsAt || (a.endsAt === b.endsAt && a.seq < b.seq);
}

/** Runs one scenario against a fresh limit from `factory`. */
export function simulate(
  factory: (env: SimulationEnv) => ConcurrencyLimit,
  overrides: Partial<Scenario> = {},
): SimulationResult {
  const sc: Scenario = { ...DEFAULT_SCENARIO, ...overrides };
  const random = seededRandom(sc.seed);
  // A separate stream for the algorithm, so its draws do not shift the downstream's latencies.
  const limiter = factory({ random: seededRandom(sc.seed ^ 0x9e3779b9) });
  const heap = new CallHeap();
  const trace: TracePoint[] = [{ timeMs: 0, samples: 0, limit: limiter.limit }];
  let now = 0;
  let inflight = 0;
  let seq = 0;
  let samples = 0;
  let drops = 0;
  const spike = sc.spike;
  const steadyEnd = spike ? spike.startMs : sc.durationMs;
  let steadyOk = 0;
  let steadyRttSum = 0;
  let samplesAtSpikeEnd = Number.NaN;

  limiter.onLimitChange((limit) => {
    trace.push({ timeMs: now, samples, limit });
  });

  const start = (): void => {
    inflight++;
    const spiking = spike !== undefined && now >= spike.startMs && now < spike.endMs;
    const base = sc.baseLatencyMs * (spiking ? spike.factor : 1);
    const capacity = sc.capacity * (spiking ? (spike.capacityFactor ?? 1) : 1);
    const load = Math.max(1, inflight / capacity);
    const latency = base * load * (1 + sc.jitter * (2 * random() - 1));
    const dropped = latency > sc.timeoutMs;
    heap.push({
      startedAt: now,
      endsAt: now + (dropped ? sc.timeoutMs : latency),
      inflight,
      dropped,
      seq: seq++,
    });
  };
  const admit = (): void => {
    while (inflight < limiter.limit && inflight < sc.callers) start();
  };

  admit();
  for (let call = heap.pop(); call !== undefined && call.endsAt <= sc.durationMs; call = heap.pop()) {
    if (spike && Number.isNaN(samplesAtSpikeEnd) && call.endsAt >= spike.endMs) samplesAtSpikeEnd = samples;
    now = call.endsAt;
    inflight--;
    samples++;
    const rttMs = call.endsAt - call.startedAt;
    if (call.dropped) drops++;
    else if (now >= sc.warmupMs && now < steadyEnd) {
      steadyOk++;
      steadyRttSum += rttMs;
    }
    limiter.onSample({ startedAt: call.startedAt, rttMs, inflight: call.inflight, dropped: call.dropped });
    // Never stalls: a limit is at least 1, so the call that just completed frees a slot.
    admit();
  }

  const steady = stats(trace, sc.warmupMs, steadyEnd);
  let spikeMinLimit = Number.NaN;
  let spikeMeanLimit = Number.NaN;
  let recoveryMs = Number.NaN;
  let recoverySamples = Number.NaN;
  let afterMeanLimit = Number.NaN;
  if (spike) {
    const target = sc.recoveredFraction * steady.mean;
    let recoveredAt = sc.durationMs;
    for (const p of trace) {
      if (p.timeMs < spike.endMs) continue;
      if (p.limit >= target) {
        recoveredAt = p.timeMs;
        recoverySamples = p.samples - samplesAtSpikeEnd;
        break;
      }
    }
    if (limitAt(trace, spike.endMs) >= target) {
      recoveredAt = spike.endMs;
      recoverySamples = 0;
    }
    if (recoveredAt < sc.durationMs) recoveryMs = recoveredAt - spike.endMs;
    spikeMinLimit = stats(trace, spike.startMs, Math.max(recoveredAt, spike.endMs)).min;
    spikeMeanLimit = stats(trace, spike.startMs, spike.endMs).mean;
    afterMeanLimit = stats(trace, (spike.endMs + sc.durationMs) / 2, sc.durationMs).mean;
  }
  const steadySpan = (steadyEnd - sc.warmupMs) / 1000;
  return {
    trace,
    summary: {
      capacity: sc.capacity,
      steadyMeanLimit: steady.mean,
      steadyMinLimit: steady.min,
      steadyMaxLimit: steady.max,
      steadyThroughput: steadyOk / steadySpan,
      steadyMeanRttMs: steadyRttSum / steadyOk,
      spikeMinLimit,
      spikeMeanLimit,
      recoveryMs,
      recoverySamples,
      afterMeanLimit,
      samples,
      drops,
    },
  };
}

/** The limit in force at `timeMs`. */
export function limitAt(trace: readonly TracePoint[], timeMs: number): number {
  let limit = trace[0]!.limit;
  for (const p of trace) {
    if (p.timeMs > timeMs) break;
    limit = p.limit;
  }
  return limit;
}

/** Time-weighted mean, min and max of the (piecewise constant) limit over [from, to). */
export function stats(
  trace: readonly TracePoint[],
  from: number,
  to: number,
): { mean: number; min: number; max: number } {
  let area = 0;
  let current = limitAt(trace, from);
  let min = current;
  let max = current;
  let t = from;
  for (const p of trace) {
    if (p.timeMs <= from) continue;
    if (p.timeMs >= to) break;
    area += current * (p.timeMs - t);
    t = p.timeMs;
    current = p.limit;
    if (current < min) min = current;
    if (current > max) max = current;
  }
  area += current * (to - t);
  return { mean: area / (to - from), min, max };
}
