import { SUCCESS } from '../core/classify.js';
import type { Clock } from '../core/clock.js';
import type { Scope } from '../core/context.js';
import type { Subscribe } from '../core/events.js';
import { Fail } from '../core/outcome.js';
import { Executor, type Policy, STAGES } from '../core/policy.js';
import type { Gate, Result, Stage } from '../core/stage.js';
import { EventStream, outcomeOf, resultOutcome } from '../metrics/event-stream.js';
import type { PolicySloEvent, SloEvent } from '../metrics/events.js';
import type { Observable, SnapshotBase } from '../metrics/observable.js';
import {
  type ResolvedAlert,
  type ResolvedSloOptions,
  resolveSloOptions,
  type SloOptions,
} from './options.js';
import { EventSeries } from './series.js';

export type { BurnRateAlert, SloOptions } from './options.js';
export { DEFAULT_ALERTS } from './options.js';

export interface AlertState {
  readonly name: string;
  readonly severity: 'page' | 'ticket';
  readonly burnRate: number;
  readonly longWindowMs: number;
  readonly shortWindowMs: number;
  /** Burn rates measured over the long and short windows (how many times faster than allowed). */
  readonly longBurnRate: number;
  readonly shortBurnRate: number;
  readonly firing: boolean;
}

export interface ObjectiveState {
  readonly objective: 'availability' | 'latency';
  /** Fraction of good events required. */
  readonly target: number;
  /** Over the SLO window. */
  readonly total: number;
  readonly bad: number;
  /** good / total over the window (1 when nothing was recorded). */
  readonly compliance: number;
  /** Share of the error budget left: 1 = untouched, 0 = spent, negative = overspent. */
  readonly budgetRemaining: number;
  readonly alerts: readonly AlertState[];
}

export interface SloSnapshot extends SnapshotBase {
  readonly kind: 'slo';
  readonly windowMs: number;
  readonly objectives: readonly ObjectiveState[];
}

export interface SloPolicy<R = unknown> extends Policy<R>, Observable {
  readonly kind: 'slo';
  readonly name: string;
  readonly options: ResolvedSloOptions;
  snapshot(): SloSnapshot;
  /** Records one event by hand (for integrations that see requests, not promises). */
  record(outcome: 'success' | 'failure' | 'ignored', durationMs: number, now?: number): void;
  /** Every event of the policy: `call` and `slo`. */
  readonly onEvent: Subscribe<SloEvent>;
  /** A burn-rate alert condition started or ended: the `slo` events. */
  readonly onAlert: Subscribe<PolicySloEvent>;
}

/**
 * Tracks a service-level objective over the calls that pass through it: availability (share of
 * successful calls) and/or latency (share of successful calls faster than a threshold), the error budget
 * left over the window, and multiwindow burn-rate alerts (SRE workbook). Put it outermost, so it sees
 * what the caller sees.
 */
export function slo<R = unknown>(options: SloOptions<R>): SloPolicy<R> {
  return new Slo<R>(resolveSloOptions(options));
}

class Objective {
  readonly fine: EventSeries;
  readonly coarse: EventSeries;
  readonly firing: boolean[];

  constructor(
    readonly name: 'availability' | 'latency',
    readonly target: number,
    readonly options: ResolvedSloOptions,
  ) {
    const longest = Math.max(options.resolutionMs, ...options.alerts.map((a) => a.longWindowMs));
    this.fine = new EventSeries(longest, options.resolutionMs);
    // The budget window in at most 720 buckets (an hour each for 30 days), never finer than the record.
    this.coarse = new EventSeries(options.windowMs, Math.max(options.resolutionMs, options.windowMs / 720));
    this.firing = options.alerts.map(() => false);
  }

  burn(windowMs: number): number {
    const { total, bad } = this.fine.sum(windowMs);
    return total === 0 ? 0 : bad / total / (1 - this.target);
  }

  state(): ObjectiveState {
    const { total, bad } = this.coarse.sum(this.options.windowMs);
    const allowed = (1 - this.target) * total;
    return {
      objective: this.name,
      target: this.target,
      total,
      bad,
      compliance: total === 0 ? 1 : (total - bad) / total,
      budgetRemaining: total === 0 ? 1 : 1 - bad / allowed,
      alerts: this.options.alerts.map((a, i) =>
        alertState(a, this.burn(a.longWindowMs), this.burn(a.shortWindowMs), this.firing[i]!),
      ),
    };
  }
}

function alertState(
  a: ResolvedAlert,
  longBurnRate: number,
  shortBurnRate: number,
  firing: boolean,
): AlertState {
  return {
    name: a.name,
    severity: a.severity,
    burnRate: a.burnRate,
    longWindowMs: a.longWindowMs,
    shortWindowMs: a.shortWindowMs,
    longBurnRate,
    shortBurnRate,
    firing,
  };
}

class Slo<R> extends Executor<R> implements SloPolicy<R>, Gate<number> {
  readonly stage = 'gate';
  readonly kind = 'slo';
  readonly name: string;
  readonly options: ResolvedSloOptions;
  readonly [STAGES]: readonly Stage[] = [this];
  readonly #clock: Clock;
  readonly #availability: Objective | null;
  readonly #latency: Objective | null;
  readonly #events: EventStream<SloEvent>;
  readonly onEvent: Subscribe<SloEvent>;
  readonly onAlert: Subscribe<PolicySloEvent>;

  constructor(options: ResolvedSloOptions) {
    super();
    this.name = options.name;
    this.options = options;
    this.#clock = options.clock;
    this.#availability =
      options.availability === undefined
        ? null
        : new Objective('availability', options.availability, options);
    this.#latency =
      options.latency === undefined ? null : new Objective('latency', options.latency.target, options);
    const events = new EventStream<SloEvent>('slo', options.name, ['call', 'slo']);
    this.#events = events;
    this.onEvent = events.onEvent;
    this.onAlert = events.on('slo');
  }

  enter(): number {
    return this.#clock.now();
  }

  exit(scope: Scope, token: number, result: Result): Result {
    const now = this.#clock.now();
    const durationMs = now - token;
    const c = this.options.classifier;
    const verdict = result instanceof Fail || c.checksResults ? c.verdict(result, scope) : SUCCESS;
    const outcome = outcomeOf(verdict);
    this.record(outcome, durationMs, now);
    if (this.#events.wants('call')) this.#events.call(resultOutcome(result, scope), durationMs, outcome);
    return result;
  }

  /**
   * Records one event by hand (for integrations that see requests, not promises). Ignored events count
   * for nothing; failures count against availability; successes count for latency.
   */
  record(outcome: 'success' | 'failure' | 'ignored', durationMs: number, now = this.#clock.now()): void {
    if (outcome === 'ignored') return;
    const a = this.#availability;
    const l = this.#latency;
    let rotated = false;
    if (a !== null) {
      rotated = a.fine.advance(now) || rotated;
      a.fine.record(outcome === 'failure', now);
      a.coarse.record(outcome === 'failure', now);
    }
    if (l !== null && outcome === 'success') {
      rotated = l.fine.advance(now) || rotated;
      const slow = durationMs > this.options.latency!.thresholdMs;
      l.fine.record(slow, now);
      l.coarse.record(slow, now);
    }
    // Alerts are judged once per bucket of the record (and on snapshots): sums span many buckets.
    if (rotated) this.#evaluate(now);
  }

  #evaluate(now: number): void {
    for (const o of [this.#availability, this.#latency]) {
      if (o === null) continue;
      o.fine.advance(now);
      o.coarse.advance(now);
      this.options.alerts.forEach((alert, i) => {
        const long = o.burn(alert.longWindowMs);
        const short = o.burn(alert.shortWindowMs);
        const firing = long >= alert.burnRate && short >= alert.burnRate;
        if (firing === o.firing[i]) return;
        o.firing[i] = firing;
        if (this.#events.wants('slo')) {
          this.#events.emit({
            type: 'slo',
            policy: this.name,
            kind: this.kind,
            objective: o.name,
            rule: alert.name,
            severity: alert.severity,
            state: firing ? 'start' : 'end',
            longBurnRate: long,
            shortBurnRate: short,
          });
        }
      });
    }
  }

  snapshot(): SloSnapshot {
    this.#evaluate(this.#clock.now());
    const objectives: ObjectiveState[] = [];
    if (this.#availability !== null) objectives.push(this.#availability.state());
    if (this.#latency !== null) objectives.push(this.#latency.state());
    return { kind: this.kind, name: this.name, windowMs: this.options.windowMs, objectives };
  }
}
