import { FAILURE, IGNORED, SUCCESS, type Verdict } from '../core/classify.js';
import type { Clock, TimerHandle } from '../core/clock.js';
import type { Scope } from '../core/context.js';
import { BrokenCircuitError, type CircuitStateName, IsolatedCircuitError } from '../core/errors.js';
import { type Disposer, Emitter, type Subscribe } from '../core/events.js';
import { type Failure, failureOf } from '../core/failure.js';
import { invalid, MAX_TIMER_MS } from '../core/options.js';
import { Fail } from '../core/outcome.js';
import { Executor, type Policy, STAGES } from '../core/policy.js';
import type { Gate, Result, Stage } from '../core/stage.js';
import { outcomeOf, Telemetry } from '../core/telemetry.js';
import type { PolicyEvent } from '../metrics/events.js';
import type { Observable, SnapshotBase } from '../metrics/observable.js';
import { InflightCall, InflightList } from './inflight.js';
import {
  type CircuitBreakerOptions,
  type ResolvedCircuitBreakerOptions,
  resolveCircuitBreakerOptions,
} from './options.js';
import { BreakerStateMachine, REJECTED, type Transition, type TransitionReason } from './state-machine.js';
import type { WindowExport } from './windows/types.js';

export type { CircuitBreakerOptions, HalfOpenOptions, WindowOptions } from './options.js';
export type { Transition, TransitionReason } from './state-machine.js';
export type { WindowExport } from './windows/types.js';

export interface CircuitSnapshot extends SnapshotBase {
  readonly kind: 'circuit-breaker';
  readonly state: CircuitStateName;
  /** Clock time of the last transition. */
  readonly since: number;
  /** Time until an open circuit lets a probe through (0 when it would now), else undefined. */
  readonly retryAfterMs: number | undefined;
  /** Calls in the window (plus in-flight slow calls when those are counted). */
  readonly calls: number;
  readonly failures: number;
  readonly slowCalls: number;
  readonly failureRate: number;
  readonly slowCallRate: number;
  /** Calls running through the breaker now. */
  readonly inflight: number;
  readonly consecutiveOpens: number;
  /** Probes admitted and their verdicts so far, while half-open. */
  readonly halfOpen:
    | { readonly probes: number; readonly successes: number; readonly failures: number }
    | undefined;
  /**
   * Calls, failures and slow calls recorded while closed, since creation: they only grow, so a poller
   * can take differences (fleet aggregation reads these instead of listening to every call).
   */
  readonly recorded: { readonly calls: number; readonly failures: number; readonly slowCalls: number };
}

/** Serialisable state for warm restarts (`toJSON()` / `restore()`). Times are durations, never clock values. */
export interface CircuitBreakerState {
  readonly version: 1;
  readonly state: 'closed' | 'open';
  /** Remaining break when open, ms. */
  readonly openForMs: number;
  readonly consecutiveOpens: number;
  readonly lastBreakMs: number;
  readonly window: WindowExport;
}

export interface StateChangeEvent extends Transition {
  readonly policy: string;
}
export interface OpenEvent {
  readonly policy: string;
  readonly reason: TransitionReason;
  readonly breakMs: number;
  readonly failureRate: number;
  readonly slowCallRate: number;
  readonly lastFailure: unknown;
}
export interface RejectEvent {
  readonly policy: string;
  readonly state: CircuitStateName;
  readonly retryAfterMs: number | undefined;
}
export interface CallEvent<R = unknown> {
  readonly policy: string;
  /** Duration of the call, ms. */
  readonly durationMs: number;
  readonly failure: Failure<R> | undefined;
}

/** A permit from `tryAcquire()`: report exactly one outcome (further reports are ignored). */
export interface CircuitPermit {
  /** The call returned `result` (judged by `handleResult` when configured). */
  success(result?: unknown): void;
  failure(error: unknown): void;
  /** The call ended without saying anything about the downstream (cancelled): nothing is recorded. */
  release(): void;
}

export interface CircuitBreaker<R = unknown> extends Policy<R>, Observable {
  readonly kind: 'circuit-breaker';
  readonly name: string;
  readonly options: ResolvedCircuitBreakerOptions;
  readonly state: CircuitStateName;
  /** Running totals recorded while closed (see `CircuitSnapshot.recorded`); reading them has no side effect. */
  readonly recorded: CircuitSnapshot['recorded'];
  snapshot(): CircuitSnapshot;
  /** Opens now, for `durationMs` or the next break of the backoff. Ignored while isolated. */
  open(durationMs?: number): void;
  /** Closes now (clears the window and the break backoff). Ignored while isolated. */
  close(): void;
  /** Back to a fresh closed circuit: window, backoff and every isolation handle cleared. */
  reset(): void;
  /** Forces the circuit open until every returned disposer has been called. */
  isolate(): Disposer;
  /** Lets every call through and records nothing, until close(). */
  disable(): void;
  /** Records and reports as usual but never opens, until close(). */
  metricsOnly(): void;
  /** For integrations without a promise to wrap: a permit, or the rejection. */
  tryAcquire(): CircuitPermit | BrokenCircuitError;
  toJSON(): CircuitBreakerState;
  /** Loads what toJSON() produced (from a breaker with the same window). */
  restore(state: CircuitBreakerState): void;
  readonly onStateChange: Subscribe<StateChangeEvent>;
  readonly onOpen: Subscribe<OpenEvent>;
  readonly onHalfOpen: Subscribe<StateChangeEvent>;
  readonly onClose: Subscribe<StateChangeEvent>;
  readonly onReject: Subscribe<RejectEvent>;
  readonly onSuccess: Subscribe<CallEvent<R>>;
  readonly onFailure: Subscribe<CallEvent<R>>;
  readonly onSlowCall: Subscribe<CallEvent<R>>;
}

/**
 * A circuit breaker: stops calling a downstream that keeps failing, lets a few probes through after a
 * break, and closes again when they succeed. See docs/circuit-breaker.md.
 */
export function circuitBreaker<R = unknown>(options?: CircuitBreakerOptions<R>): CircuitBreaker<R> {
  return new Breaker<R>(resolveCircuitBreakerOptions(options));
}

/** What enter() hands to exit(): the generation the call started in, timed (InflightCall) when needed. */
type Token = number | InflightCall;

class Breaker<R> extends Executor<R> implements CircuitBreaker<R>, Gate<Token> {
  readonly stage = 'gate';
  readonly kind = 'circuit-breaker';
  readonly name: string;
  readonly options: ResolvedCircuitBreakerOptions;
  readonly [STAGES]: readonly Stage[] = [this];
  readonly #clock: Clock;
  readonly #sm: BreakerStateMachine;
  readonly #inflightList: InflightList | null;
  readonly #slowMs: number;
  /** Count/consecutive windows record a success without reading the clock. */
  readonly #timeWindow: boolean;
  #inflight = 0;
  #recordedCalls = 0;
  #recordedFailures = 0;
  #recordedSlowCalls = 0;
  #lastFailure: unknown = undefined;
  #timer: TimerHandle = undefined;

  readonly #onStateChange = new Emitter<StateChangeEvent>();
  readonly #onOpen = new Emitter<OpenEvent>();
  readonly #onHalfOpen = new Emitter<StateChangeEvent>();
  readonly #onClose = new Emitter<StateChangeEvent>();
  readonly #onReject = new Emitter<RejectEvent>();
  readonly #onSuccess = new Emitter<CallEvent<R>>();
  readonly #onFailure = new Emitter<CallEvent<R>>();
  readonly #onSlowCall = new Emitter<CallEvent<R>>();
  readonly onStateChange = this.#onStateChange.subscribe;
  readonly onOpen = this.#onOpen.subscribe;
  readonly onHalfOpen = this.#onHalfOpen.subscribe;
  readonly onClose = this.#onClose.subscribe;
  readonly onReject = this.#onReject.subscribe;
  readonly onSuccess = this.#onSuccess.subscribe;
  readonly onFailure = this.#onFailure.subscribe;
  readonly onSlowCall = this.#onSlowCall.subscribe;
  readonly #tel: Telemetry;
  readonly onEvent: Subscribe<PolicyEvent>;

  constructor(options: ResolvedCircuitBreakerOptions) {
    super();
    this.name = options.name;
    this.#tel = new Telemetry('circuit-breaker', options.name, ['call', 'reject', 'state']);
    this.onEvent = this.#tel.emitter.subscribe;
    this.options = options;
    this.#clock = options.clock;
    this.#slowMs = options.slowCallDurationMs;
    this.#timeWindow = options.window.kind === 'time';
    this.#inflightList = options.countInflightSlowCalls ? new InflightList() : null;
    this.#sm = new BreakerStateMachine(options, this.#clock.now(), (t) => this.#onTransition(t));
  }

  get state(): CircuitStateName {
    return this.#sm.state;
  }

  get recorded(): CircuitSnapshot['recorded'] {
    return {
      calls: this.#recordedCalls,
      failures: this.#recordedFailures,
      slowCalls: this.#recordedSlowCalls,
    };
  }

  // --- Gate -------------------------------------------------------------------------------------

  enter(_scope: Scope): Token | Fail {
    const sm = this.#sm;
    let generation: number;
    // Closed with nothing in flight to judge: admit without reading the clock.
    if (sm.state === 'closed' && this.#inflightList === null) {
      generation = sm.generation;
    } else {
      const now = this.#clock.now();
      if (this.#inflightList !== null) sm.inflightSlow = this.#inflightList.advance(now, this.#slowMs);
      generation = sm.tryAcquire(now);
      if (generation === REJECTED) return this.#reject(now);
    }
    this.#inflight++;
    if (!this.#timed()) return generation;
    const call = new InflightCall(generation, this.#clock.now());
    this.#inflightList?.add(call);
    return call;
  }

  exit(scope: Scope, token: Token, result: Result): Result {
    this.#inflight--;
    const classifier = this.options.classifier;
    const verdict: Verdict =
      result instanceof Fail || classifier.checksResults ? classifier.verdict(result, scope) : SUCCESS;
    this.#settle(token, verdict, result);
    return result;
  }

  /** Records a call's verdict; `token` is what enter() returned. */
  #settle(token: Token, verdict: Verdict, result: Result): void {
    const sm = this.#sm;
    if (typeof token === 'number') {
      // Hot path: a success of the current closed period, on a window that needs no clock.
      if (verdict === SUCCESS && token === sm.generation && sm.state === 'closed' && !this.#timeWindow) {
        sm.window.record(false, false, 0);
        this.#recordedCalls++;
        return;
      }
      if (verdict !== SUCCESS) this.#noteFailure(verdict, result);
      this.#count(token, verdict, false);
      sm.record(token, verdict, false, this.#clock.now());
      return;
    }
    const call = token;
    this.#inflightList?.remove(call);
    if (this.#inflightList !== null) sm.inflightSlow = this.#inflightList.slowCount;
    const now = this.#clock.now();
    const durationMs = now - call.startedAt;
    const slow = durationMs > this.#slowMs;
    if (verdict !== SUCCESS) this.#noteFailure(verdict, result);
    this.#count(call.generation, verdict, slow);
    sm.record(call.generation, verdict, slow, now);
    if (verdict === FAILURE && this.#onFailure.active) {
      this.#onFailure.emit({ policy: this.name, durationMs, failure: failureOf<R>(result) });
    } else if (verdict === SUCCESS && this.#onSuccess.active) {
      this.#onSuccess.emit({ policy: this.name, durationMs, failure: undefined });
    }
    if (slow && this.#onSlowCall.active) {
      this.#onSlowCall.emit({
        policy: this.name,
        durationMs,
        failure: verdict === FAILURE ? failureOf<R>(result) : undefined,
      });
    }
    if (this.#tel.wants('call')) this.#tel.call(outcomeOf(verdict), durationMs);
  }

  /** Running totals of what closed periods recorded, for cheap polling (e.g. fleet aggregation). */
  #count(generation: number, verdict: Verdict, slow: boolean): void {
    const sm = this.#sm;
    if (verdict === IGNORED || generation !== sm.generation || sm.state !== 'closed') return;
    this.#recordedCalls++;
    if (verdict === FAILURE) this.#recordedFailures++;
    if (slow) this.#recordedSlowCalls++;
  }

  #noteFailure(verdict: Verdict, result: unknown): void {
    if (verdict === FAILURE) this.#lastFailure = result instanceof Fail ? result.error : result;
  }

  #timed(): boolean {
    return (
      this.#slowMs !== Number.POSITIVE_INFINITY ||
      this.#onSuccess.active ||
      this.#onFailure.active ||
      this.#onSlowCall.active ||
      this.#tel.wants('call')
    );
  }

  #retryAfter(now: number): number | undefined {
    const sm = this.#sm;
    if (sm.state === 'open') return Math.max(0, sm.openUntil - now);
    // Half-open with every probe taken: the probes may answer sooner, but by then half-open is over.
    if (sm.state === 'half-open' && this.options.halfOpen.maxWaitMs !== Number.POSITIVE_INFINITY) {
      return Math.max(0, sm.since + this.options.halfOpen.maxWaitMs - now);
    }
    return undefined;
  }

  #rejection(now: number): BrokenCircuitError {
    const state = this.#sm.state;
    if (state === 'isolated') return IsolatedCircuitError.create(this.name);
    return BrokenCircuitError.create(this.name, state, this.#retryAfter(now), this.#lastFailure);
  }

  #reject(now: number): Fail {
    const error = this.#rejection(now);
    if (this.#onReject.active) {
      this.#onReject.emit({ policy: this.name, state: error.state, retryAfterMs: error.retryAfterMs });
    }
    if (this.#tel.wants('reject')) {
      this.#tel.emit({
        type: 'reject',
        policy: this.name,
        kind: this.kind,
        reason: error.state,
        retryAfterMs: error.retryAfterMs,
      });
    }
    return new Fail(error);
  }

  // --- Transitions --------------------------------------------------------------------------------

  #onTransition(t: Transition): void {
    if (this.#timer !== undefined) {
      this.#clock.clearTimer(this.#timer);
      this.#timer = undefined;
    }
    if (t.to === 'open' && this.options.halfOpenOnTimer) this.#armBreakTimer(t.breakMs ?? 0);
    if (t.to === 'closed') this.#lastFailure = undefined;
    if (this.#tel.wants('state')) {
      this.#tel.emit({
        type: 'state',
        policy: this.name,
        kind: this.kind,
        from: t.from,
        to: t.to,
        reason: t.reason,
      });
    }
    const event: StateChangeEvent | undefined =
      this.#onStateChange.active || this.#onHalfOpen.active || this.#onClose.active
        ? { policy: this.name, ...t }
        : undefined;
    if (event !== undefined) this.#onStateChange.emit(event);
    if (t.to === 'open' && this.#onOpen.active) {
      this.#onOpen.emit({
        policy: this.name,
        reason: t.reason,
        breakMs: t.breakMs ?? 0,
        failureRate: t.failureRate,
        slowCallRate: t.slowCallRate,
        lastFailure: this.#lastFailure,
      });
    } else if (t.to === 'half-open' && event !== undefined) {
      this.#onHalfOpen.emit(event);
    } else if (t.to === 'closed' && event !== undefined) {
      this.#onClose.emit(event);
    }
  }

  /**
   * Moves to half-open when the break ends. A native timer counts whole milliseconds from a loop time
   * that may be stale, so it can fire a little before `openUntil`: then it is armed again for the rest.
   */
  #armBreakTimer(ms: number): void {
    this.#timer = this.#clock.setTimer(() => {
      this.#timer = undefined;
      const sm = this.#sm;
      const now = this.#clock.now();
      if (!sm.expireBreak(now) && sm.state === 'open')
        this.#armBreakTimer(Math.max(1, Math.ceil(sm.openUntil - now)));
    }, ms);
  }

  // --- Manual control and inspection --------------------------------------------------------------

  open(durationMs?: number): void {
    if (durationMs !== undefined) {
      if (typeof durationMs !== 'number' || !(durationMs > 0) || durationMs > MAX_TIMER_MS) {
        invalid('circuitBreaker.open(durationMs)', 'a number of ms in (0, 2^31-1]', durationMs, 'range');
      }
    }
    if (this.#sm.state === 'isolated') return;
    this.#sm.open(this.#clock.now(), 'manual', durationMs);
  }

  close(): void {
    this.#sm.setMode('closed', this.#clock.now());
  }

  reset(): void {
    this.#lastFailure = undefined;
    this.#sm.reset(this.#clock.now());
  }

  isolate(): Disposer {
    const epoch = this.#sm.isolate(this.#clock.now());
    let live = true;
    return () => {
      if (!live) return;
      live = false;
      this.#sm.releaseIsolation(epoch, this.#clock.now());
    };
  }

  disable(): void {
    this.#sm.setMode('disabled', this.#clock.now());
  }

  metricsOnly(): void {
    this.#sm.setMode('metrics-only', this.#clock.now());
  }

  tryAcquire(): CircuitPermit | BrokenCircuitError {
    const token = this.enter(undefined as unknown as Scope);
    if (token instanceof Fail) return token.error as BrokenCircuitError;
    let done = false;
    const finish = (verdict: Verdict | undefined, result: unknown) => {
      if (done) return;
      done = true;
      this.#inflight--;
      if (verdict === undefined) {
        this.#settle(token, IGNORED, undefined);
        return;
      }
      this.#settle(token, verdict, result);
    };
    const classifier = this.options.classifier;
    return {
      success: (result?: unknown) =>
        finish(classifier.checksResults ? classifier.verdict(result, permitScope) : SUCCESS, result),
      failure: (error: unknown) => {
        const failure = new Fail(error);
        finish(classifier.verdict(failure, permitScope), failure);
      },
      release: () => finish(undefined, undefined),
    };
  }

  snapshot(): CircuitSnapshot {
    const sm = this.#sm;
    const now = this.#clock.now();
    sm.expireHalfOpen(now);
    if (this.#inflightList !== null) sm.inflightSlow = this.#inflightList.advance(now, this.#slowMs);
    const rates = sm.rates(now);
    return {
      kind: this.kind,
      name: this.name,
      state: sm.state,
      since: sm.since,
      retryAfterMs: this.#retryAfter(now),
      calls: rates.calls,
      failures: rates.failures,
      slowCalls: rates.slowCalls,
      failureRate: rates.failureRate,
      slowCallRate: rates.slowCallRate,
      inflight: this.#inflight,
      consecutiveOpens: sm.consecutiveOpens,
      halfOpen:
        sm.state === 'half-open'
          ? { probes: sm.probes, successes: sm.probeSuccesses, failures: sm.probeFailures }
          : undefined,
      recorded: this.recorded,
    };
  }

  toJSON(): CircuitBreakerState {
    const sm = this.#sm;
    const now = this.#clock.now();
    // A half-open circuit is saved as open with no break left: the restored one probes on its next call.
    const open = sm.state === 'open' || sm.state === 'half-open';
    return {
      version: 1,
      state: open ? 'open' : 'closed',
      openForMs: sm.state === 'open' ? Math.max(0, sm.openUntil - now) : 0,
      consecutiveOpens: sm.consecutiveOpens,
      lastBreakMs: sm.lastBreakMs,
      window: sm.window.export(now),
    };
  }

  restore(state: CircuitBreakerState): void {
    const path = 'circuitBreaker.restore(state)';
    if (typeof state !== 'object' || state === null || state.version !== 1)
      invalid(path, 'a state from toJSON() (version 1)', state);
    if (state.state !== 'closed' && state.state !== 'open')
      invalid(`${path}.state`, '"closed" or "open"', state.state);
    for (const key of ['openForMs', 'consecutiveOpens', 'lastBreakMs'] as const) {
      const v = state[key];
      if (typeof v !== 'number' || !Number.isFinite(v) || v < 0)
        invalid(`${path}.${key}`, 'a finite number >= 0', v, 'range');
    }
    const now = this.#clock.now();
    // Counts from a differently shaped window cannot be trusted: start that window empty.
    if (!this.#sm.window.import(state.window, now)) this.#sm.window.reset();
    this.#lastFailure = undefined;
    this.#sm.restore(state.state, now, state.openForMs, state.consecutiveOpens, state.lastBreakMs);
  }
}

// Permits are not tied to an execution: nothing about a caller's abort is known, so nothing is ignored
// for that reason.
const permitScope = { cancelled: () => false } as unknown as Scope;
