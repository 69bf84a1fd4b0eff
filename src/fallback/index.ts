import { FAILURE } from '../core/classify.js';
import type { Scope } from '../core/context.js';
import { Emitter, type Subscribe } from '../core/events.js';
import { type Failure, failureOf } from '../core/failure.js';
import { Fail } from '../core/outcome.js';
import {
  type Continue,
  type Edge,
  Executor,
  finisher,
  fusable,
  type Invoke,
  type Policy,
  type Runner,
  run,
  STAGES,
  type Stage,
  type Wrapper,
} from '../core/policy.js';
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

class Fallback<U, R> extends Executor<R, U> implements FallbackPolicy<U, R>, Wrapper {
  readonly stage = 'wrapper';
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

  wrap(inner: Invoke, edge: Edge): Runner {
    const { classifier, clock } = this.#options;
    const checksResults = classifier.checksResults;
    const done = finisher(edge);
    return fusable((scope, then) => {
      const k = then ?? done;
      this.#executions++;
      const startedAt = this.#tel.wants('call') ? clock.now() : Number.NaN;
      return run(inner, scope, (result) => {
        if ((result instanceof Fail || checksResults) && classifier.verdict(result, scope) === FAILURE) {
          return this.#replace(scope, result, k, startedAt);
        }
        this.#called(startedAt, result, scope);
        return k(result);
      });
    });
  }

  async #replace(scope: Scope, result: unknown, k: Continue, startedAt: number): Promise<unknown> {
    const failure = failureOf<R>(result);
    this.#fallbacks++;
    if (this.#onFallback.active) this.#onFallback.emit({ policy: this.name, failure });
    if (this.#tel.wants('fallback')) this.#tel.emit({ type: 'fallback', policy: this.name, kind: this.kind });
    let replaced: unknown;
    try {
      replaced = await this.#options.fallback(failure, scope);
    } catch (error) {
      replaced = new Fail(error);
    }
    this.#called(startedAt, replaced, scope);
    return k(replaced);
  }

  /** The outcome the caller gets, as a call event (when someone listens). */
  #called(startedAt: number, result: unknown, scope: Scope): void {
    if (Number.isNaN(startedAt) || !this.#tel.wants('call')) return;
    this.#tel.call(resultOutcome(result, scope), this.#options.clock.now() - startedAt);
  }
}
