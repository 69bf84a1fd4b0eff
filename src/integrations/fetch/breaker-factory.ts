import {
  type CircuitBreakerOptions,
  type CircuitBreakerPolicy,
  circuitBreaker,
} from '../../circuit-breaker/index.js';
import type { Clock } from '../../extend.js';
import { buildBreaker } from '../policy-options.js';

/**
 * What the per-key breakers are made by: the user's factory, or one from options. Breakers are made on
 * a key's first call, so the options are validated here, at construction, by building one breaker and
 * dropping it; a bad option then throws now, naming `path`, instead of failing every request.
 */
export function breakerFactory(
  path: string,
  name: string,
  clock: Clock,
  value: CircuitBreakerOptions | ((key: string) => CircuitBreakerPolicy),
): (key: string) => CircuitBreakerPolicy {
  if (typeof value === 'function') return value;
  // A copy: replacing an option of the user's object later cannot undo the validation.
  const given: CircuitBreakerOptions = { ...value };
  buildBreaker(path, name, clock, given);
  const prefix = given.name ?? name;
  return (key) => circuitBreaker({ clock, ...given, name: `${prefix}:${key}` });
}
