import type { Clock } from '../core/clock.js';
import { COMMON_KEYS, type CommonOptions, resolveClock, resolveName } from '../core/common-options.js';
import { checkKeys, invalid, MAX_TIMER_MS, number, oneOf } from '../core/options.js';
import { RollingHistogram } from '../metrics/histogram.js';
import type { ResolvedTimeoutOptions, TimeoutStrategy } from './options.js';
import type { DurationSource } from './policy.js';

export interface AdaptiveTimeoutOptions extends CommonOptions {
  /** Percentile of recent latencies the timeout follows (0-100]. Default 99. */
  percentile?: number;
  /** Timeout = percentile x multiplier. Default 1.5. */
  multiplier?: number;
  /** Bounds of the timeout, ms. Defaults 10 and 10 000. */
  minMs?: number;
  maxMs?: number;
  /** Timeout used until `minSamples` latencies are known, ms. Default `maxMs`. */
  warmupMs?: number;
  minSamples?: number;
  /** Latencies older than this are forgotten, ms. Default 60 000. */
  windowMs?: number;
  /**
   * Fastest the timeout may move, as a ratio of its value per second (default 1: at most doubling, or
   * going to zero, in a second), so one burst of fast calls cannot collapse it.
   */
  maxChangePerSecond?: number;
  /** Retries get more room: attempt n has the timeout x escalation^(n-1) (capped at maxMs). Default 1. */
  escalation?: number;
  strategy?: TimeoutStrategy;
}

export interface ResolvedAdaptiveTimeoutOptions extends ResolvedTimeoutOptions {
  readonly percentile: number;
  readonly multiplier: number;
  readonly minMs: number;
  readonly maxMs: number;
  readonly warmupMs: number;
  readonly minSamples: number;
  readonly windowMs: number;
  readonly maxChangePerSecond: number;
  readonly escalation: number;
}

const KEYS = [
  ...COMMON_KEYS,
  'percentile',
  'multiplier',
  'minMs',
  'maxMs',
  'warmupMs',
  'minSamples',
  'windowMs',
  'maxChangePerSecond',
  'escalation',
  'strategy',
];
/** The percentile is recomputed at most this often: a query merges histograms (microseconds). */
const REFRESH_MS = 250;

export function resolveAdaptiveTimeoutOptions(
  options: AdaptiveTimeoutOptions = {},
): ResolvedAdaptiveTimeoutOptions {
  const p = 'adaptiveTimeout';
  checkKeys(p, options, KEYS);
  const minMs = number(`${p}.minMs`, options.minMs, 10, { min: 1, max: MAX_TIMER_MS, integer: true });
  const maxMs = number(`${p}.maxMs`, options.maxMs, 10_000, { min: 1, max: MAX_TIMER_MS, integer: true });
  if (maxMs < minMs) invalid(`${p}.maxMs`, `at least minMs (${minMs})`, maxMs, 'range');
  const warmupMs = number(`${p}.warmupMs`, options.warmupMs, maxMs, { min: minMs, max: maxMs });
  return Object.freeze({
    name: resolveName(p, options.name, 'adaptiveTimeout'),
    durationMs: warmupMs,
    strategy: oneOf(`${p}.strategy`, options.strategy, 'aggressive', ['aggressive', 'cooperative'] as const),
    clock: resolveClock(p, options.clock),
    percentile: number(`${p}.percentile`, options.percentile, 99, { min: 0, max: 100, exclusiveMin: true }),
    multiplier: number(`${p}.multiplier`, options.multiplier, 1.5, { min: 0, exclusiveMin: true }),
    minMs,
    maxMs,
    warmupMs,
    minSamples: number(`${p}.minSamples`, options.minSamples, 100, { min: 1, integer: true }),
    windowMs: number(`${p}.windowMs`, options.windowMs, 60_000, { min: 1 }),
    maxChangePerSecond: number(`${p}.maxChangePerSecond`, options.maxChangePerSecond, 1, {
      min: 0,
      exclusiveMin: true,
      infinite: true,
    }),
    escalation: number(`${p}.escalation`, options.escalation, 1, { min: 1 }),
  });
}

/**
 * timeout = clamp(minMs, maxMs, percentile(p) of recent latencies x multiplier), moving at most
 * `maxChangePerSecond` per second. Timed-out calls are recorded at their budget (a lower bound of
 * their latency), so a slowdown raises the timeout instead of hiding behind it.
 */
export class AdaptiveDuration implements DurationSource {
  readonly #o: ResolvedAdaptiveTimeoutOptions;
  readonly #latencies: RollingHistogram;
  #current: number;
  #updatedAt: number;
  #refreshAt = Number.NEGATIVE_INFINITY;

  constructor(options: ResolvedAdaptiveTimeoutOptions, clock: Clock) {
    this.#o = options;
    this.#latencies = new RollingHistogram({ windowMs: options.windowMs, clock });
    this.#current = options.warmupMs;
    this.#updatedAt = clock.now();
  }

  get current(): number {
    return this.#current;
  }

  get samples(): number {
    return this.#latencies.count;
  }

  durationFor(attempt: number, now: number): number {
    if (now >= this.#refreshAt) this.#refresh(now);
    if (attempt <= 1 || this.#o.escalation === 1) return this.#current;
    return Math.min(this.#o.maxMs, Math.round(this.#current * this.#o.escalation ** (attempt - 1)));
  }

  observe(elapsedMs: number, _timedOut: boolean, now: number): void {
    this.#latencies.record(elapsedMs, now);
  }

  #refresh(now: number): void {
    this.#refreshAt = now + REFRESH_MS;
    const o = this.#o;
    const target =
      this.#latencies.count >= o.minSamples
        ? this.#latencies.valueAtPercentile(o.percentile) * o.multiplier
        : o.warmupMs;
    const clamped = Math.min(o.maxMs, Math.max(o.minMs, target));
    const maxStep = (this.#current * o.maxChangePerSecond * (now - this.#updatedAt)) / 1000;
    const step = Math.max(-maxStep, Math.min(maxStep, clamped - this.#current));
    this.#updatedAt = now;
    // Whole milliseconds: each distinct duration has its own deadline lane.
    this.#current = Math.min(o.maxMs, Math.max(o.minMs, Math.round(this.#current + step)));
  }
}
