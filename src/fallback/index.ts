import { FAILURE } from '../core/classify.js';
import type { Scope } from '../core/context.js';
import type { Subscribe } from '../core/events.js';
import { failureOf } from '../core/failure.js';
import { Fail } from '../core/outcome.js';
import { Executor, type Policy, STAGES } from '../core/policy.js';
import type { Gate, Result, Stage } from '../core/stage.js';
import { EventStream, resultOutcome } from '../metrics/event-stream.js';
import type { FallbackEvent, PolicyFallbackEvent } from '../metrics/events.js';
import type { Observable, SnapshotBase } from '../metrics/observable.js';
import { type FallbackOptions, type ResolvedFallbackOptions, resolveFallbackOptions } from './options.js';

export type { FallbackFn, FallbackOptions } from './options.js';

export interface FallbackSnapshot extends SnapshotBase {
  readonly kind: 'fallback';
  /** Totals since creation. */
  readonly calls: number;
  readonly fallbacks: number;
}

/** Replaces a failure with a value of type U. */
export interface FallbackPolicy<U, R = unknown> extends Policy<R, U>, Observable {
  readonly kind: 'fallback';
  readonly name: string;
  snapshot(): FallbackSnapshot;
  /** Every event of the policy: `call` and `fallback`. */
  readonly onEvent: Subscribe<FallbackEvent>;
  /** A failure is about to be replaced. */
  readonly onFallback: Subscribe<PolicyFallbackEvent>;
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
  readonly #events: EventStream<FallbackEvent>;
  readonly onEvent: Subscribe<FallbackEvent>;
  readonly onFallback: Subscribe<PolicyFallbackEvent>;
  #calls = 0;
  #fallbacks = 0;

  constructor(options: ResolvedFallbackOptions<U>) {
    super();
    this.name = options.name;
    this.#options = options;
    const events = new EventStream<FallbackEvent>('fallback', options.name, ['call', 'fallback']);
    this.#events = events;
    this.onEvent = events.onEvent;
    this.onFallback = events.on('fallback');
  }

  snapshot(): FallbackSnapshot {
    return { kind: this.kind, name: this.name, calls: this.#calls, fallbacks: this.#fallbacks };
  }

  // --- Gate: a failure is replaced in exit ------------------------------------------------------------

  enter(_scope: Scope): number | undefined {
    this.#calls++;
    return this.#events.wants('call') ? this.#options.clock.now() : undefined;
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
    if (this.#events.wants('fallback')) {
      this.#events.emit({ type: 'fallback', policy: this.name, kind: this.kind, failure });
    }
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
    if (startedAt === undefined || !this.#events.wants('call')) return;
    this.#events.call(resultOutcome(result, scope), this.#options.clock.now() - startedAt);
  }
}
