import type { Clock } from '../core/clock.js';
import { AbortScope, type DeadlineOwner, type Scope } from '../core/context.js';
import { type DeadlineQueue, deadlineQueueFor, type Lane } from '../core/deadline-queue.js';
import { isUnknownOutcome, TimeoutError } from '../core/errors.js';
import type { Subscribe } from '../core/events.js';
import { Fail } from '../core/outcome.js';
import { Executor, type Policy, STAGES } from '../core/policy.js';
import type { ScopeGate, Stage } from '../core/stage.js';
import { EventStream, resultOutcome } from '../metrics/event-stream.js';
import type { PolicyTimeoutEvent, TimeoutEvent } from '../metrics/events.js';
import type { Observable, SnapshotBase } from '../metrics/observable.js';
import type { ResolvedTimeoutOptions } from './options.js';

/** `timeout()` policies are of kind 'timeout', `adaptiveTimeout()` ones of kind 'adaptiveTimeout'. */
export type TimeoutKind = 'timeout' | 'adaptiveTimeout';

export interface TimeoutSnapshot extends SnapshotBase {
  readonly kind: TimeoutKind;
  readonly durationMs: number;
  readonly strategy: 'aggressive' | 'cooperative';
  /** Executions started, and deadlines that passed before the work ended, since creation. */
  readonly calls: number;
  readonly timeouts: number;
}

export interface TimeoutPolicy extends Policy, Observable {
  readonly kind: TimeoutKind;
  readonly name: string;
  readonly options: ResolvedTimeoutOptions;
  snapshot(): TimeoutSnapshot;
  /** Every event of the policy: `call` and `timeout`. */
  readonly onEvent: Subscribe<TimeoutEvent>;
  /**
   * The deadline passed (the signal is aborted now; the caller's own abort never fires this);
   * `timeoutMs` is the budget that ran out.
   */
  readonly onTimeout: Subscribe<PolicyTimeoutEvent>;
}

/**
 * Where a timeout's budget comes from: a constant, or an estimate from observed latencies that must
 * see how long calls took.
 */
export interface DurationSource {
  /** Budget for a call starting now, ms. */
  durationFor(attempt: number, now: number): number;
  /** A call ended after `elapsedMs`; `timedOut` when its budget ran out (the latency is then censored). */
  observe?(elapsedMs: number, timedOut: boolean, now: number): void;
  /** The current base budget, for snapshots. */
  readonly current: number;
}

export function fixedDuration(ms: number): DurationSource {
  return { durationFor: () => ms, current: ms };
}

export class Timeout extends Executor implements TimeoutPolicy, DeadlineOwner {
  readonly kind: TimeoutKind;
  readonly name: string;
  readonly options: ResolvedTimeoutOptions;
  readonly [STAGES]: readonly Stage[];
  readonly #clock: Clock;
  readonly #source: DurationSource;
  readonly #queue: DeadlineQueue;
  #lane: Lane;
  /** Lanes of durations no longer handed out, dropped once empty (adaptive durations move). */
  #retired: Lane[] = [];
  readonly #events: EventStream<TimeoutEvent>;
  readonly onEvent: Subscribe<TimeoutEvent>;
  readonly onTimeout: Subscribe<PolicyTimeoutEvent>;
  #calls = 0;
  #timeouts = 0;

  constructor(
    options: ResolvedTimeoutOptions,
    source: DurationSource = fixedDuration(options.durationMs),
    kind: TimeoutKind = 'timeout',
  ) {
    super();
    this.name = options.name;
    this.kind = kind;
    const events = new EventStream<TimeoutEvent>(kind, options.name, ['call', 'timeout']);
    this.#events = events;
    this.onEvent = events.onEvent;
    this.onTimeout = events.on('timeout');
    this.options = options;
    this.#clock = options.clock;
    this.#source = source;
    this.#queue = deadlineQueueFor(options.clock);
    this.#lane = this.#queue.lane(source.current);
    this[STAGES] = [options.strategy === 'cooperative' ? this.#cooperative() : this.#aggressive()];
  }

  snapshot(): TimeoutSnapshot {
    return {
      kind: this.kind,
      name: this.name,
      durationMs: this.#source.current,
      strategy: this.options.strategy,
      calls: this.#calls,
      timeouts: this.#timeouts,
    };
  }

  /** A child scope with this policy's deadline, or null when an enclosing deadline comes first. */
  #child(scope: Scope): AbortScope | null {
    this.#calls++;
    const now = this.#clock.now();
    const durationMs = this.#source.durationFor(scope.attempt, now);
    const deadline = now + durationMs;
    if (deadline >= scope.deadline) return null;
    const child = new AbortScope(scope, deadline, this.#clock, this);
    child.durationMs = durationMs;
    return child;
  }

  /**
   * A race scope for an aggressive timeout whose enclosing deadline comes first: it has no deadline
   * entry of its own and ends when the enclosing scope aborts (watching it arms a lazy cooperative one).
   */
  #bounded(scope: Scope): AbortScope {
    const child = new AbortScope(scope, scope.deadline, this.#clock, null);
    child.durationMs = Math.max(0, scope.deadline - this.#clock.now());
    return child;
  }

  #arm(child: AbortScope): void {
    child.armed = true;
    this.#laneFor(child.durationMs).add(child);
  }

  /** A lane keeps FIFO order for one duration: switch lanes when the duration changes. */
  #laneFor(durationMs: number): Lane {
    if (this.#lane.durationMs === durationMs) return this.#lane;
    this.#retired.push(this.#lane);
    this.#retired = this.#retired.filter((lane) => {
      if (lane.head !== null) return true;
      this.#queue.dropLane(lane);
      return false;
    });
    this.#lane = this.#queue.lane(durationMs);
    return this.#lane;
  }

  /** Tells an adaptive source how long the call took (fixed sources need no clock read). */
  #observe(child: AbortScope, timedOut: boolean): void {
    const observe = this.#source.observe;
    if (observe === undefined) return;
    const now = this.#clock.now();
    observe.call(this.#source, now - (child.deadline - child.durationMs), timedOut, now);
  }

  onDeadline(child: AbortScope): void {
    if (child.aborted || child.closed) return;
    child.timedOut = true;
    this.#timedOut(child.durationMs);
    child.abort(TimeoutError.create(child.durationMs, this.name));
  }

  #timedOut(durationMs: number): void {
    this.#timeouts++;
    if (this.#events.wants('timeout')) {
      this.#events.emit({ type: 'timeout', policy: this.name, kind: this.kind, timeoutMs: durationMs });
    }
  }

  /** Reports the end of an execution that had its own deadline (its start is deadline - duration). */
  #called(child: AbortScope, result: unknown): void {
    if (!this.#events.wants('call')) return;
    this.#events.call(resultOutcome(result, child), this.#clock.now() - (child.deadline - child.durationMs));
  }

  onSignalRead(child: AbortScope): void {
    if (child.armed || child.closed) return;
    if (this.#clock.now() >= child.deadline) this.onDeadline(child);
    else this.#arm(child);
  }

  /**
   * A failure is reported as a timeout when the deadline passed before the work failed. When the
   * deadline was never armed (nobody read the signal or listened), the parent's abort time is unknown;
   * a parent that has aborted by now takes precedence.
   */
  #late(child: AbortScope): boolean {
    if (child.timedOut) return true;
    if (child.isAborted()) return false;
    return this.#clock.now() >= child.deadline;
  }

  #asTimeout(child: AbortScope, failure: Fail): Fail {
    const error = failure.error;
    if (error instanceof TimeoutError && error.policy === this.name) return failure;
    // "It may have taken effect" says more than "it was late": outer policies must still see it.
    if (isUnknownOutcome(error)) return failure;
    return new Fail(TimeoutError.create(child.durationMs, this.name, error));
  }

  #cooperative(): ScopeGate<Scope> {
    return {
      stage: 'scope',
      enter: (scope) => {
        const child = this.#child(scope);
        if (child === null) return scope;
        // Nobody can observe the deadline before the signal is read, unless someone listens for it.
        if (this.#events.wants('timeout')) this.#arm(child);
        return child;
      },
      exit: (scope, token, result) => {
        if (token === scope) return result;
        const child = token as AbortScope;
        const late = result instanceof Fail && this.#late(child);
        // A deadline that passed without being armed (nobody read the signal) is counted now.
        if (late && !child.timedOut) this.#timedOut(child.durationMs);
        child.close();
        this.#observe(child, late);
        const final = late ? this.#asTimeout(child, result as Fail) : result;
        this.#called(child, final);
        return final;
      },
    };
  }

  /**
   * Races the work: the pipeline settles the call when the child aborts (its deadline, or the parent's
   * abort), and `exit` then runs with that abort while the work may go on.
   */
  #aggressive(): ScopeGate<AbortScope> {
    return {
      stage: 'scope',
      races: true,
      enter: (scope) => {
        // An enclosing deadline that comes first may be a cooperative one, which only aborts a signal:
        // race that abort, or a task that ignores its signal would hold the caller past every deadline.
        const own = this.#child(scope);
        const child = own ?? this.#bounded(scope);
        child.watchParent();
        if (child.aborted) {
          child.close();
          return new Fail(child.reason);
        }
        if (own !== null) this.#arm(child);
        return child;
      },
      exit: (_scope, child, result) => {
        // Cut by the enclosing deadline (a child without a deadline of its own): the latency is censored
        // as for a timeout of our own.
        this.#observe(child, child.timedOut || (child.owner === null && child.aborted));
        this.#called(child, result);
        child.close();
        return result;
      },
    };
  }
}
