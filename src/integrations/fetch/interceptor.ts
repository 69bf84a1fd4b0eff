import type {
  CircuitBreakerOptions,
  CircuitBreakerPolicy,
  CircuitPermit,
} from '../../circuit-breaker/index.js';
import type { Clock } from '../../extend.js';
import {
  checkKeys,
  func,
  guarded,
  invalid,
  isFiniteNumber,
  number,
  resolveClock,
  resolveName,
} from '../../extend.js';
import { BrokenCircuitError } from '../../index.js';
import { breakerFactory } from './breaker-factory.js';
import { HttpStatusError } from './http-error.js';
import { type KeyedBreakers, keyedBreakers } from './keyed-breakers.js';
import { defaultIsFailure } from './options.js';
import { parseRetryAfter } from './retry-after.js';

// undici 7's handler API (onRequestStart ... onResponseError), typed here so that no type from undici
// is needed: `Dispatcher.compose` hands every interceptor a handler of this shape (it wraps legacy ones).
interface Controller {
  readonly aborted: boolean;
  readonly reason: Error | null;
}
interface Handler {
  onRequestStart?(controller: Controller, context: unknown): void;
  onRequestUpgrade?(controller: Controller, statusCode: number, headers: unknown, socket: unknown): void;
  onResponseStart?(
    controller: Controller,
    statusCode: number,
    headers: Record<string, string | string[] | undefined>,
    statusMessage?: string,
  ): void;
  onResponseData?(controller: Controller, chunk: unknown): void;
  onResponseEnd?(controller: Controller, trailers: unknown): void;
  onResponseError?(controller: Controller, error: Error): void;
}
interface DispatchOptions {
  readonly origin?: string | URL;
}

export interface CircuitBreakerInterceptorOptions {
  /** Prefix of the breakers' names. Default 'undici'. */
  name?: string;
  clock?: Clock;
  /** Options of each origin's breaker, or a factory of your own breakers. Default `{}`. */
  circuitBreaker?: CircuitBreakerOptions | ((key: string) => CircuitBreakerPolicy);
  /** Default 256. */
  maxBreakers?: number;
  /** Default 600 000 (10 min). */
  breakerIdleMs?: number;
  /** Statuses that count as failures. Default: 5xx and 429. */
  isFailure?: (status: number) => boolean;
  /** Wall clock for HTTP-date Retry-After values. Default Date.now. */
  now?: () => number;
}

/** An undici interceptor (`dispatch => dispatch`), plus its breakers. */
export interface CircuitBreakerInterceptor {
  // biome-ignore lint/suspicious/noExplicitAny: matches undici's Dispatch without importing its types
  <D extends (options: any, handler: any) => boolean>(dispatch: D): D;
  readonly breakers: KeyedBreakers;
}

const KEYS = ['name', 'clock', 'circuitBreaker', 'maxBreakers', 'breakerIdleMs', 'isFailure', 'now'];

/**
 * Per-origin circuit breakers for an undici dispatcher: `new Agent().compose(circuitBreakerInterceptor())`.
 * While an origin's circuit is open its requests fail at once (fetch rejects with a TypeError whose
 * `cause` is the BrokenCircuitError) without touching the network. A request counts as failed when its
 * status is a failure (5xx, 429) or it errors; a request its caller aborted counts for nothing.
 * Retries are left to undici's own retry interceptor, composed after this one.
 */
export function circuitBreakerInterceptor(
  options: CircuitBreakerInterceptorOptions = {},
): CircuitBreakerInterceptor {
  const path = 'circuitBreakerInterceptor';
  checkKeys(path, options, KEYS);
  const name = resolveName(path, options.name, 'undici');
  const clock = resolveClock(path, options.clock);
  const cb = options.circuitBreaker ?? {};
  if (typeof cb !== 'function' && (typeof cb !== 'object' || cb === null))
    invalid(`${path}.circuitBreaker`, 'breaker options or a factory (key) => CircuitBreakerPolicy', cb);
  const isFailure = func(`${path}.isFailure`, options.isFailure, defaultIsFailure);
  const now = func(`${path}.now`, options.now, Date.now);
  const breakers = keyedBreakers({
    create: breakerFactory(`${path}.circuitBreaker`, name, clock, cb),
    maxKeys: number(`${path}.maxBreakers`, options.maxBreakers, 256, { min: 1, integer: true }),
    idleMs: number(`${path}.breakerIdleMs`, options.breakerIdleMs, 600_000, {
      min: 0,
      exclusiveMin: true,
      infinite: true,
    }),
    clock,
    callback: `${path}.circuitBreaker`,
    policy: name,
  });
  const judge = new Judge(name, isFailure, now);
  const interceptor =
    (dispatch: (options: DispatchOptions, handler: Handler) => boolean) =>
    (opts: DispatchOptions, handler: Handler): boolean => {
      const origin = opts.origin === undefined ? '' : new URL(String(opts.origin)).origin;
      const breaker = breakers.tryGet(origin);
      // The factory failed (reported): the request goes out unguarded rather than not at all.
      if (breaker === undefined) return dispatch(opts, handler);
      const permit = breaker.tryAcquire();
      if (permit instanceof BrokenCircuitError) {
        // Reported on a later tick, as a network error would be: the caller is not re-entered.
        queueMicrotask(() => handler.onResponseError?.(REJECTED, permit));
        return true;
      }
      return dispatch(opts, new PermitHandler(handler, permit, judge));
    };
  Object.defineProperty(interceptor, 'breakers', { value: breakers, enumerable: true });
  return interceptor as unknown as CircuitBreakerInterceptor;
}

const REJECTED: Controller = Object.freeze({ aborted: false, reason: null });

/** The user's `isFailure` and `now`, guarded: a throwing one is reported and its default used. */
class Judge {
  constructor(
    readonly name: string,
    readonly isFailure: (status: number) => boolean,
    readonly now: () => number,
  ) {}

  /** The failure a response stands for, or undefined for a success. */
  failure(status: number, retryAfter: string | undefined): HttpStatusError | undefined {
    const path = 'circuitBreakerInterceptor';
    if (!guarded(this.isFailure, status, defaultIsFailure, `${path}.isFailure`, this.name)) return undefined;
    const now = guarded(this.now, undefined, Date.now, `${path}.now`, this.name, isFiniteNumber);
    return new HttpStatusError(status, parseRetryAfter(retryAfter, now));
  }
}

/** Forwards every callback and reports the request's outcome to its permit exactly once. */
class PermitHandler implements Handler {
  #settled = false;

  constructor(
    readonly inner: Handler,
    readonly permit: CircuitPermit,
    readonly judge: Judge,
  ) {}

  #settle(verdict: () => void): void {
    if (this.#settled) return;
    this.#settled = true;
    verdict();
  }

  onRequestStart(controller: Controller, context: unknown): void {
    this.inner.onRequestStart?.(controller, context);
  }

  onRequestUpgrade(controller: Controller, statusCode: number, headers: unknown, socket: unknown): void {
    this.#settle(() => this.permit.success());
    this.inner.onRequestUpgrade?.(controller, statusCode, headers, socket);
  }

  onResponseStart(
    controller: Controller,
    statusCode: number,
    headers: Record<string, string | string[] | undefined>,
    statusMessage?: string,
  ): void {
    // 1xx answers are interim: the real status follows.
    if (statusCode >= 200) {
      this.#settle(() => {
        const retryAfter = headers['retry-after'];
        const failure = this.judge.failure(
          statusCode,
          Array.isArray(retryAfter) ? retryAfter[0] : retryAfter,
        );
        if (failure === undefined) this.permit.success();
        else this.permit.failure(failure);
      });
    }
    this.inner.onResponseStart?.(controller, statusCode, headers, statusMessage);
  }

  onResponseData(controller: Controller, chunk: unknown): void {
    this.inner.onResponseData?.(controller, chunk);
  }

  onResponseEnd(controller: Controller, trailers: unknown): void {
    this.#settle(() => this.permit.success());
    this.inner.onResponseEnd?.(controller, trailers);
  }

  onResponseError(controller: Controller, error: Error): void {
    // The caller aborting says nothing about the origin's health.
    this.#settle(() => (controller?.aborted ? this.permit.release() : this.permit.failure(error)));
    this.inner.onResponseError?.(controller, error);
  }
}
