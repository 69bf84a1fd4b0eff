import type { BulkheadOptions, BulkheadPolicy } from '../../bulkhead/index.js';
import type { CircuitBreakerOptions, CircuitBreakerPolicy } from '../../circuit-breaker/index.js';
import type { Clock, Policy } from '../../extend.js';
import { boolean, checkKeys, func, invalid, number, resolveClock, resolveName } from '../../extend.js';
import type { RetryOptions, RetryPolicy } from '../../retry/index.js';
import type { TimeoutOptions, TimeoutPolicy } from '../../timeout/index.js';
import { isPolicy, optionsOrPolicy } from '../policy-options.js';
import type { ResponseLike } from './http-error.js';

/** Any fetch-shaped function: the global fetch, undici's `fetch`, node-fetch. */
// biome-ignore lint/suspicious/noExplicitAny: each fetch implementation has its own input and init types
export type FetchLike = (input: any, init?: any) => Promise<ResponseLike>;

export interface ResilientFetchOptions<F extends FetchLike = FetchLike> {
  /** The fetch to protect. Default: `globalThis.fetch`, read when `resilientFetch()` is called. */
  fetch?: F;
  /** Prefix of the policies' names (`fetch:retry`, `fetch:https://api.example.com`, ...). Default 'fetch'. */
  name?: string;
  /** Clock of the policies built from options (inject a FakeClock in tests). */
  clock?: Clock;
  /**
   * Retries of idempotent requests: options (defaults below) or your own RetryPolicy; false for none.
   * Defaults: 2 retries, exponential backoff from 100 ms with full jitter, `handle` = failure statuses
   * except 501/505, network errors and timeouts; `retryAfter` = the response's Retry-After.
   */
  retry?: RetryOptions | RetryPolicy | false;
  /** Time allowed for each attempt until the response headers arrive, ms, options, or a TimeoutPolicy; false for none. Default 10 000. */
  timeout?: number | TimeoutOptions | TimeoutPolicy | false;
  /**
   * A circuit breaker per origin (or per `breakerKey`): options for each (default `{}`), a factory of
   * your own breakers, or false for none.
   */
  circuitBreaker?: CircuitBreakerOptions | ((key: string) => CircuitBreakerPolicy) | false;
  /** Breakers kept at most; the least recently used is evicted beyond. Default 256. */
  maxBreakers?: number;
  /** Breakers unused this long are dropped, ms. Default 600 000 (10 min). */
  breakerIdleMs?: number;
  /** What the breakers are keyed by. Default: the URL's origin (`https://api.example.com:8443`). */
  breakerKey?: (url: URL) => string;
  /** Concurrency limit per attempt (shared by every origin): a limit, options or a BulkheadPolicy. Default none. */
  bulkhead?: number | BulkheadOptions | BulkheadPolicy | false;
  /** Extra policies, outermost (an overall timeout, a fallback, a shared bulkhead). Default none. */
  policy?: Policy;
  /** Statuses that count as failures (retried, recorded by breakers). Default: 5xx and 429. */
  isFailure?: (status: number) => boolean;
  /** Methods retried by default. Default GET, HEAD, OPTIONS, PUT, DELETE, TRACE (idempotent by RFC 9110). */
  retryMethods?: readonly string[];
  /** A request carrying this header is retried whatever its method (e.g. a POST with a key). Default 'idempotency-key'; false to disable. */
  idempotencyHeader?: string | false;
  /** Reject with HttpStatusError when the final response is a failure, instead of resolving it like fetch. Default false. */
  throwHttpErrors?: boolean;
  /** Wall clock for HTTP-date Retry-After values, epoch ms. Default Date.now. */
  now?: () => number;
}

export interface ResolvedFetchOptions {
  readonly fetch: FetchLike;
  readonly name: string;
  readonly clock: Clock;
  readonly retry: RetryOptions | RetryPolicy | false;
  readonly timeout: TimeoutOptions | TimeoutPolicy | false;
  readonly circuitBreaker: CircuitBreakerOptions | ((key: string) => CircuitBreakerPolicy) | false;
  readonly maxBreakers: number;
  readonly breakerIdleMs: number;
  readonly breakerKey: (url: URL) => string;
  readonly bulkhead: BulkheadOptions | BulkheadPolicy | false;
  readonly policy: Policy | undefined;
  readonly isFailure: (status: number) => boolean;
  readonly retryMethods: ReadonlySet<string>;
  readonly idempotencyHeader: string | false;
  readonly throwHttpErrors: boolean;
  readonly now: () => number;
}

const KEYS = [
  'fetch',
  'name',
  'clock',
  'retry',
  'timeout',
  'circuitBreaker',
  'maxBreakers',
  'breakerIdleMs',
  'breakerKey',
  'bulkhead',
  'policy',
  'isFailure',
  'retryMethods',
  'idempotencyHeader',
  'throwHttpErrors',
  'now',
];

export const IDEMPOTENT_METHODS: readonly string[] = Object.freeze([
  'GET',
  'HEAD',
  'OPTIONS',
  'PUT',
  'DELETE',
  'TRACE',
]);

export const DEFAULT_TIMEOUT_MS = 10_000;

export function defaultIsFailure(status: number): boolean {
  return status >= 500 || status === 429;
}

export function defaultBreakerKey(url: URL): string {
  return url.origin;
}

export function resolveFetchOptions(options: ResilientFetchOptions<FetchLike> = {}): ResolvedFetchOptions {
  const path = 'resilientFetch';
  checkKeys(path, options, KEYS);
  const fetchImpl = options.fetch ?? (globalThis.fetch as unknown as FetchLike | undefined);
  if (typeof fetchImpl !== 'function') invalid(`${path}.fetch`, 'a fetch function', fetchImpl);
  const retry = optionsOrPolicy<RetryOptions>(`${path}.retry`, options.retry, {});
  const timeout =
    typeof options.timeout === 'number'
      ? { durationMs: options.timeout }
      : optionsOrPolicy<TimeoutOptions>(`${path}.timeout`, options.timeout, {
          durationMs: DEFAULT_TIMEOUT_MS,
        });
  let circuitBreaker: ResolvedFetchOptions['circuitBreaker'] = {};
  if (options.circuitBreaker === false || typeof options.circuitBreaker === 'function') {
    circuitBreaker = options.circuitBreaker;
  } else if (options.circuitBreaker !== undefined) {
    if (
      typeof options.circuitBreaker !== 'object' ||
      options.circuitBreaker === null ||
      isPolicy(options.circuitBreaker)
    )
      invalid(
        `${path}.circuitBreaker`,
        'breaker options (one breaker is made per origin), a factory (key) => CircuitBreakerPolicy, or false',
        options.circuitBreaker,
      );
    circuitBreaker = options.circuitBreaker;
  }
  const bulkhead =
    typeof options.bulkhead === 'number'
      ? { limit: options.bulkhead }
      : optionsOrPolicy<BulkheadOptions>(`${path}.bulkhead`, options.bulkhead, false);
  if (options.policy !== undefined && !isPolicy(options.policy))
    invalid(`${path}.policy`, 'a breakwater policy or pipeline', options.policy);
  const methods = options.retryMethods ?? IDEMPOTENT_METHODS;
  if (!Array.isArray(methods) || methods.some((m) => typeof m !== 'string'))
    invalid(`${path}.retryMethods`, 'an array of method names', methods);
  const header = options.idempotencyHeader;
  if (header !== undefined && header !== false && (typeof header !== 'string' || header === ''))
    invalid(`${path}.idempotencyHeader`, 'a header name or false', header);
  return Object.freeze({
    fetch: fetchImpl,
    name: resolveName(path, options.name, 'fetch'),
    clock: resolveClock(path, options.clock),
    retry,
    timeout,
    circuitBreaker,
    maxBreakers: number(`${path}.maxBreakers`, options.maxBreakers, 256, { min: 1, integer: true }),
    breakerIdleMs: number(`${path}.breakerIdleMs`, options.breakerIdleMs, 600_000, {
      min: 0,
      exclusiveMin: true,
      infinite: true,
    }),
    breakerKey: func(`${path}.breakerKey`, options.breakerKey, defaultBreakerKey),
    bulkhead,
    policy: options.policy,
    isFailure: func(`${path}.isFailure`, options.isFailure, defaultIsFailure),
    retryMethods: new Set(methods.map((m) => m.toUpperCase())),
    idempotencyHeader: header === undefined ? 'idempotency-key' : header,
    throwHttpErrors: boolean(`${path}.throwHttpErrors`, options.throwHttpErrors, false),
    now: func(`${path}.now`, options.now, Date.now),
  });
}
