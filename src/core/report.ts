import { channel } from 'node:diagnostics_channel';

// One rule for every user callback (predicates, key functions, hooks, listeners): a throw or a rejected
// promise is reported here and the caller goes on with the callback's safe default. A hook's error
// never replaces the task's outcome, never leaks a slot and never reaches the process as an unhandled
// rejection.

/** What a subscriber of `breakwater:callback-error` receives. */
export interface CallbackErrorEvent {
  /** The callback that failed, as documented: e.g. `bulkhead.isDrop`, `event listener`. */
  readonly callback: string;
  /** The policy (or integration) that called it. */
  readonly policy: string;
  readonly error: unknown;
}

/** Every callback error is published here, unthrottled; the process warning below is rate-limited. */
export const CALLBACK_ERROR_CHANNEL = 'breakwater:callback-error';
const errors = channel(CALLBACK_ERROR_CHANNEL);

/** A callback that fails on every call must not flood stderr: one warning per callback per interval. */
const WARNING_INTERVAL_MS = 10_000;
// Keyed by the callback's documented name (a fixed set), never by policy name: it stays small.
const lastWarning = new Map<string, { at: number; suppressed: number }>();

export function reportCallbackError(callback: string, policy: string, error: unknown): void {
  if (errors.hasSubscribers) errors.publish({ callback, policy, error } satisfies CallbackErrorEvent);
  const now = Date.now();
  const last = lastWarning.get(callback);
  if (last !== undefined && now - last.at < WARNING_INTERVAL_MS) {
    last.suppressed++;
    return;
  }
  const suppressed = last?.suppressed ?? 0;
  lastWarning.set(callback, { at: now, suppressed: 0 });
  const more = suppressed > 0 ? ` (${suppressed} more since the last warning)` : '';
  process.emitWarning(`breakwater: ${callback} of "${policy}" threw: ${describe(error)}${more}`, {
    code: 'BW_CALLBACK_ERROR',
    detail: error instanceof Error ? error.stack : undefined,
  });
}

function describe(error: unknown): string {
  if (error instanceof Error) return error.message;
  try {
    return String(error);
  } catch {
    return 'an unprintable value';
  }
}

/**
 * Calls a synchronous one-argument user callback (a predicate, a key function, a clock). A throw, or an
 * answer `accept` refuses, is reported and replaced by `fallback(arg)`, the callback's documented
 * default. By default a promise is refused: an `async` callback answers too late to be used, and its
 * rejection is reported rather than left unhandled.
 */
export function guarded<A, R>(
  fn: (arg: A) => R,
  arg: A,
  fallback: (arg: A) => R,
  callback: string,
  policy: string,
  accept: (value: unknown) => boolean = notPromise,
): R {
  let value: R;
  try {
    value = fn(arg);
  } catch (error) {
    reportCallbackError(callback, policy, error);
    return fallback(arg);
  }
  if (accept(value)) return value;
  reportRejection(value, callback, policy);
  reportCallbackError(callback, policy, new TypeError(`${callback} returned ${show(value)}`));
  return fallback(arg);
}

export const notPromise = (value: unknown): boolean => !(value instanceof Promise);
export const isString = (value: unknown): boolean => typeof value === 'string';
export const isFiniteNumber = (value: unknown): boolean => Number.isFinite(value);

function show(value: unknown): string {
  if (value instanceof Promise) return 'a promise (it must answer synchronously)';
  if (value === null) return 'null';
  if (typeof value === 'function') return 'a function';
  return typeof value === 'object' ? 'an object' : String(value);
}

/** Reports a rejection of a promise a callback returned (a listener declared `async`, say). */
export function reportRejection(value: unknown, callback: string, policy: string): void {
  if (value instanceof Promise)
    value.then(undefined, (error) => reportCallbackError(callback, policy, error));
}

/** For tests: forget the rate limit, so the next error warns again. */
export function resetCallbackWarnings(): void {
  lastWarning.clear();
}
