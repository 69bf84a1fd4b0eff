import type { Scope } from './context.js';
import { isUnknownOutcome, RejectedError } from './errors.js';
import { invalid } from './options.js';
import { Fail } from './outcome.js';
import { reportCallbackError } from './report.js';

/** How a policy judges one outcome. */
export const SUCCESS = 0;
export const FAILURE = 1;
/** Neither success nor failure: not recorded, not retried, not replaced by a fallback. */
export const IGNORED = 2;
export type Verdict = typeof SUCCESS | typeof FAILURE | typeof IGNORED;

// biome-ignore lint/suspicious/noExplicitAny: constructor parameter lists of user error classes vary
export type ErrorClass = abstract new (...args: any[]) => Error;
/** An error class (matched with `instanceof`), a list of them, or a predicate. */
export type ErrorMatcher = ErrorClass | readonly ErrorClass[] | ((error: unknown) => boolean);

export interface ClassifyOptions<R = unknown> {
  /** Errors that count as failures. Default: every error. Other errors count as successes. */
  handle?: ErrorMatcher;
  /** Results that count as failures (e.g. `r => r.status >= 500`). Default: none. */
  handleResult?: (result: R) => boolean;
  /** Errors that count as neither success nor failure. Checked before `handle`. */
  ignore?: ErrorMatcher;
}

export const CLASSIFY_KEYS = ['handle', 'handleResult', 'ignore'] as const;

function isErrorClass(value: Function): value is ErrorClass {
  return value === Error || value.prototype instanceof Error;
}

function compileMatcher(path: string, matcher: unknown): ((error: unknown) => boolean) | undefined {
  if (matcher === undefined) return undefined;
  if (typeof matcher === 'function') {
    if (isErrorClass(matcher)) return (error) => error instanceof matcher;
    return matcher as (error: unknown) => boolean;
  }
  if (Array.isArray(matcher)) {
    const classes = matcher.map((c, i) => {
      if (typeof c !== 'function' || !isErrorClass(c)) invalid(`${path}[${i}]`, 'an Error subclass', c);
      return c;
    });
    return (error) => classes.some((c) => error instanceof c);
  }
  return invalid(path, 'an Error subclass, an array of them, or a predicate', matcher);
}

/**
 * Asks a user predicate; undefined when it threw. A throw must not break the pipeline: it is reported,
 * and whatever the predicate was (`handle`, `ignore`, `handleResult`) the outcome then counts as a
 * failure: the safe side for every policy (a breaker counts it, a retry retries within its bounds).
 */
function safely(
  predicate: (value: unknown) => boolean,
  value: unknown,
  callback: string,
  policy: string,
): boolean | undefined {
  try {
    return predicate(value) === true;
  } catch (error) {
    reportCallbackError(callback, policy, error);
    return undefined;
  }
}

/** What a policy ignores unless told otherwise. */
export interface ClassifierDefaults {
  /** Rejections of inner policies (`RejectedError`): load shedding, not the downstream failing (breakers). */
  readonly ignoreRejections?: boolean;
  /** Errors of unknown outcome (`isUnknownOutcome`), unless `handle` is given (policies that repeat calls). */
  readonly ignoreUnknownOutcomes?: boolean;
}

/**
 * Judges outcomes for one policy. Built once at construction. Work that was called off (the caller
 * aborted, a hedged attempt lost) is always ignored: it says nothing about the downstream's health.
 */
export class Classifier {
  /** True when successful results must be inspected (a `handleResult` predicate exists). */
  readonly checksResults: boolean;
  readonly #handle: ((error: unknown) => boolean) | undefined;
  readonly #ignore: ((error: unknown) => boolean) | undefined;
  readonly #handleResult: ((result: unknown) => boolean) | undefined;
  readonly #ignoreRejections: boolean;
  readonly #ignoreUnknownOutcomes: boolean;
  readonly #policy: string;
  /** Callback names for reports, built once. */
  readonly #names: { readonly handle: string; readonly ignore: string; readonly handleResult: string };

  constructor(
    policy: string,
    path: string,
    options: ClassifyOptions<never> | undefined,
    defaults: ClassifierDefaults,
  ) {
    this.#policy = policy;
    this.#names = {
      handle: `${path}.handle`,
      ignore: `${path}.ignore`,
      handleResult: `${path}.handleResult`,
    };
    this.#handle = compileMatcher(`${path}.handle`, options?.handle);
    this.#ignore = compileMatcher(`${path}.ignore`, options?.ignore);
    const handleResult = options?.handleResult;
    if (handleResult !== undefined && typeof handleResult !== 'function') {
      invalid(`${path}.handleResult`, 'a function', handleResult);
    }
    this.#handleResult = handleResult as ((result: unknown) => boolean) | undefined;
    this.checksResults = handleResult !== undefined;
    this.#ignoreRejections = defaults.ignoreRejections === true;
    this.#ignoreUnknownOutcomes = defaults.ignoreUnknownOutcomes === true;
  }

  /** `result` is a value or a Fail; `scope` tells whether the work was called off. */
  verdict(result: unknown, scope: Scope): Verdict {
    if (result instanceof Fail) return this.errorVerdict(result.error, scope);
    if (this.#handleResult === undefined) return SUCCESS;
    return safely(this.#handleResult, result, this.#names.handleResult, this.#policy) === false
      ? SUCCESS
      : FAILURE;
  }

  errorVerdict(error: unknown, scope: Scope): Verdict {
    if (scope.cancelled()) return IGNORED;
    if (this.#ignoreRejections && error instanceof RejectedError) return IGNORED;
    if (this.#ignore !== undefined) {
      const ignored = safely(this.#ignore, error, this.#names.ignore, this.#policy);
      if (ignored === undefined) return FAILURE;
      if (ignored) return IGNORED;
    }
    if (this.#handle === undefined) {
      // Repeating a call that may have taken effect could apply it twice: only a `handle` can ask for it.
      return this.#ignoreUnknownOutcomes && isUnknownOutcome(error) ? IGNORED : FAILURE;
    }
    // An error the policy does not handle says the downstream answered: it counts as a success
    // (a 404 is a healthy server), as in resilience4j. Use `ignore` for "neither".
    return safely(this.#handle, error, this.#names.handle, this.#policy) === false ? SUCCESS : FAILURE;
  }
}
