import { reportCallbackError, reportRejection } from '../../core/report.js';

/**
 * Calls a synchronous user callback (a key function, a predicate, a clock, a factory). A throw, or a
 * value `accept` refuses, is reported and replaced by `fallback(arg)`, the callback's documented
 * default. A promise is refused unless `accept` takes it: an `async` callback answers too late, and its
 * rejection is reported rather than left unhandled.
 */
export function callback<A, R>(
  fn: (arg: A) => R,
  arg: A,
  fallback: (arg: A) => R,
  accept: (value: unknown) => boolean,
  name: string,
  policy: string,
): R {
  let value: R;
  try {
    value = fn(arg);
  } catch (error) {
    reportCallbackError(name, policy, error);
    return fallback(arg);
  }
  if (accept(value)) return value;
  reportRejection(value, name, policy);
  reportCallbackError(name, policy, new TypeError(`${name} returned ${show(value)}`));
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
