import type {
  Attributes,
  BatchObservableCallback,
  BatchObservableResult,
  Histogram,
  Meter,
  Observable,
} from '@opentelemetry/api';
import { EventTotals } from '../../metrics/event-totals.js';
import type { PolicyEvent, PolicyKind } from '../../metrics/events.js';
import type { Observable as Policy } from '../../metrics/observable.js';
import type { PolicyRegistry } from '../../metrics/registry.js';
import {
  CIRCUIT_STATES,
  checkRegistry,
  isBulkheadSnapshot,
  isCircuitSnapshot,
  isSloSnapshot,
} from '../exporter-support.js';
import { checkMeter, type OpenTelemetryOptions, resolveOpenTelemetryOptions } from './options.js';

export type { OpenTelemetryOptions, ResolvedOpenTelemetryOptions } from './options.js';

/** Attribute keys, in the `resilience.*` namespace. */
export const ATTR_POLICY_NAME = 'resilience.policy.name';
export const ATTR_SLO_OBJECTIVE = 'resilience.slo.objective';
export const ATTR_SLO_ALERT = 'resilience.slo.alert';
export const ATTR_SLO_SEVERITY = 'resilience.slo.alert.severity';
export const ATTR_SLO_WINDOW = 'resilience.slo.window';
export const ATTR_POLICY_KIND = 'resilience.policy.kind';
export const ATTR_CALL_OUTCOME = 'resilience.call.outcome';
export const ATTR_REJECTION_REASON = 'resilience.rejection.reason';
export const ATTR_GIVE_UP_REASON = 'resilience.retry.give_up.reason';
export const ATTR_CIRCUIT_STATE = 'resilience.circuit_breaker.state';
export const ATTR_CIRCUIT_PREVIOUS_STATE = 'resilience.circuit_breaker.previous_state';
export const ATTR_EVENT_TYPE = 'resilience.event.type';
export const ATTR_BULKHEAD_CALL_STATE = 'resilience.bulkhead.call.state';

export interface OpenTelemetryExporter {
  /** Names of the instruments created on the meter. */
  readonly instrumentNames: readonly string[];
  /**
   * Stops recording and observing. The instruments stay on the meter (the API cannot delete them) but
   * report nothing new; the observable ones stop reporting at all.
   */
  close(): void;
}

/**
 * Creates breakwater's instruments on an OpenTelemetry meter: duration histograms recorded from the
 * events of every policy in `registry`, counters of rejections, retries, timeouts and transitions, and
 * gauges of circuit states and bulkhead usage read from snapshots at each collection. A policy removed
 * from the registry is no longer observed. Attributes are bounded (policy names, kinds, outcomes,
 * reasons, states), never a call's key.
 *
 * ```ts
 * import { metrics } from '@opentelemetry/api';
 * const exporter = registerOpenTelemetry(registry, metrics.getMeter('checkout'));
 * ```
 */
export function registerOpenTelemetry(
  registry: PolicyRegistry,
  meter: Meter,
  options?: OpenTelemetryOptions,
): OpenTelemetryExporter {
  return new Exporter(checkRegistry('opentelemetry.registry', registry), checkMeter(meter), options);
}

/** Attribute sets built once per policy; the SDK keeps or hashes them, no record allocates one. */
interface PolicyAttributes {
  readonly base: Attributes;
  readonly success: Attributes;
  readonly failure: Attributes;
  readonly ignored: Attributes;
  /** Whether `durationKinds` includes the policy's kind. */
  readonly durations: boolean;
}

class Exporter implements OpenTelemetryExporter {
  readonly instrumentNames: readonly string[];
  readonly #totals: EventTotals<PolicyAttributes>;
  readonly #duration: Histogram;
  readonly #queueWait: Histogram;
  readonly #meter: Meter;
  readonly #observables: Observable[];
  readonly #observe: BatchObservableCallback;
  readonly #stop: () => void;
  readonly #stopRemovals: () => void;
  #closed = false;

  constructor(registry: PolicyRegistry, meter: Meter, options: OpenTelemetryOptions | undefined) {
    const o = resolveOpenTelemetryOptions(options);
    this.#meter = meter;
    const kinds = o.durationKinds;
    this.#totals = new EventTotals<PolicyAttributes>((policy: string, kind: PolicyKind) => {
      const base = { [ATTR_POLICY_NAME]: policy, [ATTR_POLICY_KIND]: kind };
      return {
        base,
        success: { ...base, [ATTR_CALL_OUTCOME]: 'success' },
        failure: { ...base, [ATTR_CALL_OUTCOME]: 'failure' },
        ignored: { ...base, [ATTR_CALL_OUTCOME]: 'ignored' },
        durations: kinds === undefined || kinds.has(kind),
      };
    });
    const names: string[] = [];
    const named = <T>(name: string, create: (name: string) => T): T => {
      names.push(name);
      return create(name);
    };

    this.#duration = named('resilience.call.duration', (n) =>
      meter.createHistogram(n, {
        description: 'Duration of executions through a resilience policy, from entering it to the outcome.',
        unit: 's',
        advice: { explicitBucketBoundaries: [...o.durationBuckets] },
      }),
    );
    this.#queueWait = named('resilience.bulkhead.queue.wait.duration', (n) =>
      meter.createHistogram(n, {
        description: 'Time queued calls waited for a bulkhead slot (calls that got one).',
        unit: 's',
        advice: { explicitBucketBoundaries: [...o.queueWaitBuckets] },
      }),
    );
    const counter = (name: string, unit: string, description: string) =>
      named(name, (n) => meter.createObservableCounter(n, { unit, description }));
    const gauge = (name: string, unit: string, description: string) =>
      named(name, (n) => meter.createObservableGauge(n, { unit, description }));
    const upDown = (name: string, unit: string, description: string) =>
      named(name, (n) => meter.createObservableUpDownCounter(n, { unit, description }));

    const rejections = counter(
      'resilience.rejections',
      '{call}',
      'Calls a policy refused without running them.',
    );
    const retries = counter('resilience.retries', '{retry}', 'Retries scheduled (attempts after the first).');
    const giveUps = counter(
      'resilience.retry.give_ups',
      '{call}',
      'Executions a retry policy stopped retrying while still failing.',
    );
    const timeouts = counter(
      'resilience.timeouts',
      '{timeout}',
      'Deadlines that passed before the work ended.',
    );
    const fallbacks = counter('resilience.fallbacks', '{call}', 'Failures replaced by a fallback value.');
    const transitions = counter(
      'resilience.circuit_breaker.transitions',
      '{transition}',
      'Circuit breaker state changes.',
    );
    const events = counter('resilience.events', '{event}', 'Every policy event, by type.');
    const state = gauge(
      'resilience.circuit_breaker.state',
      '1',
      'Circuit breaker state: 1 for the current state, 0 for the others.',
    );
    const failureRatio = gauge(
      'resilience.circuit_breaker.failure_ratio',
      '1',
      "Failed calls / calls in the breaker's window (0 when empty).",
    );
    const slowRatio = gauge(
      'resilience.circuit_breaker.slow_call_ratio',
      '1',
      "Slow calls / calls in the breaker's window (0 when empty).",
    );
    const windowCalls = gauge(
      'resilience.circuit_breaker.window.calls',
      '{call}',
      "Calls in the breaker's window.",
    );
    const activeCalls = upDown(
      'resilience.circuit_breaker.active_calls',
      '{call}',
      'Calls running through the breaker.',
    );
    const bulkheadCalls = upDown(
      'resilience.bulkhead.calls',
      '{call}',
      'Calls holding a bulkhead slot (state inflight) or waiting for one (state queued).',
    );
    const bulkheadLimit = upDown('resilience.bulkhead.limit', '{call}', 'Concurrency limit of the bulkhead.');
    const queueLimit = upDown(
      'resilience.bulkhead.queue.limit',
      '{call}',
      'Calls the bulkhead queue can hold.',
    );
    const sloBudget = gauge(
      'resilience.slo.error_budget.remaining',
      '1',
      'Share of the error budget left over the SLO window (1 untouched, 0 spent, below 0 overspent).',
    );
    const sloCompliance = gauge(
      'resilience.slo.compliance',
      '1',
      'Good events / events over the SLO window.',
    );
    const sloBurn = gauge(
      'resilience.slo.burn_rate',
      '1',
      "How many times faster than allowed the error budget burns, over an alert's long or short window.",
    );
    const sloAlert = gauge('resilience.slo.alert.active', '1', 'Burn-rate alert firing (1) or not (0).');
    this.instrumentNames = Object.freeze(names);
    this.#observables = [
      sloBudget,
      sloCompliance,
      sloBurn,
      sloAlert,
      rejections,
      retries,
      giveUps,
      timeouts,
      fallbacks,
      transitions,
      events,
      state,
      failureRatio,
      slowRatio,
      windowCalls,
      activeCalls,
      bulkheadCalls,
      bulkheadLimit,
      queueLimit,
    ];

    const totals = this.#totals;
    const number = (result: BatchObservableResult, o: Observable, value: unknown, attributes: Attributes) => {
      // A third-party snapshot missing a figure skips that point instead of failing the collection.
      if (typeof value === 'number') result.observe(o, value, attributes);
    };
    // One callback for every observable: each snapshot is taken once per collection.
    this.#observe = (result) => {
      const policies = registry.policies;
      // Zero points for registered policies, so a rate sees their first event as an increase.
      for (const policy of policies) totals.of(policy.name, policy.kind);
      for (const t of totals) {
        const base = t.extra.base;
        for (const [reason, n] of t.rejections) {
          result.observe(rejections, n, { ...base, [ATTR_REJECTION_REASON]: reason });
        }
        if (t.kind === 'retry') result.observe(retries, t.retries, base);
        for (const [reason, n] of t.giveUps)
          result.observe(giveUps, n, { ...base, [ATTR_GIVE_UP_REASON]: reason });
        if (t.kind === 'timeout' || t.kind === 'adaptiveTimeout' || t.timeouts > 0)
          result.observe(timeouts, t.timeouts, base);
        if (t.kind === 'fallback') result.observe(fallbacks, t.fallbacks, base);
        for (const tr of t.transitions.values()) {
          result.observe(transitions, tr.count, {
            ...base,
            [ATTR_CIRCUIT_PREVIOUS_STATE]: tr.from,
            [ATTR_CIRCUIT_STATE]: tr.to,
          });
        }
        for (const [type, n] of t.events) result.observe(events, n, { ...base, [ATTR_EVENT_TYPE]: type });
      }
      for (const policy of policies) {
        const s = policy.snapshot();
        const base = totals.of(policy.name, policy.kind).extra.base;
        if (isCircuitSnapshot(s)) {
          for (const name of CIRCUIT_STATES) {
            result.observe(state, s.state === name ? 1 : 0, { ...base, [ATTR_CIRCUIT_STATE]: name });
          }
          number(result, failureRatio, s.failureRate, base);
          number(result, slowRatio, s.slowCallRate, base);
          number(result, windowCalls, s.calls, base);
          number(result, activeCalls, s.inflight, base);
        } else if (isBulkheadSnapshot(s)) {
          number(result, bulkheadCalls, s.inflight, { ...base, [ATTR_BULKHEAD_CALL_STATE]: 'inflight' });
          number(result, bulkheadCalls, s.queueSize, { ...base, [ATTR_BULKHEAD_CALL_STATE]: 'queued' });
          number(result, bulkheadLimit, s.limit, base);
          number(result, queueLimit, s.queueCapacity, base);
        } else if (isSloSnapshot(s)) {
          for (const o of s.objectives) {
            const ob = { ...base, [ATTR_SLO_OBJECTIVE]: o.objective };
            number(result, sloBudget, o.budgetRemaining, ob);
            number(result, sloCompliance, o.compliance, ob);
            for (const a of o.alerts) {
              const ab = { ...ob, [ATTR_SLO_ALERT]: a.name };
              number(result, sloBurn, a.longBurnRate, { ...ab, [ATTR_SLO_WINDOW]: 'long' });
              number(result, sloBurn, a.shortBurnRate, { ...ab, [ATTR_SLO_WINDOW]: 'short' });
              number(result, sloAlert, a.firing ? 1 : 0, { ...ab, [ATTR_SLO_SEVERITY]: a.severity });
            }
          }
        }
      }
    };
    meter.addBatchObservableCallback(this.#observe, this.#observables);
    this.#stop = registry.onEvent(this.#onEvent);
    this.#stopRemovals = registry.onRemove(this.#onRemove);
  }

  // The callback observes only what is left, so a removed policy's observable points stop. The
  // histograms' attribute sets cannot be dropped through the API: the SDK keeps them under cumulative
  // temporality (see docs/opentelemetry.md).
  readonly #onRemove = (policy: Policy): void => {
    this.#totals.delete(policy.name);
  };

  // Per event: two map lookups and an increment; only durations are recorded synchronously.
  readonly #onEvent = (event: PolicyEvent): void => {
    const t = this.#totals.record(event);
    if (event.type === 'call') {
      if (t.extra.durations) this.#duration.record(event.durationMs / 1000, t.extra[event.outcome]);
    } else if (event.type === 'queue-wait') this.#queueWait.record(event.waitedMs / 1000, t.extra.base);
  };

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#stop();
    this.#stopRemovals();
    this.#meter.removeBatchObservableCallback(this.#observe, this.#observables);
  }
}
