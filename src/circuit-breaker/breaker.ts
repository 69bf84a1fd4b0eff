import { FAILURE, IGNORED, SUCCESS, type Verdict } from '../core/classify.js';
import type { Clock, TimerHandle } from '../core/clock.js';
import type { Scope } from '../core/context.js';
import { BrokenCircuitError, type CircuitStateName, IsolatedCircuitError } from '../core/errors.js';
import type { Disposer, Subscribe } from '../core/events.js';
import { failureOf } from '../core/failure.js';
import { invalid, MAX_TIMER_MS } from '../core/options.js';
import { Fail } from '../core/outcome.js';
import { Executor, STAGES } from '../core/policy.js';
import type { Gate, Result, Stage } from '../core/stage.js';
import { EventStream, outcomeOf, resultOutcome } from '../metrics/event-stream.js';
import type {
  CircuitBreakerEvent,
  PolicyCallEvent,
  PolicyRejectEvent,
  PolicyStateEvent,
} from '../metrics/events.js';
import { InflightCall, InflightList } from './inflight.js';
import type { ResolvedCircuitBreakerOptions } from './options.js';
import { exportState, importState } from './persist.js';
import { BreakerStateMachine, REJECTED, type Transition } from './state-machine.js';
import type { CircuitBreakerPolicy, CircuitBreakerState, CircuitPermit, CircuitSnapshot } from './types.js';

/**
 * The circuit breaker: its gate (admission and recording, the hot path), its counters and events, and
 * manual control. The rules live in the state machine, persistence in persist.ts.
 */
/** What enter() hands to exit(): the generation the call started in, timed (InflightCall) when needed. */
type Token = number | InflightCall;

export class Breaker<R> extends Executor<R> implements CircuitBreakerPolicy<R>, Gate<Token> {
  readonly stage = 'gate';
  readonly kind = 'circuitBreaker';
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

  readonly #events: EventStream<CircuitBreakerEvent>;
  readonly onEvent: Subscribe<CircuitBreakerEvent>;
  readonly onStateChange: Subscribe<PolicyStateEvent>;
  readonly onOpen: Subscribe<PolicyStateEvent>;
  readonly onHalfOpen: Subscribe<PolicyStateEvent>;
  readonly onClose: Subscribe<PolicyStateEvent>;
  readonly onReject: Subscribe<PolicyRejectEvent>;
  readonly onSuccess: Subscribe<PolicyCallEvent>;
  readonly onFailure: Subscribe<PolicyCallEvent>;
  readonly onSlowCall: Subscribe<PolicyCallEvent>;

  constructor(options: ResolvedCircuitBreakerOptions) {
    super();
    this.name = options.name;
    const events = new EventStream<CircuitBreakerEvent>('circuitBreaker', options.name, [
      'call',
      'reject',
      'state',
    ]);
    this.#events = events;
    this.onEvent = events.onEvent;
    this.onStateChange = events.on('state');
    this.onOpen = events.on('state', (e) => e.to === 'open');
    this.onHalfOpen = events.on('state', (e) => e.to === 'half-open');
    this.onClose = events.on('state', (e) => e.to === 'closed');
    this.onReject = events.on('reject');
    this.onSuccess = events.on('call', (e) => e.verdict === 'success');
    this.onFailure = events.on('call', (e) => e.verdict === 'failure');
    this.onSlowCall = events.on('call', (e) => e.slow === true);
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
    this.#settle(scope, token, verdict, result);
    return result;
  }

  /** Records a call's verdict; `token` is what enter() returned. */
  #settle(scope: Scope, token: Token, verdict: Verdict, result: Result): void {
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
    // A call its caller gave up on says nothing about failures, but if it was already slow it is slow
    // evidence: counted as a slow call (not a failure) while closed, so a hung downstream behind
    // callers' deadlines still opens the circuit on the slow-call rate.
    if (slow && verdict === IGNORED && sm.state === 'closed' && result instanceof Fail && scope.cancelled())
      verdict = SUCCESS;
    if (verdict !== SUCCESS) this.#noteFailure(verdict, result);
    this.#count(call.generation, verdict, slow);
    sm.record(call.generation, verdict, slow, now);
    if (this.#events.wants('call')) {
      this.#events.emit({
        type: 'call',
        policy: this.name,
        kind: this.kind,
        // What the caller got (a released permit: nothing); the breaker's own judgement is `verdict`.
        outcome: verdict === IGNORED && !(result instanceof Fail) ? 'ignored' : resultOutcome(result, scope),
        verdict: outcomeOf(verdict),
        durationMs,
        failure: verdict === FAILURE ? failureOf(result) : undefined,
        slow,
      });
    }
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
    return this.#slowMs !== Number.POSITIVE_INFINITY || this.#events.wants('call');
  }

  #retryAfter(now: number): number | undefined {
    const sm = this.#sm;
    if (sm.state === 'open') return Math.max(0, sm.openUntil - now);
    // Half-open with every probe taken: the probes may answer sooner, but by then half-open is over.
    if (sm.state === 'half-open' && this.options.halfOpen.maxDurationMs !== Number.POSITIVE_INFINITY) {
      return Math.max(0, sm.since + this.options.halfOpen.maxDurationMs - now);
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
    if (this.#events.wants('reject')) {
      this.#events.emit({
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
    if (this.#events.wants('state')) {
      this.#events.emit({
        type: 'state',
        policy: this.name,
        kind: this.kind,
        ...t,
        lastFailure: t.to === 'open' ? this.#lastFailure : undefined,
      });
    }
    if (t.to === 'closed') this.#lastFailure = undefined;
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
        this.#settle(permitScope, token, IGNORED, undefined);
        return;
      }
      this.#settle(permitScope, token, verdict, result);
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
    return exportState(this.#sm, this.#clock.now());
  }

  restore(state: CircuitBreakerState): void {
    importState(this.#sm, state, this.#clock.now());
    this.#lastFailure = undefined;
  }
}

// Permits are not tied to an execution: nothing about a caller's abort is known, so nothing is ignored
// for that reason.
const permitScope = { cancelled: () => false } as unknown as Scope;
