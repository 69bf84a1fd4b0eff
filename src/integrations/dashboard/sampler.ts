import type { Clock, Disposer } from '../../extend.js';
import type { PolicyEvent, PolicyKind } from '../../metrics/events.js';
import { RollingHistogram } from '../../metrics/histogram.js';
import type { SnapshotBase } from '../../metrics/observable.js';
import type { PolicyRegistry } from '../../metrics/registry.js';
import { RollingCounts } from './rolling-counts.js';

/** What a page receives every `intervalMs`: one entry per registered policy, in registry order. */
export interface DashboardFrame {
  /** Version of this shape. */
  readonly v: 1;
  readonly title: string;
  readonly intervalMs: number;
  readonly windowMs: number;
  readonly policies: readonly PolicyFrame[];
}

export interface PolicyFrame {
  readonly name: string;
  readonly kind: PolicyKind;
  /** The policy's own `snapshot()`, as is (NaN becomes null in JSON). */
  readonly snapshot: SnapshotBase;
  /** Event counts over the rolling window. */
  readonly window: WindowCounts;
  /** Executions per second over the window (successes, failures and ignored ones). */
  readonly ratePerSec: number;
  /** Failures / (successes + failures) over the window, in percent; null without any. */
  readonly errorPct: number | null;
  /** Durations of executions over the window, ms; null when none ended. */
  readonly latency: LatencyFrame | null;
}

export interface WindowCounts {
  /** Milliseconds the counts cover (the window, or less since the dashboard started sampling). */
  readonly coveredMs: number;
  readonly success: number;
  readonly failure: number;
  readonly ignored: number;
  readonly rejected: number;
  readonly timeouts: number;
  readonly retries: number;
  readonly fallbacks: number;
}

export interface LatencyFrame {
  readonly count: number;
  readonly p50: number;
  readonly p90: number;
  readonly p99: number;
  readonly p999: number;
  readonly max: number;
  readonly mean: number;
}

const SUCCESS = 0;
const FAILURE = 1;
const IGNORED = 2;
const REJECTED = 3;
const TIMEOUT = 4;
const RETRY = 5;
const FALLBACK = 6;
const FIELDS = 7;
// Rates move in 1 s steps with the default 10 s window; latency slots are coarser because each is an
// 8 KiB histogram (6 per policy while a page is open).
const COUNT_SLOTS = 10;
const LATENCY_SLOTS = 5;
const PERCENTILES: readonly number[] = [50, 90, 99, 99.9];

interface PolicyStats {
  readonly kind: PolicyKind;
  readonly counts: RollingCounts;
  readonly latency: RollingHistogram;
}

/**
 * Rolling counts and latency of every policy in a registry, fed by its events only between start() and
 * stop(): the registry, and through it each policy, measures nothing while no page is open.
 */
export class Sampler {
  readonly #registry: PolicyRegistry;
  readonly #clock: Clock;
  readonly #windowMs: number;
  readonly #stats = new Map<string, PolicyStats>();
  #stop: Disposer | undefined = undefined;
  readonly #totals: number[] = [];
  readonly #percentiles: number[] = [];

  constructor(registry: PolicyRegistry, clock: Clock, windowMs: number) {
    this.#registry = registry;
    this.#clock = clock;
    this.#windowMs = windowMs;
  }

  get running(): boolean {
    return this.#stop !== undefined;
  }

  start(): void {
    if (this.#stop === undefined) this.#stop = this.#registry.onEvent(this.#onEvent);
  }

  /** Unsubscribes and forgets every window (their memory goes with them). */
  stop(): void {
    this.#stop?.();
    this.#stop = undefined;
    this.#stats.clear();
  }

  #statsOf(policy: string, kind: PolicyKind): PolicyStats {
    let stats = this.#stats.get(policy);
    if (stats === undefined || stats.kind !== kind) {
      const clock = this.#clock;
      stats = {
        kind,
        counts: new RollingCounts(FIELDS, this.#windowMs, COUNT_SLOTS, clock),
        latency: new RollingHistogram({ windowMs: this.#windowMs, buckets: LATENCY_SLOTS, clock }),
      };
      this.#stats.set(policy, stats);
    }
    return stats;
  }

  readonly #onEvent = (event: PolicyEvent): void => {
    let field: number;
    switch (event.type) {
      case 'call':
        field = event.outcome === 'success' ? SUCCESS : event.outcome === 'failure' ? FAILURE : IGNORED;
        break;
      case 'reject':
        field = REJECTED;
        break;
      case 'timeout':
        field = TIMEOUT;
        break;
      case 'retry':
        field = RETRY;
        break;
      case 'fallback':
        field = FALLBACK;
        break;
      default:
        return;
    }
    const stats = this.#statsOf(event.policy, event.kind);
    const now = this.#clock.now();
    stats.counts.add(field, now);
    if (event.type === 'call') stats.latency.record(event.durationMs, now);
  };

  frame(title: string, intervalMs: number): DashboardFrame {
    const now = this.#clock.now();
    const policies: PolicyFrame[] = [];
    const seen = new Set<string>();
    for (const policy of this.#registry.policies) {
      seen.add(policy.name);
      const stats = this.#statsOf(policy.name, policy.kind);
      const t = stats.counts.totals(now, this.#totals);
      const coveredMs = stats.counts.coveredMs(now);
      const calls = t[SUCCESS]! + t[FAILURE]! + t[IGNORED]!;
      const judged = t[SUCCESS]! + t[FAILURE]!;
      let latency: LatencyFrame | null = null;
      const merged = stats.latency.merged();
      if (merged.count > 0) {
        const [p50, p90, p99, p999] = merged.percentiles(PERCENTILES, this.#percentiles);
        latency = {
          count: merged.count,
          p50: p50!,
          p90: p90!,
          p99: p99!,
          p999: p999!,
          max: merged.max,
          mean: merged.mean,
        };
      }
      policies.push({
        name: policy.name,
        kind: policy.kind,
        snapshot: policy.snapshot(),
        window: {
          coveredMs,
          success: t[SUCCESS]!,
          failure: t[FAILURE]!,
          ignored: t[IGNORED]!,
          rejected: t[REJECTED]!,
          timeouts: t[TIMEOUT]!,
          retries: t[RETRY]!,
          fallbacks: t[FALLBACK]!,
        },
        ratePerSec: coveredMs > 0 ? (calls * 1000) / coveredMs : 0,
        errorPct: judged > 0 ? (t[FAILURE]! * 100) / judged : null,
        latency,
      });
    }
    // Policies removed from the registry take their windows with them.
    for (const name of this.#stats.keys()) if (!seen.has(name)) this.#stats.delete(name);
    // A frame asked for while no page is open keeps no windows: nothing would feed them.
    if (this.#stop === undefined) this.#stats.clear();
    return { v: 1, title, intervalMs, windowMs: this.#windowMs, policies };
  }
}
