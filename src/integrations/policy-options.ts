// The policies an integration builds from its options: each option takes options for the policy the
// integration makes, a policy of the user's own, or false (none).
import { type BulkheadOptions, bulkhead } from '../bulkhead/index.js';
import { type CircuitBreakerOptions, circuitBreaker } from '../circuit-breaker/index.js';
import type { Clock, InvalidOptionError, Policy } from '../extend.js';
import { invalid, isPolicy } from '../extend.js';
import { BW_ERR_INVALID_OPTION } from '../index.js';
import { type TimeoutOptions, timeout } from '../timeout/index.js';

export { isPolicy };

/** `value` when it is options or a policy, false when false, `fallback` when undefined; else a TypeError. */
export function optionsOrPolicy<O>(path: string, value: unknown, fallback: O | false): O | false {
  if (value === undefined) return fallback;
  if (value === false) return false;
  if (typeof value !== 'object' || value === null) invalid(path, 'options, a policy or false', value);
  return value as O;
}

/**
 * Builds a policy from the user's options, so that an option error names the user's path
 * (`protect.bulkhead.limit`), not the policy's own (`bulkhead.limit`). `inner` is the path the policy
 * reports for what the user wrote at `path`.
 */
function build<P>(path: string, inner: string, make: () => P): P {
  try {
    return make();
  } catch (error) {
    throw atUserPath(error, inner, path);
  }
}

function isInvalidOption(error: unknown): error is InvalidOptionError {
  return (
    (error instanceof RangeError || error instanceof TypeError) &&
    (error as Partial<InvalidOptionError>).code === BW_ERR_INVALID_OPTION &&
    typeof (error as Partial<InvalidOptionError>).option === 'string'
  );
}

/** The same error (class, code, cause) with the option path `inner...` rewritten as `outer...`. */
function atUserPath(error: unknown, inner: string, outer: string): unknown {
  if (!isInvalidOption(error)) return error;
  const option = error.option;
  if (option !== inner && !option.startsWith(`${inner}.`)) return error;
  const renamed = outer + option.slice(inner.length);
  const message = error.message.replace(`"${option}"`, `"${renamed}"`);
  const cause = error.cause === undefined ? undefined : { cause: error.cause };
  const copy = (
    error instanceof RangeError ? new RangeError(message, cause) : new TypeError(message, cause)
  ) as InvalidOptionError;
  copy.code = BW_ERR_INVALID_OPTION;
  copy.option = renamed;
  return copy;
}

/** A bulkhead from a limit, options or a policy; null for undefined or false. */
export function buildBulkhead(
  path: string,
  name: string,
  clock: Clock,
  value: number | BulkheadOptions | Policy | false | undefined,
): Policy | null {
  if (typeof value === 'number') {
    return build(path, 'bulkhead.limit', () => bulkhead({ limit: value, name: `${name}:bulkhead`, clock }));
  }
  const given = optionsOrPolicy<BulkheadOptions | Policy>(path, value, false);
  if (given === false) return null;
  if (isPolicy(given)) return given;
  return build(path, 'bulkhead', () => bulkhead({ name: `${name}:bulkhead`, clock, ...given }));
}

/** A circuit breaker from options or a policy; null for undefined or false. */
export function buildBreaker(
  path: string,
  name: string,
  clock: Clock,
  value: CircuitBreakerOptions | Policy | false | undefined,
): Policy | null {
  const given = optionsOrPolicy<CircuitBreakerOptions | Policy>(path, value, false);
  if (given === false) return null;
  if (isPolicy(given)) return given;
  return build(path, 'circuitBreaker', () =>
    circuitBreaker({ name: `${name}:circuit-breaker`, clock, ...given }),
  );
}

/**
 * A timeout from a duration, options or a policy; null for undefined or false. Cooperative unless the
 * options say otherwise: the work of every integration ends when its signal aborts (fetch does, a pg
 * statement is cancelled, a request is answered at the deadline), so the cheaper strategy bounds it as
 * well as the aggressive one, and a bulkhead slot is held exactly as long as the work really runs.
 */
export function buildTimeout(
  path: string,
  name: string,
  clock: Clock,
  value: number | TimeoutOptions | Policy | false | undefined,
): Policy | null {
  if (typeof value === 'number') {
    return build(path, 'timeout.durationMs', () =>
      timeout({ durationMs: value, strategy: 'cooperative', name: `${name}:timeout`, clock }),
    );
  }
  const given = optionsOrPolicy<TimeoutOptions | Policy>(path, value, false);
  if (given === false) return null;
  if (isPolicy(given)) return given;
  return build(path, 'timeout', () =>
    timeout({ strategy: 'cooperative', name: `${name}:timeout`, clock, ...given }),
  );
}
