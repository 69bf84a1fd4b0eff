import { IGNORED, SUCCESS, type Verdict } from '../core/classify.js';
import type { Clock, RandomSource } from '../core/clock.js';
import type { Scope } from '../core/context.js';
import { ThrottledError } from '../core/errors.js';
import type { Subscribe } from '../core/events.js';
import { Fail } from '../core/outcome.js';
import { Executor, type Policy, STAGES } from '../core/policy.js';
import type { Gate, Result, Stage } from '../core/stage.js';
import { EventStream, outcomeOf, resultOutcome } from '../metrics/event-stream.js';
import type { AdaptiveThrottleEvent, PolicyRejectEvent } from '../metrics/events.js';
import type { Observable, SnapshotBase } from '../metrics/observable.js';
import {
  type AdaptiveThrottleOptions,
  type ResolvedAdaptiveThrottleOptions,
  resolveAdaptiveThrottleOptions,
} from './options.js';
import { ThrottleWindow } from './window.js';

export { BW_ERR_THROTTLED, ThrottledError } from '../core/errors.js';
export type { AdaptiveThrottleOptions } from './options.js';

export interface AdaptiveThrottleSnapshot extends SnapshotBase {
  readonly kind: 'adaptiveThrottle';
  readonly k: number;
  readonly windowMs: number;
  /** Requests in the window (local rejections included) and accepts by the backend. */
  readonly requests: number;
  readonly accepts: number;
  /** Probability that the next call is rejected locally. */
  readonly rejectionProbability: number;
  /** Totals since creation: calls that entered, and calls rejected locally. */
  readonly calls: number;
  readonly throttled: number;
}

/** A permit from `tryAcquire()`: report exactly one outcome (further reports are ignored). */
export interface ThrottlePermit {
  /** The backend answered with `result` (judged by `handleResult` when configured). */
  success(result?: unknown): void;
  /** The call failed with `error` (judged by `handle` / `ignore`: a client-side error is still an accept). */
  failure(error: unknown): void;
  /** The call ended without saying anything about the backend (cancelled): it is not counted. */
  release(): void;
}

export interface AdaptiveThrottlePolicy<R = unknown> extends Policy<R>, Observable {
  readonly kind: 'adaptiveThrottle';
  readonly name: string;
  readonly options: ResolvedAdaptiveThrottleOptions;
  /** For integrations without a promise to wrap: a permit, or the local rejection. */
  tryAcquire(): ThrottlePermit | ThrottledError;
  snapshot(): AdaptiveThrottleSnapshot;
  readonly onEvent: Subscribe<AdaptiveThrottleEvent>;
  /** A call was rejected locally (reason `throttled`), with the rejection `probability`. */
  readonly onReject: Subscribe<PolicyRejectEvent>;
}

/**
 * Client-side adaptive throttling (Google SRE book, "Handling Overload"): counts requests and backend
 * accepts over a rolling window and rejects calls locally with probability
 * max(0, (requests - k * accepts) / (requests + 1)), so a client facing a backend that sheds load stops
 * sending it much more than it can accept. See docs/adaptive.md.
 */
export function adaptiveThrottle<R = unknown>(
  options?: AdaptiveThrottleOptions<R>,
): AdaptiveThrottlePolicy<R> {
  return new Throttle<R>(resolveAdaptiveThrottleOptions(options));
}

/** Token of an admitted call when a 'call' listener wants its duration. */
class Timed {
  constructor(
    readonly epoch: number,
    readonly startedAt: number,
  ) {}
}

/** The window epoch the call was admitted in, timed when a 'call' listener was there. */
type Token = number | Timed;

class Throttle<R> extends Executor<R> implements AdaptiveThrottlePolicy<R>, Gate<Token> {
  readonly stage = 'gate';
  readonly kind = 'adaptiveThrottle';
  readonly name: string;
  readonly options: ResolvedAdaptiveThrottleOptions;
  readonly [STAGES]: readonly Stage[] = [this];
  readonly #clock: Clock;
  readonly #random: RandomSource;
  readonly #k: number;
  readonly #padding: number;
  readonly #maxP: number;
  readonly #window: ThrottleWindow;
  #calls = 0;
  #throttled = 0;
  readonly #events: EventStream<AdaptiveThrottleEvent>;
  readonly onEvent: Subscribe<AdaptiveThrottleEvent>;
  readonly onReject: Subscribe<PolicyRejectEvent>;

  constructor(options: ResolvedAdaptiveThrottleOptions) {
    super();
    this.name = options.name;
    this.options = options;
    this.#clock = options.clock;
    this.#random = options.random;
    this.#k = options.k;
    this.#padding = options.padding;
    this.#maxP = options.maxRejectionProbability;
    this.#window = new ThrottleWindow(options.windowMs, options.buckets);
    const events = new EventStream<AdaptiveThrottleEvent>('adaptiveThrottle', options.name, [
      'call',
      'reject',
    ]);
    this.#events = events;
    this.onEvent = events.onEvent;
    this.onReject = events.on('reject');
  }

  enter(_scope: Scope): Token | Fail {
    const now = this.#clock.now();
    const w = this.#window;
    w.advance(now);
    const p = this.#probability();
    // A local rejection is a request too (SRE book). Counting all the application asked for is what
    // puts the equilibrium at backend load = k * accepts; counting only sent requests would settle at
    // sqrt(demand * k * accepts) instead.
    w.addRequest();
    this.#calls++;
    if (p > 0 && this.#random() < p) return this.#reject(p);
    return this.#events.wants('call') ? new Timed(w.epoch, now) : w.epoch;
  }

  exit(scope: Scope, token: Token, result: Result): Result {
    const classifier = this.options.classifier;
    const verdict: Verdict =
      result instanceof Fail || classifier.checksResults ? classifier.verdict(result, scope) : SUCCESS;
    this.#record(token, verdict);
    if (token instanceof Timed && this.#events.wants('call')) {
      this.#events.call(
        resultOutcome(result, scope),
        this.#clock.now() - token.startedAt,
        outcomeOf(verdict),
      );
    }
    return result;
  }

  #probability(): number {
    return Math.min(this.#maxP, this.#window.probability(this.#k, this.#padding));
  }

  #record(token: unknown, verdict: Verdict): void {
    if (verdict === SUCCESS) this.#window.addAccept();
    else if (verdict === IGNORED)
      this.#window.removeRequest(token instanceof Timed ? token.epoch : (token as number));
  }

  #reject(probability: number): Fail {
    this.#throttled++;
    if (this.#events.wants('reject')) {
      this.#events.emit({
        type: 'reject',
        policy: this.name,
        kind: this.kind,
        reason: 'throttled',
        retryAfterMs: undefined,
        probability,
      });
    }
    return new Fail(ThrottledError.create(this.name, probability));
  }

  tryAcquire(): ThrottlePermit | ThrottledError {
    const token = this.enter(permitScope);
    if (token instanceof Fail) return token.error as ThrottledError;
    const classifier = this.options.classifier;
    let done = false;
    const finish = (verdict: Verdict) => {
      if (done) return;
      done = true;
      this.#record(token, verdict);
    };
    return {
      success: (result?: unknown) =>
        finish(classifier.checksResults ? classifier.verdict(result, permitScope) : SUCCESS),
      failure: (error: unknown) => finish(classifier.verdict(new Fail(error), permitScope)),
      release: () => finish(IGNORED),
    };
  }

  snapshot(): AdaptiveThrottleSnapshot {
    const w = this.#window;
    w.advance(this.#clock.now());
    return {
      kind: this.kind,
      name: this.name,
      k: this.#k,
      windowMs: this.options.windowMs,
      requests: w.requests,
      accepts: w.accepts,
      rejectionProbability: this.#probability(),
      calls: this.#calls,
      throttled: this.#throttled,
    };
  }
}

// Permits are not tied to an execution: no caller abort is known, so nothing is ignored for that reason.
const permitScope = { cancelled: () => false } as unknown as Scope;
