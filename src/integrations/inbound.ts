// Inbound protection shared by the Express middleware and the Fastify plugin. It works on Node's raw
// ServerResponse and imports neither framework: each adapter supplies how to continue and how to answer.
import type { ServerResponse } from 'node:http';
import type { BulkheadOptions, BulkheadPolicy } from '../bulkhead/index.js';
import type { CircuitBreakerOptions, CircuitBreakerPolicy } from '../circuit-breaker/index.js';
import type { Clock, Context, Outcome, Policy } from '../extend.js';
import {
  checkKeys,
  Fail,
  func,
  guarded,
  invalid,
  number,
  reportCallbackError,
  resolveClock,
  resolveName,
} from '../extend.js';
import { BreakwaterError, RateLimitedError, RejectedError, TimeoutError } from '../index.js';
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
  /** Answers 503 + Retry-After while the route keeps failing (5xx or timeouts). Options or a CircuitBreakerPolicy; false for none. */
  circuitBreaker?: CircuitBreakerOptions | CircuitBreakerPolicy | false;
  /**
   * Time allowed to answer, ms, options or a TimeoutPolicy; false for none. At the deadline the request's
   * signal aborts and, unless the handler already started answering, the request is answered `timeoutStatus`.
   */
  timeout?: number | TimeoutOptions | TimeoutPolicy | false;
  /** Extra policies, outermost (a rate limiter, say: its rejections are answered 429). */
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
  /** Names the protection in callback error reports. */
  readonly name: string;
  /** The integration's options path (`protect`, `fastifyBreakwater`): callbacks are reported as `<owner>.isFailure`. */
  readonly owner: string;
  readonly isFailure: (status: number) => boolean;
  readonly timeoutStatus: number;
  readonly retryAfterSeconds: number;
}

export function defaultIsServerFailure(status: number): boolean {
  return status >= 500;
}

export interface ResolvedInbound {
  readonly name: string;
  readonly owner: string;
  readonly clock: Clock;
  readonly isFailure: (status: number) => boolean;
  readonly timeoutStatus: number;
  readonly retryAfterSeconds: number;
}

/** `owner` is the integration's own path when `path` is a route's (Fastify route options). */
export function resolveInbound(
  path: string,
  options: InboundOptions,
  fallbackName: string,
  owner: string = path,
): ResolvedInbound {
  checkKeys(path, options, INBOUND_KEYS);
  if (options.policy !== undefined && !isPolicy(options.policy))
    invalid(`${path}.policy`, 'a breakwater policy or pipeline', options.policy);
  return {
    name: resolveName(path, options.name, fallbackName),
    owner,
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
    name: resolved.name,
    owner: resolved.owner,
    isFailure: resolved.isFailure,
    timeoutStatus: resolved.timeoutStatus,
    retryAfterSeconds: resolved.retryAfterSeconds,
  });
}

/**
 * The key of a request, from the user's key function: a throw, or anything but a string or undefined
 * (an async key function, say), is reported and the request goes unkeyed.
 */
export function requestKey<R>(
  key: (req: R) => unknown,
  req: R,
  owner: string,
  name: string,
): string | undefined {
  return guarded(key, req, noKey, `${owner}.key`, name, isKey) as string | undefined;
}

const noKey = (): undefined => undefined;
const isKey = (value: unknown): boolean => value === undefined || typeof value === 'string';

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

function timeoutAnswer(p: Protection, error: unknown): Answer {
  const status = p.timeoutStatus;
  return answerFor(status, status === 503 ? p.retryAfterSeconds : undefined, error);
}

/** A rate limit is the client's doing (429); every other rejection is the server's (503). */
function rejectionAnswer(p: Protection, error: RejectedError): Answer {
  const seconds =
    error.retryAfterMs === undefined ? p.retryAfterSeconds : Math.ceil(error.retryAfterMs / 1000);
  return answerFor(error instanceof RateLimitedError ? 429 : 503, seconds, error);
}

/** The built-in JSON answer on the raw response: what an answer falls back to when `respond` fails. */
function writeAnswer(res: ServerResponse, answer: Answer): void {
  if (res.writableEnded || res.destroyed) return;
  if (res.headersSent) {
    res.end();
    return;
  }
  const body = JSON.stringify(answer.body);
  res.statusCode = answer.status;
  res.setHeader('content-type', 'application/json; charset=utf-8');
  res.setHeader('content-length', Buffer.byteLength(body));
  if (answer.retryAfterSeconds !== undefined) res.setHeader('retry-after', String(answer.retryAfterSeconds));
  res.end(body);
}

/**
 * Responses a protection answered while their handler still ran (a timeout answer). Every protection
 * of the request (a nested one too) then holds its slots until that handler ends.
 */
const answeredForHandler = new WeakSet<ServerResponse>();

const noop = (): void => {};

/**
 * One request through a protection. The request's work is the policy's task: it starts when the
 * policies admit it and ends when the response closes, so a bulkhead slot or a breaker's call spans the
 * whole request. The task's signal aborts when the client goes away or the deadline passes. When we
 * answered at the deadline, the handler may still run: the call then fails at once (the breaker
 * counts it) but carries the handler's end as `Fail.pending`, so a bulkhead keeps the slot, counted
 * as abandoned, until the handler really stops.
 */
export abstract class InboundExchange {
  readonly #protection: Protection;
  readonly #res: ServerResponse;
  /** Our own controller (client disconnect), unless an enclosing protection already gave a signal. */
  readonly #own: AbortController | null;
  readonly #caller: AbortSignal;
  #ctx: Context | null = null;
  /** A Fail resolved here travels the pipeline as the failure it carries, `pending` included. */
  #resolve: ((result: number | Fail) => void) | null = null;
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
  /** Answer now (a rejection before the work, or a timeout during it); may return the user's promise. */
  protected abstract answer(answer: Answer): unknown;
  /** An unexpected failure before the work started: hand it to the framework's error handling. */
  protected abstract pass(error: unknown): void;
  /** What settles when the handler ends, if it may still run now that the response is over; else undefined. */
  protected abstract running(): PromiseLike<unknown> | undefined;

  /** `key` is what keyed policies (a rate limiter per client) group the request by. */
  start(key: string | undefined): void {
    this.#res.once('close', this.#onClose);
    this.#protection.pipeline.executeOutcome(this.#work, { signal: this.#caller, key }).then(this.#onOutcome);
  }

  readonly #work = (ctx: Context): Promise<number> =>
    new Promise<number | Fail>((resolve, reject) => {
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
    }) as Promise<number>;

  /** The task's signal aborted: a deadline (ours or an enclosing one) unless the client left. */
  handleEvent(): void {
    if (this.#gone || this.#caller.aborted) return;
    this.#timedOut = true;
    const res = this.#res;
    if (res.headersSent || res.writableEnded || res.destroyed) return;
    answeredForHandler.add(res);
    this.#answer(timeoutAnswer(this.#protection, this.#ctx?.signal.reason));
  }

  /** Answers through the adapter (the user's `respond`); if that throws or rejects, with the built-in JSON. */
  #answer(answer: Answer): void {
    let result: unknown;
    try {
      result = this.answer(answer);
    } catch (error) {
      this.#answerFailed(answer, error);
      return;
    }
    if (result instanceof Promise) result.then(undefined, (error) => this.#answerFailed(answer, error));
  }

  #answerFailed(answer: Answer, error: unknown): void {
    reportCallbackError(`${this.#protection.owner}.respond`, this.#protection.name, error);
    writeAnswer(this.#res, answer);
  }

  #isFailure(status: number): boolean {
    const p = this.#protection;
    return guarded(p.isFailure, status, defaultIsServerFailure, `${p.owner}.isFailure`, p.name);
  }

  readonly #onClose = (): void => {
    const res = this.#res;
    if (!res.writableFinished) {
      // The client went away before the answer was complete: the request has ended. Abort the work;
      // nothing is recorded.
      this.#gone = true;
      this.#own?.abort();
      this.#reject?.(this.#caller.reason);
      return;
    }
    const resolve = this.#resolve;
    if (resolve === null) return;
    const status = res.statusCode;
    const error = this.#timedOut
      ? this.#ctx!.signal.reason
      : this.#isFailure(status)
        ? new HttpStatusError(status)
        : undefined;
    const running = answeredForHandler.has(res) ? this.running() : undefined;
    if (running === undefined) {
      if (error === undefined) resolve(status);
      else this.#reject!(error);
      return;
    }
    // Never rejects: a bulkhead waits on it to free the slot.
    const ended = Promise.resolve(running).then(noop, noop);
    if (error === undefined) ended.then(() => resolve(status));
    else resolve(new Fail(error, ended));
  };

  readonly #onOutcome = (outcome: Outcome<number>): void => {
    // Once the work ran, the response is the handler's (or the timeout answer): nothing left to do.
    if (outcome.ok || this.#ctx !== null || this.#gone) return;
    const error = outcome.error;
    if (this.#caller.aborted && error === this.#caller.reason) return;
    if (error instanceof RejectedError) this.#answer(rejectionAnswer(this.#protection, error));
    else if (error instanceof TimeoutError) this.#answer(timeoutAnswer(this.#protection, error));
    else this.pass(error);
  };
}
