import { Breaker } from './breaker.js';
import { type CircuitBreakerOptions, resolveCircuitBreakerOptions } from './options.js';
import type { CircuitBreakerPolicy } from './types.js';

export type { CircuitBreakerOptions, HalfOpenOptions, WindowOptions } from './options.js';
export type { Transition, TransitionReason } from './state-machine.js';
export type { CircuitBreakerPolicy, CircuitBreakerState, CircuitPermit, CircuitSnapshot } from './types.js';
export type { WindowExport } from './windows/types.js';

/**
 * A circuit breaker: stops calling a downstream that keeps failing, lets a few probes through after a
 * break, and closes again when they succeed. See docs/circuit-breaker.md.
 */
export function circuitBreaker<R = unknown>(options?: CircuitBreakerOptions<R>): CircuitBreakerPolicy<R> {
  return new Breaker<R>(resolveCircuitBreakerOptions(options));
}
