import { FAILURE, SUCCESS, type Verdict } from '../core/classify.js';
import type { Clock } from '../core/clock.js';
import { Scope } from '../core/context.js';
import { RejectedError } from '../core/errors.js';
import type { Subscribe } from '../core/events.js';
import { type Failure, failureOf } from '../core/failure.js';
import { Fail } from '../core/outcome.js';
import { Executor, type Policy, STAGES } from '../core/policy.js';
import { guarded, reportCallbackError } from '../core/report.js';
import { type Gate, Recovery, type Result, type Runner, type Stage } from '../core/stage.js';
import { EventStream, outcomeOf, resultOutcome } from '../metrics/event-stream.js';
import type { PolicyGiveUpEvent, PolicyRetryEvent, RetryEvent } from '../metrics/events.js';
import type { Observable, SnapshotBase } from '../metrics/observable.js';
import {
  DEFAULT_BACKOFF,
  type ResolvedRetryOptions,
  type RetryOptions,
  resolveRetryOptions,
} from './options.js';

export type { Backoff, ExponentialOptions, Jitter, RetryDelayInfo } from '../core/backoff.js';
export { constant, custom, exponential, linear } from '../core/backoff.js';
export type {
  RatioBudgetOptions,
  RetryBudget,
  RetryBudgetSnapshot,
  TokenBudgetOptions,
} from '../core/budget.js';
export { retryBudget, tokenBudget } from '../core/budget.js';
export type { RetryOptions } from './options.js';

/** Why retrying stopped while the outcome was still a failure. */
export type GiveUpReason =
  /** maxRetries / maxAttempts reached. */
  | 'max-attempts'
  /** The next attempt would start `maxElapsedMs` or more after the first began. */
  | 'max-elapsed'
  /** The next attempt would start at or after the deadline of an enclosing timeout. */
  | 'deadline'
  /** The failure asked for a longer wait (Retry-After) than `maxDelayMs` allows. */
  | 'retry-after'
  /** The shared retry budget refused another attempt. */
  | 'budget'
  /**
   * One of our own policies rejected the call (open circuit, full bulkhead, rate limit) without saying
   * it may be tried again within `maxRejectionWaitMs`.
   */
  | 'rejected'
  /** The caller or an enclosing timeout aborted the execution. */
  | 'aborted';

export interface RetrySnapshot extends SnapshotBase {
  readonly kind: 'retry';
  readonly maxAttempts: number;
  /** Totals since creation. */
  readonly calls: number;
  readonly retries: number;
  readonly giveUps: number;
}

export interface RetryPolicy<R = unknown> extends Policy<R>, Observable {
  readonly kind: 'retry';
  readonly name: string;
  snapshot(): RetrySnapshot;
  readonly options: ResolvedRetryOptions;
  /** Every event of the policy: `call`, `retry` and `give-up`. */
  readonly onEvent: Subscribe<RetryEvent>;
  /** Before each retry's delay (`attempt` is the attempt that failed, 1 for the first call). */
  readonly onRetry: Subscribe<PolicyRetryEvent>;
  /** The last failure is returned to the caller: no more attempts will be made (`reason` is a GiveUpReason). */
  readonly onGiveUp: Subscribe<PolicyGiveUpEvent>;
}

/**
 * Calls again after failures, with a backoff between attempts. When retrying stops, the caller
 * receives the last failure unchanged (the last error is rethrown, the last bad result returned);
 * `onGiveUp` says why it stopped.
 */
export function retry<R = unknown>(options?: RetryOptions<R>): RetryPolicy<R> {
  return new Retry<R>(resolveRetryOptions(options));
}

/** The start of an execution, when a time budget or a call listener needs it. */
type Started = number | undefined;

class Retry<R> extends Executor<R> implements RetryPolicy<R>, Gate<Started> {
  readonly stage = 'gate';
  readonly recovers = true;
  readonly kind = 'retry';
  readonly name: string;
  readonly options: ResolvedRetryOptions;
  readonly [STAGES]: readonly Stage[] = [this];
  readonly #clock: Clock;
  readonly #events: EventStream<RetryEvent>;
  readonly onEvent: Subscribe<RetryEvent>;
  readonly onRetry: Subscribe<PolicyRetryEvent>;
  readonly onGiveUp: Subscribe<PolicyGiveUpEvent>;
  readonly #checksResults: boolean;
  /** A time budget needs every execution's start. */
  readonly #timed: boolean;
  #calls = 0;
  #retries = 0;
  #giveUps = 0;

  constructor(options: ResolvedRetryOptions) {
    super();
    this.name = options.name;
    this.options = options;
    this.#clock = options.clock;
    this.#checksResults = options.classifier.checksResults;
    this.#timed = options.maxElapsedMs !== Number.POSITIVE_INFINITY;
    const events = new EventStream<RetryEvent>('retry', options.name, ['call', 'retry', 'give-up']);
    this.#events = events;
    this.onEvent = events.onEvent;
    this.onRetry = events.on('retry');
    this.onGiveUp = events.on('give-up');
  }

  snapshot(): RetrySnapshot {
    return {
      kind: this.kind,
      name: this.name,
      maxAttempts: this.options.maxAttempts,
      calls: this.#calls,
      retries: this.#retries,
      giveUps: this.#giveUps,
    };
  }

  // --- Gate: retries recover in exit, by running everything inside again ----------------------------

  enter(_scope: Scope): Started {
    this.#calls++;
    this.options.budget?.recordRequest();
    // The clock is read only when a time budget or a call listener needs a start.
    return this.#timed || this.#events.wants('call') ? this.#clock.now() : undefined;
  }

  exit(scope: Scope, startedAt: Started, result: Result): Result | Recovery {
    if (result instanceof Fail || this.#checksResults) return this.#judge(scope, startedAt, result);
    this.#succeeded(scope, startedAt, SUCCESS, result);
    return result;
  }

  /** A failure, or a result to classify: retried, or passed on. */
  #judge(scope: Scope, startedAt: Started, result: Result): Result | Recovery {
    const verdict = this.options.classifier.verdict(result, scope);
    if (verdict === FAILURE) return new Recovery((again) => this.#retrying(scope, again, result, startedAt));
    this.#succeeded(scope, startedAt, verdict, result);
    return result;
  }

  /** The first attempt settled it: nothing was retried. */
  #succeeded(scope: Scope, startedAt: Started, verdict: Verdict, result: Result): void {
    this.options.budget?.recordOutcome(false);
    if (startedAt !== undefined) this.#called(scope, startedAt, verdict, result);
  }

  async #retrying(scope: Scope, again: Runner, first: Result, startedAt: Started): Promise<Result> {
    const result = await this.#loop(scope, again, first, startedAt);
    if (startedAt !== undefined && this.#events.wants('call')) {
      this.#called(scope, startedAt, this.options.classifier.verdict(result, scope), result);
    }
    return result;
  }

  #called(scope: Scope, startedAt: number, verdict: Verdict, result: Result): void {
    if (!this.#events.wants('call')) return;
    this.#events.call(resultOutcome(result, scope), this.#clock.now() - startedAt, outcomeOf(verdict));
  }

  /** Retries a failed first attempt; resolves to the final result. */
  async #loop(scope: Scope, again: Runner, first: Result, startedAt: Started): Promise<Result> {
    const { classifier, maxAttempts, maxDelayMs, maxElapsedMs, budget } = this.options;
    let result = first;
    let verdict: Verdict = FAILURE;
    let previousDelay = 0;
    for (let attempt = 1; ; attempt++) {
      budget?.recordOutcome(verdict === FAILURE);
      if (verdict !== FAILURE) return result;
      if (attempt >= maxAttempts) return this.#giveUp(attempt, 'max-attempts', result);
      if (scope.isAborted()) return this.#giveUp(attempt, 'aborted', new Fail(scope.abortReason()));
      if (!this.#mayRetryRejection(result)) return this.#giveUp(attempt, 'rejected', result);
      const failure = failureOf<never>(result);
      let delay = this.#delay(attempt, previousDelay, failure);
      const pushback = guarded(this.options.retryAfter, failure, noPushback, 'retry.retryAfter', this.name);
      if (pushback !== undefined) {
        if (pushback > maxDelayMs) return this.#giveUp(attempt, 'retry-after', result);
        if (pushback > delay) delay = pushback;
      }
      if (maxElapsedMs !== Number.POSITIVE_INFINITY || scope.deadline !== Number.POSITIVE_INFINITY) {
        const startsAt = this.#clock.now() + delay;
        // A finite maxElapsedMs always has a start.
        if (startsAt - (startedAt ?? startsAt) >= maxElapsedMs)
          return this.#giveUp(attempt, 'max-elapsed', result);
        if (startsAt >= scope.deadline) return this.#giveUp(attempt, 'deadline', result);
      }
      if (budget !== undefined && !budget.tryRetry()) return this.#giveUp(attempt, 'budget', result);
      this.#retries++;
      if (this.#events.wants('retry')) {
        this.#events.emit({
          type: 'retry',
          policy: this.name,
          kind: this.kind,
          attempt,
          delayMs: delay,
          failure,
        });
      }
      // A zero delay still yields to the event loop (no time passes): a call that fails at once would
      // otherwise retry in the microtask queue forever, starving the timers and I/O that could free it
      // or abort it.
      if (!(await (delay > 0 ? sleep(this.#clock, delay, scope) : nextTurn(scope)))) {
        return this.#giveUp(attempt, 'aborted', new Fail(scope.abortReason()));
      }
      previousDelay = delay;
      // Each retry gets its own scope: attempt numbers must not change under work still holding a context.
      const next = new Scope(scope.fn, scope, undefined);
      next.attempt = attempt + 1;
      result = await again(next);
      verdict = classifier.verdict(result, scope);
    }
  }

  /**
   * Load shedding of our own (RejectedError) is retried only when it says the call may pass again soon:
   * retrying an open circuit would sleep out its whole break while the caller waits, where failing
   * fast is the point. Whether that time also fits the deadline is checked like any delay.
   */
  #mayRetryRejection(result: unknown): boolean {
    const limit = this.options.maxRejectionWaitMs;
    if (limit === Number.POSITIVE_INFINITY || !(result instanceof Fail)) return true;
    const error = result.error;
    if (!(error instanceof RejectedError)) return true;
    return error.retryAfterMs !== undefined && error.retryAfterMs <= limit;
  }

  /**
   * The backoff's delay, within [0, maxDelayMs] whatever a custom curve returns (NaN, a negative, more
   * than its cap). A curve that throws is reported and the default curve is used instead.
   */
  #delay(attempt: number, previousMs: number, failure: Failure<never>): number {
    const { backoff, random, maxDelayMs } = this.options;
    let ms: number;
    try {
      ms = backoff.delay(attempt, previousMs, random, maxDelayMs, failure);
    } catch (error) {
      reportCallbackError('retry.backoff', this.name, error);
      ms = DEFAULT_BACKOFF.delay(attempt, previousMs, random, maxDelayMs, failure);
    }
    return ms > 0 ? Math.min(ms, maxDelayMs) : 0;
  }

  #giveUp(attempts: number, reason: GiveUpReason, result: Result): Result {
    this.#giveUps++;
    if (this.#events.wants('give-up')) {
      this.#events.emit({
        type: 'give-up',
        policy: this.name,
        kind: this.kind,
        attempts,
        reason,
        failure: failureOf(result),
      });
    }
    return result;
  }
}

const noPushback = (): undefined => undefined;

/** Resolves on the next turn of the event loop; true unless the scope aborted meanwhile. */
function nextTurn(scope: Scope): Promise<boolean> {
  return new Promise((resolve) => setImmediate(() => resolve(!scope.isAborted())));
}

/**
 * Waits `ms`, or less if the scope aborts first; resolves true when the full delay passed. The timer is
 * ref'd: the caller is awaiting this call, and a process must not exit in the middle of it.
 */
function sleep(clock: Clock, ms: number, scope: Scope): Promise<boolean> {
  if (!scope.abortable) return new Promise((resolve) => clock.setTimer(() => resolve(true), ms, true));
  const signal = scope.signal;
  if (signal.aborted) return Promise.resolve(false);
  return new Promise((resolve) => {
    const onAbort = () => {
      clock.clearTimer(timer);
      resolve(false);
    };
    const timer = clock.setTimer(
      () => {
        signal.removeEventListener('abort', onAbort);
        resolve(true);
      },
      ms,
      true,
    );
    signal.addEventListener('abort', onAbort, { once: true });
  });
}
