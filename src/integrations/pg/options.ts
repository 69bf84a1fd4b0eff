import type { BulkheadOptions, BulkheadPolicy } from '../../bulkhead/index.js';
import type { CircuitBreakerOptions, CircuitBreakerPolicy } from '../../circuit-breaker/index.js';
import type { Clock, Policy } from '../../extend.js';
import { boolean, checkKeys, invalid, resolveClock, resolveName } from '../../extend.js';
import type { RetryOptions, RetryPolicy } from '../../retry/index.js';
import type { TimeoutOptions, TimeoutPolicy } from '../../timeout/index.js';
import { isPolicy, optionsOrPolicy } from '../policy-options.js';

export interface ResilientPoolOptions {
  /** Prefix of the policies' names. Default 'pg'. */
  name?: string;
  /** Clock of the policies built from options. */
  clock?: Clock;
  /**
   * Retries: options or a RetryPolicy; false for none. Defaults: 3 retries, exponential backoff from
   * 20 ms with full jitter, `handle: isRetryablePgError` (conflicts, transient unavailability, and
   * connection failures before the query was sent).
   */
  retry?: RetryOptions | RetryPolicy | false;
  /** A circuit breaker for the database: options (default `{ handle: isPgOutage }`) or a CircuitBreakerPolicy; false for none. */
  circuitBreaker?: CircuitBreakerOptions | CircuitBreakerPolicy | false;
  /** Concurrency limit per attempt: a limit, options or a BulkheadPolicy. Default none (the pool has its own `max`). */
  bulkhead?: number | BulkheadOptions | BulkheadPolicy | false;
  /** Time allowed for each attempt (connect + query, or a whole transaction), ms, options or a TimeoutPolicy; false for none. Default 10 000. */
  timeout?: number | TimeoutOptions | TimeoutPolicy | false;
  /** Extra policies, outermost. */
  policy?: Policy;
  /** On abort (caller or timeout), ask the server to cancel the running statement. Default true. */
  cancel?: boolean;
  /**
   * Statements are idempotent: a connection lost after a query was sent is retried too (its effect is
   * unknown). Default false; per call with `{ idempotent }`.
   */
  idempotent?: boolean;
}

export interface ResolvedPoolOptions {
  readonly name: string;
  readonly clock: Clock;
  readonly retry: RetryOptions | RetryPolicy | false;
  readonly circuitBreaker: CircuitBreakerOptions | CircuitBreakerPolicy | false;
  readonly bulkhead: BulkheadOptions | BulkheadPolicy | false;
  readonly timeout: TimeoutOptions | TimeoutPolicy | false;
  readonly policy: Policy | undefined;
  readonly cancel: boolean;
  readonly idempotent: boolean;
}

const KEYS = [
  'name',
  'clock',
  'retry',
  'circuitBreaker',
  'bulkhead',
  'timeout',
  'policy',
  'cancel',
  'idempotent',
];

export const DEFAULT_PG_TIMEOUT_MS = 10_000;

export function resolvePoolOptions(options: ResilientPoolOptions = {}): ResolvedPoolOptions {
  const path = 'resilientPool';
  checkKeys(path, options, KEYS);
  if (options.policy !== undefined && !isPolicy(options.policy))
    invalid(`${path}.policy`, 'a breakwater policy or pipeline', options.policy);
  return Object.freeze({
    name: resolveName(path, options.name, 'pg'),
    clock: resolveClock(path, options.clock),
    retry: optionsOrPolicy<RetryOptions | RetryPolicy>(`${path}.retry`, options.retry, {}),
    circuitBreaker: optionsOrPolicy<CircuitBreakerOptions | CircuitBreakerPolicy>(
      `${path}.circuitBreaker`,
      options.circuitBreaker,
      {},
    ),
    bulkhead:
      typeof options.bulkhead === 'number'
        ? { limit: options.bulkhead }
        : optionsOrPolicy<BulkheadOptions | BulkheadPolicy>(`${path}.bulkhead`, options.bulkhead, false),
    timeout:
      typeof options.timeout === 'number'
        ? { durationMs: options.timeout }
        : optionsOrPolicy<TimeoutOptions | TimeoutPolicy>(`${path}.timeout`, options.timeout, {
            durationMs: DEFAULT_PG_TIMEOUT_MS,
          }),
    policy: options.policy,
    cancel: boolean(`${path}.cancel`, options.cancel, true),
    idempotent: boolean(`${path}.idempotent`, options.idempotent, false),
  });
}
