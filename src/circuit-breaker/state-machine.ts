import { FAILURE, IGNORED, type Verdict } from '../core/classify.js';
import type { CircuitStateName } from '../core/errors.js';
import { reportCallbackError } from '../core/report.js';
import { DEFAULT_BREAK_MS, type ResolvedCircuitBreakerOptions } from './options.js';
import { ConsecutiveWindow } from './windows/consecutive.js';
import { CountWindow } from './windows/count.js';
import { TimeWindow } from './windows/time.js';
import type { OutcomeWindow } from './windows/types.js';

export type TransitionReason =
  /** The failure rate of the window reached its threshold. */
  | 'failure-rate'
  /** The slow-call rate of the window reached its threshold. */
  | 'slow-call-rate'
  /** The consecutive-failure window reached its count. */
  | 'consecutive-failures'
  /** The break ended: the next call (or the timer) moved the circuit to half-open. */
  | 'break-elapsed'
  /** Enough probes failed. */
  | 'probe-failed'
  /** Enough probes succeeded. */
  | 'probes-succeeded'
  /** Half-open lasted longer than `halfOpen.maxDurationMs`. */
  | 'half-open-max-duration'
  /** open(), close(), reset(), isolate(), disable(), metricsOnly() or the last isolation released. */
  | 'manual'
  /** restore() loaded a saved state. */
  | 'restored';

export interface Transition {
  readonly from: CircuitStateName;
  readonly to: CircuitStateName;
  readonly reason: TransitionReason;
  /** Clock time of the transition. */
  readonly at: number;
  /** Length of the break, when `to` is 'open'. */
  readonly breakMs: number | undefined;
  /** The window just before the transition (which clears it). */
  readonly calls: number;
  readonly failureRate: number;
  readonly slowCallRate: number;
}

/** Token returned when a call is refused. Admitted calls get the generation they started in (>= 0). */
export const REJECTED = -1;

export function createWindow(window: ResolvedCircuitBreakerOptions['window']): OutcomeWindow {
  switch (window.kind) {
    case 'consecutive':
      return new ConsecutiveWindow();
    case 'count':
      return new CountWindow(window.size);
    case 'time':
      return new TimeWindow(window.durationMs, window.buckets);
  }
}

/**
 * The breaker's rules, with no clock, timer or promise: every method takes `now`. A call is admitted
 * with the generation it started in, and its result counts only if no transition happened since, so a
 * slow call from before an open (or from a previous closed period) never skews the current state.
 */
export class BreakerStateMachine {
  state: CircuitStateName = 'closed';
  /** Incremented by every transition. */
  generation = 0;
  /** Clock time of the last transition. */
  since: number;
  /** When an open circuit lets the next call probe. */
  openUntil = 0;
  /** Opens since the circuit last closed: drives the break backoff. */
  consecutiveOpens = 0;
  lastBreakMs = 0;
  /** Live isolation handles; `isolationEpoch` invalidates handles on reset(). */
  isolations = 0;
  isolationEpoch = 0;
  /** Half-open bookkeeping: probes admitted (and not ignored), and their verdicts. */
  probes = 0;
  probeSuccesses = 0;
  probeFailures = 0;
  /** In-flight calls already slower than the threshold, maintained by the policy when enabled. */
  inflightSlow = 0;
  readonly window: OutcomeWindow;
  readonly #options: ResolvedCircuitBreakerOptions;
  readonly #onTransition: (transition: Transition) => void;

  constructor(
    options: ResolvedCircuitBreakerOptions,
    now: number,
    onTransition: (transition: Transition) => void,
  ) {
    this.#options = options;
    this.window = createWindow(options.window);
    this.since = now;
    this.#onTransition = onTransition;
  }

  /** Admission. Returns the call's generation, or REJECTED. May transition (break over, max wait, in-flight slow calls). */
  tryAcquire(now: number): number {
    switch (this.state) {
      case 'closed':
        if (this.inflightSlow > 0) {
          const reason = this.#judge(now);
          if (reason !== null) {
            this.open(now, reason);
            return REJECTED;
          }
        }
        return this.generation;
      case 'disabled':
      case 'metrics-only':
        return this.generation;
      case 'open':
        if (now < this.openUntil) return REJECTED;
        this.#transition('half-open', 'break-elapsed', now, undefined);
        return this.#probe(now);
      case 'half-open':
        return this.#probe(now);
      case 'isolated':
        return REJECTED;
    }
  }

  #probe(now: number): number {
    const { maxCalls, maxDurationMs, afterMaxDuration } = this.#options.halfOpen;
    if (now - this.since >= maxDurationMs) {
      if (afterMaxDuration === 'open') {
        this.open(now, 'half-open-max-duration');
        return REJECTED;
      }
      this.close(now, 'half-open-max-duration');
      return this.generation;
    }
    if (this.probes >= maxCalls) return REJECTED;
    this.probes++;
    return this.generation;
  }

  /** Records the verdict of a call admitted in `generation`; `slow` when it exceeded the slow threshold. */
  record(generation: number, verdict: Verdict, slow: boolean, now: number): void {
    if (generation !== this.generation) return;
    switch (this.state) {
      case 'closed': {
        if (verdict === IGNORED) return;
        const failed = verdict === FAILURE;
        this.window.record(failed, slow, now);
        if (failed || slow) {
          const reason = this.#judge(now);
          if (reason !== null) this.open(now, reason);
        }
        return;
      }
      case 'metrics-only':
        if (verdict !== IGNORED) this.window.record(verdict === FAILURE, slow, now);
        return;
      case 'half-open': {
        if (verdict === IGNORED) {
          // Frees the probe slot: an ignored probe tells nothing, another call may probe instead.
          this.probes--;
          return;
        }
        const { maxCalls, successThreshold } = this.#options.halfOpen;
        if (verdict === FAILURE || slow) this.probeFailures++;
        else this.probeSuccesses++;
        if (this.probeSuccesses >= successThreshold) this.close(now, 'probes-succeeded');
        else if (this.probeFailures > maxCalls - successThreshold) this.open(now, 'probe-failed');
        return;
      }
      default:
        return;
    }
  }

  /** The reason to open now, if the window says so. */
  #judge(now: number): TransitionReason | null {
    const o = this.#options;
    const w = this.window;
    if (o.window.kind === 'consecutive')
      return w.failures >= o.window.failures ? 'consecutive-failures' : null;
    w.advance(now);
    const calls = w.calls + this.inflightSlow;
    if (calls < o.minimumCalls || calls === 0) return null;
    if (w.failures / calls >= o.failureRateThreshold) return 'failure-rate';
    if (
      o.slowCallDurationMs !== Number.POSITIVE_INFINITY &&
      (w.slowCalls + this.inflightSlow) / calls >= o.slowCallRateThreshold
    ) {
      return 'slow-call-rate';
    }
    return null;
  }

  /** Rates of the window as of `now` (in-flight slow calls included when tracked). */
  rates(now: number): {
    calls: number;
    failures: number;
    slowCalls: number;
    failureRate: number;
    slowCallRate: number;
  } {
    const w = this.window;
    w.advance(now);
    const calls = w.calls + this.inflightSlow;
    const slowCalls = w.slowCalls + this.inflightSlow;
    return {
      calls,
      failures: w.failures,
      slowCalls,
      failureRate: calls === 0 ? 0 : w.failures / calls,
      slowCallRate: calls === 0 ? 0 : slowCalls / calls,
    };
  }

  /** Opens for `durationMs`, or for the break backoff's next duration. */
  open(now: number, reason: TransitionReason, durationMs?: number): void {
    this.consecutiveOpens++;
    const breakMs = durationMs ?? this.#nextBreak();
    this.lastBreakMs = breakMs;
    this.openUntil = now + breakMs;
    this.#transition('open', reason, now, breakMs);
  }

  /** The break backoff's next duration, capped; a custom backoff that throws or returns NaN gets the default. */
  #nextBreak(): number {
    const { breakDuration, maxBreakDurationMs, random, name } = this.#options;
    let ms: number;
    try {
      ms = breakDuration.delay(
        this.consecutiveOpens,
        this.lastBreakMs,
        random,
        maxBreakDurationMs,
        undefined as never,
      );
    } catch (error) {
      reportCallbackError('circuitBreaker.breakDurationMs', name, error);
      ms = DEFAULT_BREAK_MS;
    }
    if (!(ms >= 0)) ms = DEFAULT_BREAK_MS;
    return Math.min(maxBreakDurationMs, ms);
  }

  close(now: number, reason: TransitionReason): void {
    this.consecutiveOpens = 0;
    this.lastBreakMs = 0;
    this.#transition('closed', reason, now, undefined);
  }

  /** Moves open to half-open if the break is over (used by the optional timer). */
  expireBreak(now: number): boolean {
    if (this.state !== 'open' || now < this.openUntil) return false;
    this.#transition('half-open', 'break-elapsed', now, undefined);
    return true;
  }

  /** Half-open past its max wait moves on even without calls (used by snapshots and timers). */
  expireHalfOpen(now: number): void {
    if (this.state !== 'half-open' || now - this.since < this.#options.halfOpen.maxDurationMs) return;
    if (this.#options.halfOpen.afterMaxDuration === 'open') this.open(now, 'half-open-max-duration');
    else this.close(now, 'half-open-max-duration');
  }

  isolate(now: number): number {
    this.isolations++;
    if (this.state !== 'isolated') this.#transition('isolated', 'manual', now, undefined);
    return this.isolationEpoch;
  }

  releaseIsolation(epoch: number, now: number): void {
    if (epoch !== this.isolationEpoch || this.isolations === 0) return;
    this.isolations--;
    if (this.isolations === 0 && this.state === 'isolated') this.close(now, 'manual');
  }

  /** Manual state change (disable, metrics-only, close), refused while isolated. */
  setMode(to: 'closed' | 'disabled' | 'metrics-only', now: number): boolean {
    if (this.state === 'isolated') return false;
    if (this.state === to) return true;
    if (to === 'closed') this.close(now, 'manual');
    else this.#transition(to, 'manual', now, undefined);
    return true;
  }

  /** Back to a fresh closed circuit: window, backoff and isolation handles all cleared. */
  reset(now: number): void {
    this.isolations = 0;
    this.isolationEpoch++;
    this.close(now, 'manual');
  }

  /** Loads a saved state (see CircuitBreakerPolicy.restore); the window is imported by the caller first. */
  restore(
    state: 'closed' | 'open',
    now: number,
    openForMs: number,
    consecutiveOpens: number,
    lastBreakMs: number,
  ): void {
    this.isolations = 0;
    this.isolationEpoch++;
    this.consecutiveOpens = consecutiveOpens;
    this.lastBreakMs = lastBreakMs;
    this.openUntil = now + openForMs;
    this.#transition(state, 'restored', now, state === 'open' ? openForMs : undefined, false);
  }

  #transition(
    to: CircuitStateName,
    reason: TransitionReason,
    now: number,
    breakMs: number | undefined,
    clear = true,
  ): void {
    const from = this.state;
    const { calls, failureRate, slowCallRate } = this.rates(now);
    this.state = to;
    this.generation++;
    this.since = now;
    this.probes = this.probeSuccesses = this.probeFailures = 0;
    // Every new period starts from an empty window: a circuit that closes after recovery must not reopen
    // on one failure because of the failures that opened it.
    if (clear) this.window.reset();
    this.#onTransition({ from, to, reason, at: now, breakMs, calls, failureRate, slowCallRate });
  }
}
