import { FAILURE } from '../core/classify.js';
import type { Scope } from '../core/context.js';
import { Emitter, type Subscribe } from '../core/events.js';
import { type Failure, failureOf } from '../core/failure.js';
import { Fail } from '../core/outcome.js';
import { Executor, type Policy, STAGES } from '../core/policy.js';
import type { Gate, Result, Stage } from '../core/stage.js';
import { resultOutcome, Telemetry } from '../core/telemetry.js';
import type { PolicyEvent } from '../metrics/events.js';
import type { Observable, SnapshotBase } from '../metrics/observable.js';
import { type FallbackOptions, type ResolvedFallbackOptions, resolveFallbackOptions } from './options.js';

export type { FallbackFn, FallbackOptions } from './options.js';

export interface FallbackEvent<R = unknown> {
  readonly policy: string;
  readonly failure: Failure<R>;
}

export interface FallbackSnapshot extends SnapshotBase {
  readonly kind: 'fallback';
  /** Totals since creation. */
  readonly executions: number;
  readonly fallbacks: number;
}

/** Replaces a failure with a value of type U. */
export interface FallbackPolicy<U, R = unknown> extends Policy<R, U>, Observable {
  readonly kind: 'fallback';
  readonly name: string;
  snapshot(): FallbackSnapshot;
  /** A failure is about to be replaced. */
  readonly onFallback: Subscribe<FallbackEvent<R>>;
}

/** Replaces failures (by default every error, including rejections of inner policies) with a value. */
export function fallback<U, R = unknown>(options: FallbackOptions<U, R>): FallbackPolicy<U, R> {
  return new Fallback<U, R>(resolveFallbackOptions(options));
}

class Fallback<U, R> extends Executor<R, U> implements FallbackPolicy<U, R>, Gate<number | undefined> {
  readonly stage = 'gate';
  readonly recovers = true;
  readonly kind = 'fallback';
  readonly name: string;
  readonly [STAGES]: readonly Stage[] = [this];
  readonly #options: ResolvedFallbackOptions<U>;
  readonly #onFallback = new Emitter<FallbackEvent<R>>();
  readonly onFallback = this.#onFallback.subscribe;
  readonly #tel: Telemetry;
  readonly onEvent: Subscribe<PolicyEvent>;
  #executions = 0;
  #fallbacks = 0;

  constructor(options: ResolvedFallbackOptions<U>) {
    super();
    this.name = options.name;
    this.#options = options;
    this.#tel = new Telemetry('fallback', options.name, ['call', 'fallback']);
    this.onEvent = this.#tel.emitter.subscribe;
  }

  snapshot(): FallbackSnapshot {
    return { kind: this.kind, name: this.name, executions: this.#executions, fallbacks: this.#fallbacks };
  }

  // --- Gate: a failure is replaced in exit ------------------------------------------------------------

  enter(_scope: Scope): number | undefined {
    this.#executions++;
    return this.#tel.wants('call') ? this.#options.clock.now() : undefined;
  }

  exit(scope: Scope, startedAt: number | undefined, result: Result): Result | Promise<Result> {
    const classifier = this.#options.classifier;
    if (
      (result instanceof Fail || classifier.checksResults) &&
      classifier.verdict(result, scope) === FAILURE
    ) {
      return this.#replace(scope, result, startedAt);
    }
    this.#called(startedAt, result, scope);
    return result;
  }

  async #replace(scope: Scope, result: Result, startedAt: number | undefined): Promise<Result> {
    const failure = failureOf<R>(result);
    this.#fallbacks++;
    if (this.#onFallback.active) this.#onFallback.emit({ policy: this.name, failure });
    if (this.#tel.wants('fallback')) this.#tel.emit({ type: 'fallback', policy: this.name, kind: this.kind });
    let replaced: Result;
    try {
      replaced = await this.#options.fallback(failure, scope);
    } catch (error) {
      replaced = new Fail(error);
    }
    this.#called(startedAt, replaced, scope);
    return replaced;
  }

  /** The outcome the caller gets, as a call event (when someone listens). */
  #called(startedAt: number | undefined, result: unknown, scope: Scope): void {
    if (startedAt === undefined || !this.#tel.wants('call')) return;
    this.#tel.call(resultOutcome(result, scope), this.#options.clock.now() - startedAt);
  }
}
