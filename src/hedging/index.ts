import { FAILURE, IGNORED, type Verdict } from '../core/classify.js';
import type { TimerHandle } from '../core/clock.js';
import { AbortScope, type Scope } from '../core/context.js';
import type { Subscribe } from '../core/events.js';
import { Fail } from '../core/outcome.js';
import { Executor, type Policy, STAGES } from '../core/policy.js';
import type { Result, Runner, Stage, Wrapper } from '../core/stage.js';
import { EventStream, outcomeOf, resultOutcome } from '../metrics/event-stream.js';
import type { HedgeEvent, PolicyHedgeEvent } from '../metrics/events.js';
import { RollingHistogram } from '../metrics/histogram.js';
import type { Observable, SnapshotBase } from '../metrics/observable.js';
import { type HedgeOptions, type ResolvedHedgeOptions, resolveHedgeOptions } from './options.js';

export type { HedgeOptions } from './options.js';

export interface HedgeSnapshot extends SnapshotBase {
  readonly kind: 'hedge';
  /** The delay a hedge waits now, ms (the warm-up value until enough latencies are known). */
  readonly delayMs: number;
  /** Totals since creation. */
  readonly calls: number;
  readonly hedges: number;
  /** Executions won by a hedge rather than the first attempt. */
  readonly hedgeWins: number;
}

export interface HedgePolicy<R = unknown> extends Policy<R>, Observable {
  readonly kind: 'hedge';
  readonly name: string;
  readonly options: ResolvedHedgeOptions;
  snapshot(): HedgeSnapshot;
  /** Every event of the policy: `call` and `hedge`. */
  readonly onEvent: Subscribe<HedgeEvent>;
  /** A hedged attempt is starting (`attempt` 2 is the first hedge). */
  readonly onHedge: Subscribe<PolicyHedgeEvent>;
}

/** Why a losing attempt is aborted. */
function lostReason(): DOMException {
  return new DOMException('another hedged attempt won', 'AbortError');
}

/**
 * Hedged requests: when an attempt is slow (no result after the delay), start another; the first
 * success wins and the others are aborted through their signals. Put it outside breakers and
 * bulkheads, so every attempt is counted and bounded like a call of its own.
 */
export function hedge<R = unknown>(options?: HedgeOptions<R>): HedgePolicy<R> {
  return new Hedge<R>(resolveHedgeOptions(options));
}

class Hedge<R> extends Executor<R> implements HedgePolicy<R>, Wrapper {
  readonly stage = 'wrapper';
  readonly kind = 'hedge';
  readonly name: string;
  readonly options: ResolvedHedgeOptions;
  readonly [STAGES]: readonly Stage[] = [this];
  readonly #latencies: RollingHistogram | null;
  readonly #events: EventStream<HedgeEvent>;
  readonly onEvent: Subscribe<HedgeEvent>;
  readonly onHedge: Subscribe<PolicyHedgeEvent>;
  #delayMs: number;
  #refreshAt = Number.NEGATIVE_INFINITY;
  #calls = 0;
  #hedges = 0;
  #hedgeWins = 0;

  constructor(options: ResolvedHedgeOptions) {
    super();
    this.name = options.name;
    this.options = options;
    this.#delayMs = options.delayMs;
    this.#latencies =
      options.percentile === undefined
        ? null
        : new RollingHistogram({ windowMs: options.windowMs, clock: options.clock });
    const events = new EventStream<HedgeEvent>('hedge', options.name, ['call', 'hedge']);
    this.#events = events;
    this.onEvent = events.onEvent;
    this.onHedge = events.on('hedge');
  }

  snapshot(): HedgeSnapshot {
    return {
      kind: this.kind,
      name: this.name,
      delayMs: this.#delay(),
      calls: this.#calls,
      hedges: this.#hedges,
      hedgeWins: this.#hedgeWins,
    };
  }

  /** The current hedge delay. A percentile query merges histograms (microseconds), so it is cached for a second. */
  #delay(): number {
    const h = this.#latencies;
    if (h === null) return this.#delayMs;
    const now = this.options.clock.now();
    if (now < this.#refreshAt) return this.#delayMs;
    this.#refreshAt = now + 1_000;
    const { minSamples, minDelayMs, maxDelayMs, delayMs, percentile } = this.options;
    const p = h.count >= minSamples ? h.valueAtPercentile(percentile!) : delayMs;
    this.#delayMs = Math.min(maxDelayMs, Math.max(minDelayMs, p));
    return this.#delayMs;
  }

  wrap(inner: Runner): Runner {
    return (scope) =>
      new Promise((resolve) => {
        this.#calls++;
        new Race(this, scope, inner, resolve).start();
      });
  }

  /** Called by a race; kept on the policy so a race holds no closures of its own. */
  hedged(attempt: number, trigger: 'delay' | 'failure'): void {
    this.#hedges++;
    if (this.#events.wants('hedge')) {
      this.#events.emit({ type: 'hedge', policy: this.name, kind: this.kind, attempt, trigger });
    }
  }

  /** Whether attempts are timed: only a percentile delay needs their latencies. */
  get timesAttempts(): boolean {
    return this.#latencies !== null;
  }

  won(attempt: number, startedAt: number): void {
    if (attempt > 1) this.#hedgeWins++;
    this.#latencies?.record(this.options.clock.now() - startedAt);
  }

  /** The start of an execution, read only when a call event would reach someone. */
  started(): number | undefined {
    return this.#events.wants('call') ? this.options.clock.now() : undefined;
  }

  called(scope: Scope, verdict: Verdict, result: unknown, startedAt: number | undefined): void {
    if (startedAt === undefined || !this.#events.wants('call')) return;
    this.#events.call(resultOutcome(result, scope), this.options.clock.now() - startedAt, outcomeOf(verdict));
  }

  nextDelay(): number {
    return this.#delay();
  }
}

/** One hedged execution: its attempts, the pending delay timer, and who settles first. */
class Race {
  readonly #policy: Hedge<unknown>;
  readonly #scope: Scope;
  readonly #inner: Runner;
  readonly #resolve: (result: Result) => void;
  readonly #attempts: AbortScope[] = [];
  readonly #startedAt: number | undefined;
  #running = 0;
  #done = false;
  #timer: TimerHandle = undefined;
  #last: unknown = undefined;
  #signal: AbortSignal | null = null;

  constructor(policy: Hedge<unknown>, scope: Scope, inner: Runner, resolve: (result: Result) => void) {
    this.#policy = policy;
    this.#scope = scope;
    this.#inner = inner;
    this.#resolve = resolve;
    this.#startedAt = policy.started();
  }

  start(): void {
    const scope = this.#scope;
    if (scope.abortable) {
      // The caller (or an enclosing deadline) leaving ends the race at once, even while an attempt that
      // ignores its signal is still running: no wait should outlive its caller.
      const signal = scope.signal;
      if (signal.aborted) {
        this.#finish(new Fail(signal.reason), IGNORED);
        return;
      }
      this.#signal = signal;
      signal.addEventListener('abort', this, { once: true });
    }
    this.#launch();
  }

  /** EventListener protocol: the execution's signal aborted. */
  handleEvent(): void {
    this.#signal = null;
    if (this.#done) return;
    const scope = this.#scope;
    this.#finish(new Fail(scope.abortReason()), scope.cancelled() ? IGNORED : FAILURE);
  }

  #launch(): void {
    const { clock, maxHedges } = this.#policy.options;
    const attempt = new AbortScope(this.#scope, this.#scope.deadline, null, null);
    attempt.attempt = this.#scope.attempt + this.#attempts.length;
    attempt.watchParent();
    this.#attempts.push(attempt);
    this.#running++;
    const number = this.#attempts.length;
    const startedAt = this.#policy.timesAttempts ? clock.now() : 0;
    this.#inner(attempt).then((result) => this.#settled(attempt, number, startedAt, result));
    if (this.#attempts.length <= maxHedges && !this.#done) {
      this.#timer = clock.setTimer(() => this.#hedge('delay'), this.#policy.nextDelay());
    }
  }

  #hedge(trigger: 'delay' | 'failure'): void {
    this.#clearTimer();
    const { maxHedges, budget } = this.#policy.options;
    if (this.#done || this.#attempts.length > maxHedges || this.#scope.isAborted()) return;
    if (budget !== undefined && !budget.tryRetry()) return;
    this.#policy.hedged(this.#attempts.length + 1, trigger);
    this.#launch();
  }

  #settled(attempt: AbortScope, number: number, startedAt: number, result: unknown): void {
    this.#running--;
    attempt.close();
    if (this.#done) return;
    const { classifier, hedgeOnFailure, budget } = this.#policy.options;
    const verdict = classifier.verdict(result, attempt);
    budget?.recordOutcome(verdict === FAILURE);
    if (verdict !== FAILURE) {
      this.#policy.won(number, startedAt);
      this.#finish(result, verdict);
      return;
    }
    this.#last = result;
    if (hedgeOnFailure && this.#attempts.length <= this.#policy.options.maxHedges) this.#hedge('failure');
    // Nothing running and nothing more to start: the last failure is the answer.
    if (this.#running === 0 && (this.#timer === undefined || this.#scope.isAborted()))
      this.#finish(this.#last, FAILURE);
  }

  #finish(result: unknown, verdict: Verdict): void {
    this.#done = true;
    this.#clearTimer();
    if (this.#signal !== null) {
      this.#signal.removeEventListener('abort', this);
      this.#signal = null;
    }
    for (const a of this.#attempts) if (!a.closed) a.cancel(lostReason());
    this.#policy.called(this.#scope, verdict, result, this.#startedAt);
    this.#resolve(result);
  }

  #clearTimer(): void {
    if (this.#timer === undefined) return;
    this.#policy.options.clock.clearTimer(this.#timer);
    this.#timer = undefined;
  }
}
