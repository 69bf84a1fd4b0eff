import { FAILURE } from '../core/classify.js';
import type { Scope } from '../core/context.js';
import { Emitter, type Subscribe } from '../core/events.js';
import { type Failure, failureOf } from '../core/failure.js';
import { Fail } from '../core/outcome.js';
import {
  type Edge,
  Executor,
  finish,
  type Invoke,
  type Policy,
  type Runner,
  run,
  STAGES,
  type Stage,
  type Wrapper,
} from '../core/policy.js';
import { type FallbackOptions, type ResolvedFallbackOptions, resolveFallbackOptions } from './options.js';

export type { FallbackFn, FallbackOptions } from './options.js';

export interface FallbackEvent<R = unknown> {
  readonly policy: string;
  readonly failure: Failure<R>;
}

/** Replaces a failure with a value of type U. */
export interface FallbackPolicy<U, R = unknown> extends Policy<R, U> {
  readonly name: string;
  /** A failure is about to be replaced. */
  readonly onFallback: Subscribe<FallbackEvent<R>>;
}

/** Replaces failures (by default every error, including rejections of inner policies) with a value. */
export function fallback<U, R = unknown>(options: FallbackOptions<U, R>): FallbackPolicy<U, R> {
  return new Fallback<U, R>(resolveFallbackOptions(options));
}

class Fallback<U, R> extends Executor<R, U> implements FallbackPolicy<U, R>, Wrapper {
  readonly kind = 'wrapper';
  readonly name: string;
  readonly [STAGES]: readonly Stage[] = [this];
  readonly #options: ResolvedFallbackOptions<U>;
  readonly #onFallback = new Emitter<FallbackEvent<R>>();
  readonly onFallback = this.#onFallback.subscribe;

  constructor(options: ResolvedFallbackOptions<U>) {
    super();
    this.name = options.name;
    this.#options = options;
  }

  wrap(inner: Invoke, edge: Edge): Runner {
    const { classifier } = this.#options;
    const checksResults = classifier.checksResults;
    return (scope) =>
      run(inner, scope, (result) =>
        (result instanceof Fail || checksResults) && classifier.verdict(result, scope) === FAILURE
          ? this.#replace(scope, result, edge)
          : finish(result, edge),
      );
  }

  async #replace(scope: Scope, result: unknown, edge: Edge): Promise<unknown> {
    const failure = failureOf<R>(result);
    if (this.#onFallback.active) this.#onFallback.emit({ policy: this.name, failure });
    let replaced: unknown;
    try {
      replaced = await this.#options.fallback(failure, scope);
    } catch (error) {
      replaced = new Fail(error);
    }
    return finish(replaced, edge);
  }
}
