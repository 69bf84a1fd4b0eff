// Inbound protection shared by the Express middleware and the Fastify plugin. It works on Node's raw
// ServerResponse and imports neither framework: each adapter supplies how to continue and how to answer.
import type { ServerResponse } from 'node:http';
import type { BulkheadOptions, BulkheadPolicy } from '../bulkhead/index.js';
import type { CircuitBreaker, CircuitBreakerOptions } from '../circuit-breaker/index.js';
import type { Clock } from '../core/clock.js';
import { resolveClock, resolveName } from '../core/common-options.js';
import type { Context } from '../core/context.js';
import { BreakwaterError, RejectedError, TimeoutError } from '../core/errors.js';
import { checkKeys, func, invalid, number } from '../core/options.js';
import type { Outcome } from '../core/outcome.js';
import type { Policy } from '../core/policy.js';
import { type Pipeline, pipeline } from '../pipeline.js';
import type { TimeoutOptions, TimeoutPolicy } from '../timeout/index.js';
import { HttpStatusError } from './fetch/http-error.js';
import { isPolicy } from './policy-options.js';

/** What inbound protection does to a route (or to every route, for the middleware or plugin). */
export interface InboundOptions {
  /** Prefix of the policies' names. */
  name?: string;
  /** Clock of the policies built from options. */
  clock?: Clock;
  /**
   * Load shedding: at most this many requests at once (an adaptive limit works too), the rest queued or
   * answered 503 + Retry-After. A number, bulkhead options or a BulkheadPolicy; false for none.
   */
  bulkhead?: number | BulkheadOptions | BulkheadPolicy | false;
  /** Answers 503 + Retry-After while the route keeps failing (5xx or timeouts). Options or a CircuitBreaker; false for none. */
  circuitBreaker?: CircuitBreakerOptions | CircuitBreaker | false;
  /**
   * Time allowed to answer, ms, options or a TimeoutPolicy; false for none. At the deadline the request's
   * signal aborts and, unless the handler already started answering, the request is answered `timeoutStatus`.
   */
  timeout?: number | TimeoutOptions | TimeoutPolicy | false;
  /** Extra policies, outermost (a rate limiter, say). */
  policy?: Policy;
  /** Statuses that count as failures for the breaker (and adaptive limits). Default: 5xx. */
  isFailure?: (status: number) => boolean;
  /** Status of a timeout answer. Default 503 (504 if you prefer "gateway timeout"). */
  timeoutStatus?: number;
  /** Retry-After of a 503 when the rejection does not say when to come back, seconds. Default 1. */
  retryAfterSeconds?: number;
}

export const INBOUND_KEYS: readonly string[] = [
  'name',
  'clock',
  'bulkhead',
  'circuitBreaker',
  'timeout',
  'policy',
  'isFailure',
  'timeoutStatus',
  'retryAfterSeconds',
];

/** The compiled protection of a route: one pipeline, built once. */
export interface Protection {
  readonly pipeline: Pipeline;
  readonly isFailure: (status: number) => boolean;
  readonly timeoutStatus: number;
  readonly retryAfterSeconds: number;
}

export function defaultIsServerFailure(status: number): boolean {
  return status >= 500;
}

export interface ResolvedInbound {
  readonly name: string;
  readonly clock: Clock;
  readonly isFailure: (status: number) => boolean;
  readonly timeoutStatus: number;
  readonly retryAfterSeconds: number;
}

export function resolveInbound(path: string, options: InboundOptions, fallbackName: string): ResolvedInbound {
  checkKeys(path, options, INBOUND_KEYS);
  if (options.policy !== undefined && !isPolicy(options.policy))
    invalid(`${path}.policy`, 'a breakwater policy or pipeline', options.policy);
  return {
    name: resolveName(path, options.name, fallbackName),
    clock: resolveClock(path, options.clock),
    isFailure: func(`${path}.isFailure`, options.isFailure, defaultIsServerFailure),
    timeoutStatus: number(`${path}.timeoutStatus`, options.timeoutStatus, 503, {
      min: 400,
      max: 599,
      integer: true,
    }),
    retryAfterSeconds: number(`${path}.retryAfterSeconds`, options.retryAfterSeconds, 1, {
      min: 0,
      integer: true,
    }),
  };
}

/** Outermost first: extra policies, breaker, bulkhead, timeout (the timeout starts once admitted). */
export function protection(
  resolved: ResolvedInbound,
  parts: {
    policy?: Policy | undefined;
    breaker: Policy | null;
    bulkhead: Policy | null;
    timeout: Policy | null;
  },
): Protection {
  const list: Policy[] = [];
  if (parts.policy !== undefined) list.push(parts.policy);
  if (parts.breaker !== null) list.push(parts.breaker);
  if (parts.bulkhead !== null) list.push(parts.bulkhead);
  if (parts.timeout !== null) list.push(parts.timeout);
  return Object.freeze({
    pipeline: pipeline(...list),
    isFailure: resolved.isFailure,
    timeoutStatus: resolved.timeoutStatus,
    retryAfterSeconds: resolved.retryAfterSeconds,
  });
}

/** How the adapters answer for us. */
export interface Answer {
  readonly status: number;
  /** Seconds for the Retry-After header, or undefined for none. */
  readonly retryAfterSeconds: number | undefined;
  readonly error: unknown;
  /** A small JSON body: `{ error: code, message }`. */
  readonly body: { readonly error: string; readonly message: string };
}

function answerFor(status: number, retryAfterSeconds: number | undefined, error: unknown): Answer {
  const code = error instanceof BreakwaterError ? error.code : 'BW_ERR';
  const message = error instanceof Error ? error.message : 'Service Unavailable';
  return { status, retryAfterSeconds, error, body: { error: code, message } };
}

/**
 * One request through a protection. The request's work is the policy's task: it starts when the
 * policies admit it and ends when the response closes, so a bulkhead slot or a breaker's call spans the
 * whole request. The task's signal aborts when the client goes away or the deadline passes.
 */
export abstract class InboundExchange {
  readonly #protection: Protection;
  readonly #res: ServerResponse;
  /** Our own controller (client disconnect), unless an enclosing protection already gave a signal. */
  readonly #own: AbortController | null;
  readonly #caller: AbortSignal;
  #ctx: Context | null = null;
  #resolve: ((status: number) => void) | null = null;
  #reject: ((error: unknown) => void) | null = null;
  #timedOut = false;
  #gone = false;

  constructor(protection: Protection, res: ServerResponse, enclosing: AbortSignal | undefined) {
    this.#protection = protection;
    this.#res = res;
    this.#own = enclosing === undefined ? new AbortController() : null;
    this.#caller = enclosing ?? this.#own!.signal;
  }

  /** Continue the request (call next() / done()). */
  protected abstract proceed(ctx: Context): void;
  /** Answer now (a rejection before the work, or a timeout during it). */
  protected abstract answer(answer: Answer): void;
  /** An unexpected failure before the work started: hand it to the framework's error handling. */
  protected abstract pass(error: unknown): void;

  start(): void {
    this.#res.once('close', this.#onClose);
    this.#protection.pipeline.executeOutcome(this.#work, this.#caller).then(this.#onOutcome);
  }

  readonly #work = (ctx: Context): Promise<number> =>
    new Promise<number>((resolve, reject) => {
      if (this.#gone || this.#caller.aborted) {
        reject(this.#caller.reason);
        return;
      }
      this.#ctx = ctx;
      this.#resolve = resolve;
      this.#reject = reject;
      // Reading the signal arms the deadline of a cooperative timeout.
      ctx.signal.addEventListener('abort', this, { once: true });
      this.proceed(ctx);
    });

  /** The task's signal aborted: a deadline (ours or an enclosing one) unless the client left. */
  handleEvent(): void {
    if (this.#gone || this.#caller.aborted) return;
    this.#timedOut = true;
    const res = this.#res;
    if (res.headersSent || res.writableEnded || res.destroyed) return;
    const reason = this.#ctx?.signal.reason;
    const status = this.#protection.timeoutStatus;
    this.answer(answerFor(status, status === 503 ? this.#protection.retryAfterSeconds : undefined, reason));
  }

  readonly #onClose = (): void => {
    const res = this.#res;
    if (!res.writableFinished) {
      // The client went away before the answer was complete: abort the work; nothing is recorded.
      this.#gone = true;
      this.#own?.abort();
      this.#reject?.(this.#caller.reason);
      return;
    }
    if (this.#resolve === null) return;
    if (this.#timedOut) this.#reject!(this.#ctx!.signal.reason);
    else if (this.#protection.isFailure(res.statusCode)) this.#reject!(new HttpStatusError(res.statusCode));
    else this.#resolve(res.statusCode);
  };

  readonly #onOutcome = (outcome: Outcome<number>): void => {
    // Once the work ran, the response is the handler's (or the timeout answer): nothing left to do.
    if (outcome.ok || this.#ctx !== null || this.#gone) return;
    const error = outcome.error;
    if (this.#caller.aborted && error === this.#caller.reason) return;
    if (error instanceof RejectedError) {
      const seconds =
        error.retryAfterMs === undefined
          ? this.#protection.retryAfterSeconds
          : Math.ceil(error.retryAfterMs / 1000);
      this.answer(answerFor(503, seconds, error));
    } else if (error instanceof TimeoutError) {
      const status = this.#protection.timeoutStatus;
      this.answer(answerFor(status, status === 503 ? this.#protection.retryAfterSeconds : undefined, error));
    } else {
      this.pass(error);
    }
  };
}
