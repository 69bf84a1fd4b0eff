import type { Histogram, LabelValues } from 'prom-client';
import { EventTotals, type PolicyTotals } from '../../metrics/event-totals.js';
import type { PolicyEvent, PolicyKind } from '../../metrics/events.js';
import type { Observable, SnapshotBase } from '../../metrics/observable.js';
import type { PolicyRegistry } from '../../metrics/registry.js';
import {
  CIRCUIT_STATES,
  checkRegistry,
  isBulkheadSnapshot,
  isCircuitSnapshot,
  isSloSnapshot,
} from '../exporter-support.js';
import { type PrometheusOptions, resolvePrometheusOptions } from './options.js';

export type { PromClient, PrometheusOptions, PromRegistry, ResolvedPrometheusOptions } from './options.js';

export interface PrometheusExporter {
  /** Names of the metrics registered on the prom-client registry, prefix included. */
  readonly metricNames: readonly string[];
  /** Stops counting and removes every metric it registered from the prom-client registry. */
  close(): void;
}

/**
 * Registers breakwater's metrics on a prom-client registry: counters and histograms fed by the events of
 * every policy in `registry`, and gauges read from their snapshots at scrape time. A policy removed from
 * the registry takes its series with it. Labels are bounded: policy names, kinds, outcomes, reasons and
 * states, never a call's key.
 *
 * ```ts
 * import * as client from 'prom-client';
 * const exporter = registerPrometheus(registry, client); // or { register: myRegistry }
 * ```
 */
export function registerPrometheus(
  registry: PolicyRegistry,
  client: unknown,
  options?: PrometheusOptions,
): PrometheusExporter {
  return new Exporter(checkRegistry('prometheus.registry', registry), client, options);
}

type CallLabel = 'policy' | 'kind' | 'outcome';

type Outcome = 'success' | 'failure' | 'ignored';

/**
 * Label sets and histogram children built once per policy: prom-client keeps the label objects, and no
 * event allocates one.
 */
interface Labels {
  readonly success: LabelValues<CallLabel>;
  readonly failure: LabelValues<CallLabel>;
  readonly ignored: LabelValues<CallLabel>;
  readonly policy: LabelValues<'policy'>;
  /** Duration histogram children by outcome; undefined for kinds left out by `durationKinds`. */
  readonly durations: Readonly<Record<Outcome, Histogram.Internal<CallLabel>>> | undefined;
  readonly queueWait: Histogram.Internal<'policy'>;
}

class Exporter implements PrometheusExporter {
  readonly #registry: PolicyRegistry;
  readonly #totals: EventTotals<Labels>;
  readonly #duration: Histogram<CallLabel>;
  readonly #queueWait: Histogram<'policy'>;
  // Kept as registered: in OpenMetrics mode prom-client renames counters in place.
  readonly #names: string[] = [];
  readonly #unregister: (name: string) => void;
  readonly #stop: () => void;
  readonly #stopRemovals: () => void;
  // Snapshots taken by the first gauge collected in a scrape and reused by the others: prom-client
  // collects every metric in one synchronous pass, so the memo is dropped at the next microtask.
  #snapshots: SnapshotBase[] | undefined = undefined;
  #closed = false;

  constructor(registry: PolicyRegistry, client: unknown, options: PrometheusOptions | undefined) {
    const o = resolvePrometheusOptions(client, options);
    this.#registry = registry;
    const { Counter: CounterClass, Gauge: GaugeClass, Histogram: HistogramClass } = o.client;
    const registers = [o.register];
    this.#unregister = (name) => o.register.removeSingleMetric(name);
    const p = o.prefix;
    // A name already taken on the registry makes prom-client throw: remove what was registered so far.
    try {
      const duration: Histogram<CallLabel> = new HistogramClass<CallLabel>({
        name: `${p}call_duration_seconds`,
        help: 'Duration of executions through a policy, from entering it to the outcome.',
        labelNames: ['policy', 'kind', 'outcome'],
        buckets: [...o.durationBuckets],
        registers,
      });
      this.#names.push(`${p}call_duration_seconds`);
      this.#duration = duration;
      const queueWait: Histogram<'policy'> = new HistogramClass<'policy'>({
        name: `${p}bulkhead_queue_wait_seconds`,
        help: 'Time queued calls waited for a bulkhead slot (calls that got one).',
        labelNames: ['policy'],
        buckets: [...o.queueWaitBuckets],
        registers,
      });
      this.#names.push(`${p}bulkhead_queue_wait_seconds`);
      this.#queueWait = queueWait;
      const kinds = o.durationKinds;
      const totals = new EventTotals<Labels>((policy: string, kind: PolicyKind) => {
        const success = { policy, kind, outcome: 'success' };
        const failure = { policy, kind, outcome: 'failure' };
        const ignored = { policy, kind, outcome: 'ignored' };
        const durations =
          kinds === undefined || kinds.has(kind)
            ? {
                success: duration.labels(success),
                failure: duration.labels(failure),
                ignored: duration.labels(ignored),
              }
            : undefined;
        return {
          success,
          failure,
          ignored,
          policy: { policy },
          durations,
          queueWait: queueWait.labels({ policy }),
        };
      });
      this.#totals = totals;
      const withRegistered = () => {
        // Zero series for every registered policy, so rate() sees the first call as an increase.
        for (const policy of registry.policies) totals.of(policy.name, policy.kind);
        return totals;
      };

      const counter = <L extends string>(
        name: string,
        help: string,
        labelNames: readonly L[],
        fill: (inc: (labels: LabelValues<L>, value: number) => void, t: PolicyTotals<Labels>) => void,
      ): void => {
        new CounterClass<L>({
          name: p + name,
          help,
          labelNames,
          registers,
          collect() {
            this.reset();
            const inc = (labels: LabelValues<L>, value: number) => this.inc(labels, value);
            for (const t of withRegistered()) fill(inc, t);
          },
        });
        this.#names.push(p + name);
      };

      const gauge = <L extends string>(
        name: string,
        help: string,
        labelNames: readonly L[],
        fill: (set: (labels: LabelValues<L>, value: number) => void, s: SnapshotBase) => void,
      ): void => {
        const snapshots = () => this.#scrapeSnapshots();
        new GaugeClass<L>({
          name: p + name,
          help,
          labelNames,
          registers,
          collect() {
            this.reset();
            // A snapshot missing a figure (a third-party policy) skips that series instead of failing the scrape.
            const set = (labels: LabelValues<L>, value: number) => {
              if (typeof value === 'number') this.set(labels, value);
            };
            for (const s of snapshots()) fill(set, s);
          },
        });
        this.#names.push(p + name);
      };

      counter(
        'calls_total',
        'Executions through a policy, by outcome.',
        ['policy', 'kind', 'outcome'],
        (inc, t) => {
          inc(t.extra.success, t.success);
          inc(t.extra.failure, t.failure);
          inc(t.extra.ignored, t.ignored);
        },
      );
      counter(
        'rejections_total',
        'Calls a policy refused without running them, by reason.',
        ['policy', 'kind', 'reason'],
        (inc, t) => {
          for (const [reason, n] of t.rejections) inc({ policy: t.policy, kind: t.kind, reason }, n);
        },
      );
      counter('retries_total', 'Retries scheduled (attempts after the first).', ['policy'], (inc, t) => {
        if (t.kind === 'retry') inc(t.extra.policy, t.retries);
      });
      counter(
        'retry_give_ups_total',
        'Executions a retry policy stopped retrying while still failing, by reason.',
        ['policy', 'reason'],
        (inc, t) => {
          for (const [reason, n] of t.giveUps) inc({ policy: t.policy, reason }, n);
        },
      );
      counter(
        'timeouts_total',
        'Deadlines that passed before the work ended.',
        ['policy', 'kind'],
        (inc, t) => {
          if (t.kind === 'timeout' || t.kind === 'adaptiveTimeout' || t.timeouts > 0)
            inc({ policy: t.policy, kind: t.kind }, t.timeouts);
        },
      );
      counter('fallbacks_total', 'Failures replaced by a fallback value.', ['policy'], (inc, t) => {
        if (t.kind === 'fallback') inc(t.extra.policy, t.fallbacks);
      });
      counter(
        'circuit_transitions_total',
        'Circuit breaker state changes.',
        ['policy', 'from', 'to'],
        (inc, t) => {
          for (const tr of t.transitions.values())
            inc({ policy: t.policy, from: tr.from, to: tr.to }, tr.count);
        },
      );
      counter(
        'events_total',
        'Every policy event, by type (hedge, batch, hit, miss, fault, ... included).',
        ['policy', 'kind', 'event'],
        (inc, t) => {
          for (const [event, n] of t.events) inc({ policy: t.policy, kind: t.kind, event }, n);
        },
      );

      gauge(
        'circuit_state',
        'Circuit breaker state: 1 for the current state, 0 for the others.',
        ['policy', 'state'],
        (set, s) => {
          if (!isCircuitSnapshot(s)) return;
          for (const state of CIRCUIT_STATES) set({ policy: s.name, state }, s.state === state ? 1 : 0);
        },
      );
      gauge(
        'circuit_failure_ratio',
        "Failed calls / calls in the breaker's window (0 when empty).",
        ['policy'],
        (set, s) => {
          if (isCircuitSnapshot(s)) set({ policy: s.name }, s.failureRate);
        },
      );
      gauge(
        'circuit_slow_call_ratio',
        "Slow calls / calls in the breaker's window (0 when empty).",
        ['policy'],
        (set, s) => {
          if (isCircuitSnapshot(s)) set({ policy: s.name }, s.slowCallRate);
        },
      );
      gauge('circuit_window_calls', "Calls in the breaker's window.", ['policy'], (set, s) => {
        if (isCircuitSnapshot(s)) set({ policy: s.name }, s.calls);
      });
      gauge('circuit_inflight', 'Calls running through the breaker.', ['policy'], (set, s) => {
        if (isCircuitSnapshot(s)) set({ policy: s.name }, s.inflight);
      });
      gauge(
        'bulkhead_inflight',
        'Calls holding a bulkhead slot (abandoned ones included).',
        ['policy'],
        (set, s) => {
          if (isBulkheadSnapshot(s)) set({ policy: s.name }, s.inflight);
        },
      );
      gauge('bulkhead_queued', 'Calls waiting for a bulkhead slot.', ['policy'], (set, s) => {
        if (isBulkheadSnapshot(s)) set({ policy: s.name }, s.queueSize);
      });
      gauge(
        'bulkhead_limit',
        'Concurrency limit of the bulkhead (moves with adaptive limits).',
        ['policy'],
        (set, s) => {
          if (isBulkheadSnapshot(s)) set({ policy: s.name }, s.limit);
        },
      );
      gauge('bulkhead_queue_capacity', 'Calls the bulkhead queue can hold.', ['policy'], (set, s) => {
        if (isBulkheadSnapshot(s)) set({ policy: s.name }, s.queueCapacity);
      });
      gauge(
        'slo_error_budget_remaining_ratio',
        'Share of the error budget left over the SLO window (1 untouched, 0 spent, below 0 overspent).',
        ['policy', 'objective'],
        (set, s) => {
          if (isSloSnapshot(s))
            for (const o of s.objectives) set({ policy: s.name, objective: o.objective }, o.budgetRemaining);
        },
      );
      gauge(
        'slo_compliance_ratio',
        'Good events / events over the SLO window.',
        ['policy', 'objective'],
        (set, s) => {
          if (isSloSnapshot(s))
            for (const o of s.objectives) set({ policy: s.name, objective: o.objective }, o.compliance);
        },
      );
      gauge(
        'slo_burn_rate',
        "How many times faster than allowed the error budget burns, over an alert's long or short window.",
        ['policy', 'objective', 'alert', 'window'],
        (set, s) => {
          if (!isSloSnapshot(s)) return;
          for (const o of s.objectives) {
            for (const a of o.alerts) {
              set({ policy: s.name, objective: o.objective, alert: a.name, window: 'long' }, a.longBurnRate);
              set(
                { policy: s.name, objective: o.objective, alert: a.name, window: 'short' },
                a.shortBurnRate,
              );
            }
          }
        },
      );
      gauge(
        'slo_alert_firing',
        'Burn-rate alert firing (1) or not (0).',
        ['policy', 'objective', 'alert', 'severity'],
        (set, s) => {
          if (!isSloSnapshot(s)) return;
          for (const o of s.objectives) {
            for (const a of o.alerts) {
              set(
                { policy: s.name, objective: o.objective, alert: a.name, severity: a.severity },
                a.firing ? 1 : 0,
              );
            }
          }
        },
      );
    } catch (error) {
      for (const name of this.#names) this.#unregister(name);
      throw error;
    }
    this.#stop = registry.onEvent(this.#onEvent);
    this.#stopRemovals = registry.onRemove(this.#onRemove);
  }

  get metricNames(): readonly string[] {
    return this.#names;
  }

  // Per event: two map lookups and an increment, plus an observation (which prom-client hashes) for
  // durations and queue waits.
  readonly #onEvent = (event: PolicyEvent): void => {
    const t = this.#totals.record(event);
    if (event.type === 'call') t.extra.durations?.[event.outcome].observe(event.durationMs / 1000);
    else if (event.type === 'queue-wait') t.extra.queueWait.observe(event.waitedMs / 1000);
  };

  // The registry no longer forwards the policy's events, so nothing recreates what is dropped here.
  // Counters and gauges are rebuilt from the totals and snapshots at each scrape; histogram series
  // live in prom-client and go one by one.
  readonly #onRemove = (policy: Observable): void => {
    for (const t of this.#totals.delete(policy.name)) {
      const labels = t.extra;
      if (labels.durations !== undefined) {
        this.#duration.remove(labels.success);
        this.#duration.remove(labels.failure);
        this.#duration.remove(labels.ignored);
      }
      this.#queueWait.remove(labels.policy);
    }
  };

  #scrapeSnapshots(): SnapshotBase[] {
    let snapshots = this.#snapshots;
    if (snapshots === undefined) {
      snapshots = this.#registry.policies.map((policy) => policy.snapshot());
      this.#snapshots = snapshots;
      queueMicrotask(() => {
        this.#snapshots = undefined;
      });
    }
    return snapshots;
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#stop();
    this.#stopRemovals();
    for (const name of this.#names) this.#unregister(name);
  }
}
