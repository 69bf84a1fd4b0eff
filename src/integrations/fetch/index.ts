import type { Context, Failure, Outcome, Policy, Scope } from '../../extend.js';
import { guarded, isFiniteNumber, isString } from '../../extend.js';
import { RejectedError, TimeoutError } from '../../index.js';
import { type Pipeline, pipeline } from '../../pipeline.js';
import { retry as createRetry, type RetryOptions, type RetryPolicy } from '../../retry/index.js';
import { buildBulkhead, buildTimeout, isPolicy } from '../policy-options.js';
import { breakerFactory } from './breaker-factory.js';
import { HttpStatusError, type ResponseLike } from './http-error.js';
import { type KeyedBreakers, keyedBreakers, type OwnKeyedBreakers } from './keyed-breakers.js';
import {
  defaultBreakerKey,
  defaultIsFailure,
  type FetchLike,
  type ResilientFetchOptions,
  type ResolvedFetchOptions,
  resolveFetchOptions,
} from './options.js';
import {
  hasHeader,
  type InitLike,
  isRequestLike,
  methodOf,
  type RequestLike,
  replayable,
  urlOf,
} from './request.js';
import { parseRetryAfter } from './retry-after.js';

export { BW_ERR_HTTP_STATUS, HttpStatusError, type ResponseLike } from './http-error.js';
export {
  type CircuitBreakerInterceptor,
  type CircuitBreakerInterceptorOptions,
  circuitBreakerInterceptor,
} from './interceptor.js';
export type { KeyedBreakers } from './keyed-breakers.js';
export {
  defaultIsFailure,
  type FetchLike,
  IDEMPOTENT_METHODS,
  type ResilientFetchOptions,
} from './options.js';
export { parseRetryAfter } from './retry-after.js';

/** A fetch-compatible function, plus the policies it runs under. */
export type ResilientFetch<F extends FetchLike = typeof globalThis.fetch> = F & {
  /** The per-origin circuit breakers, or undefined when breakers are disabled. */
  readonly breakers: KeyedBreakers | undefined;
  /** The pipeline of retryable requests (outermost first: policy, retry, breakers, bulkhead, timeout). */
  readonly policy: Pipeline;
  /** The pipeline of other requests (the same without the retry). */
  readonly policyWithoutRetry: Pipeline;
};

const NETWORK_CODES = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'ECONNABORTED',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENETDOWN',
  'EAI_AGAIN',
  'UND_ERR_SOCKET',
  'UND_ERR_CLOSED',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
]);

function codeOf(error: unknown): unknown {
  return typeof error === 'object' && error !== null ? (error as { code?: unknown }).code : undefined;
}

/** A failure to reach the server or to get its answer (no HTTP status). */
export function isNetworkError(error: unknown): boolean {
  if (NETWORK_CODES.has(codeOf(error) as string)) return true;
  const cause =
    typeof error === 'object' && error !== null ? (error as { cause?: unknown }).cause : undefined;
  if (NETWORK_CODES.has(codeOf(cause) as string)) return true;
  // undici's fetch (Node's global fetch) reports every network-level failure this way.
  return error instanceof TypeError && error.message === 'fetch failed';
}

/**
 * The default `handle` of the fetch retry: failure statuses except 501 and 505 (which will not change),
 * network errors and timeouts. Rejections (open circuit, full bulkhead) are not retried.
 */
export function isRetryableFetchError(error: unknown): boolean {
  if (error instanceof HttpStatusError) return error.status !== 501 && error.status !== 505;
  if (error instanceof RejectedError) return false;
  return error instanceof TimeoutError || isNetworkError(error);
}

/** The default `retryAfter` of the fetch retry: the failed response's Retry-After, ms. */
export function fetchRetryAfter(failure: Failure<unknown>): number | undefined {
  return failure.kind === 'error' && failure.error instanceof HttpStatusError
    ? failure.error.retryAfterMs
    : undefined;
}

function buildRetry(o: ResolvedFetchOptions): RetryPolicy | null {
  if (o.retry === false) return null;
  if (isPolicy(o.retry)) return o.retry as RetryPolicy;
  const given = o.retry as RetryOptions;
  const options: RetryOptions = {
    name: `${o.name}:retry`,
    clock: o.clock,
    handle: isRetryableFetchError,
    retryAfter: fetchRetryAfter,
    ...given,
  };
  if (given.maxAttempts === undefined && given.maxRetries === undefined) options.maxRetries = 2;
  const policy = createRetry(options);
  // Free a failed response's connection as soon as it is certain to be retried, not after the backoff.
  policy.onRetry(({ failure }) => {
    if (failure.kind === 'error' && failure.error instanceof HttpStatusError) void release(failure.error);
  });
  return policy;
}

const PATH = 'resilientFetch';

function buildBreakers(o: ResolvedFetchOptions): OwnKeyedBreakers | null {
  if (o.circuitBreaker === false) return null;
  return keyedBreakers({
    create: breakerFactory(`${PATH}.circuitBreaker`, o.name, o.clock, o.circuitBreaker),
    maxKeys: o.maxBreakers,
    idleMs: o.breakerIdleMs,
    clock: o.clock,
    callback: `${PATH}.circuitBreaker`,
    policy: o.name,
  });
}

function buildPipelines(o: ResolvedFetchOptions, breakers: KeyedBreakers | null): [Pipeline, Pipeline] {
  const inner: Policy[] = [];
  if (breakers !== null) inner.push(breakers);
  const bulkhead = buildBulkhead(`${PATH}.bulkhead`, o.name, o.clock, o.bulkhead);
  if (bulkhead !== null) inner.push(bulkhead);
  const timeout = buildTimeout(`${PATH}.timeout`, o.name, o.clock, o.timeout);
  if (timeout !== null) inner.push(timeout);
  const outer: Policy[] = o.policy === undefined ? [] : [o.policy];
  const retry = buildRetry(o);
  const withRetry = pipeline(...outer, ...(retry === null ? [] : [retry]), ...inner);
  const withoutRetry = retry === null ? withRetry : pipeline(...outer, ...inner);
  return [withRetry, withoutRetry];
}

/**
 * Wraps `fetch`: failure statuses (5xx, 429), network errors and timeouts are failures; idempotent
 * requests are retried (honouring Retry-After); a circuit breaker per origin fails fast when a host is
 * down. The result is called like fetch and resolves like fetch, including for a final failure status
 * (unless `throwHttpErrors`). See docs/fetch.md.
 */
export function resilientFetch<F extends FetchLike = typeof globalThis.fetch>(
  options?: ResilientFetchOptions<F>,
): ResilientFetch<F> {
  const o = resolveFetchOptions(options as ResilientFetchOptions<FetchLike> | undefined);
  const breakers = buildBreakers(o);
  const [withRetry, withoutRetry] = buildPipelines(o, breakers);

  const send = (input: unknown, init: InitLike | undefined): Promise<ResponseLike> => {
    let key: string | undefined;
    if (breakers !== null) {
      let url: URL;
      try {
        url = urlOf(input);
      } catch {
        // Not a URL fetch can use: let it fail its own way.
        return o.fetch(input, init);
      }
      key = guarded(o.breakerKey, url, defaultBreakerKey, `${PATH}.breakerKey`, o.name, isString);
    }
    const method = methodOf(input, init);
    const request = isRequestLike(input) ? input : null;
    // A body given in `init` replaces the Request's; a Request's own body is replayed by cloning it.
    const ownBody = init?.body === undefined && request !== null && request.body !== null;
    const retryable =
      (init?.body === undefined || replayable(init.body)) &&
      (o.retryMethods.has(method) ||
        (o.idempotencyHeader !== false && hasHeader(input, init, o.idempotencyHeader)));
    const signal = init?.signal ?? request?.signal ?? undefined;
    const exchange = new Exchange(o, input, init, signal, retryable && ownBody);
    const policy = retryable ? withRetry : withoutRetry;
    return policy.executeOutcome(exchange.attempt, { signal, key }).then(exchange.finish);
  };
  // Like fetch, a call never throws: bad arguments, or a user's fetch throwing, reject the promise.
  const call = (input: unknown, init?: InitLike): Promise<ResponseLike> => {
    try {
      return send(input, init);
    } catch (error) {
      return Promise.reject(error);
    }
  };
  Object.defineProperties(call, {
    breakers: { value: breakers ?? undefined, enumerable: true },
    policy: { value: withRetry, enumerable: true },
    policyWithoutRetry: { value: withoutRetry, enumerable: true },
  });
  return call as unknown as ResilientFetch<F>;
}

/**
 * When a response outlives its attempt (the body is read after the call resolved), the caller's signal
 * must still abort it, as with plain fetch. A caller signal gets one listener however many responses
 * it covers (a long-lived signal, such as a shutdown signal, would otherwise collect a listener per
 * call, and adding one costs O(listeners) on Node's EventTarget); it fans out to the live responses'
 * controllers, each dropped when its response is released or garbage-collected.
 */
class Fanout {
  readonly targets = new Set<AbortController>();
  constructor(readonly signal: AbortSignal) {}
  handleEvent(): void {
    fanouts.delete(this.signal);
    const reason = this.signal.reason;
    for (const target of this.targets) target.abort(reason);
    this.targets.clear();
  }
}
const fanouts = new WeakMap<AbortSignal, Fanout>();

function fanoutOf(signal: AbortSignal): Fanout {
  let fanout = fanouts.get(signal);
  if (fanout === undefined) {
    fanout = new Fanout(signal);
    fanouts.set(signal, fanout);
    signal.addEventListener('abort', fanout, { once: true });
  }
  return fanout;
}

interface BodyLink {
  readonly fanout: Fanout;
  readonly controller: AbortController;
}
const bodyLinks = new FinalizationRegistry<BodyLink>((link) => link.fanout.targets.delete(link.controller));
// The link of a response released early (a failed attempt's) goes then, not at GC.
const linkOf = new WeakMap<object, BodyLink>();

/**
 * The attempt's signal (caller + deadline) belongs to a scope that stops following the caller when the
 * attempt ends, but the body may be read later: the controller behind that signal (the nearest scope's
 * own, which nothing else aborts once its scope is closed) joins the caller's fan-out for as long as
 * the response lives.
 */
function linkBody(response: ResponseLike, scope: Scope, callerSignal: AbortSignal): void {
  if (callerSignal.aborted) return;
  let owner: Scope | null = scope;
  while (owner !== null && owner.ctrl === null) owner = owner.parent;
  const controller = owner?.ctrl;
  if (controller === undefined || controller === null) return;
  const link: BodyLink = { fanout: fanoutOf(callerSignal), controller };
  link.fanout.targets.add(controller);
  bodyLinks.register(response, link, link);
  linkOf.set(response, link);
}

/** Cancels a failed attempt's body and drops its link to the caller's signal. */
function release(error: HttpStatusError): Promise<void> {
  const response = error.response;
  const link = response === undefined ? undefined : linkOf.get(response);
  if (link !== undefined) {
    linkOf.delete(response as object);
    link.fanout.targets.delete(link.controller);
    bodyLinks.unregister(link);
  }
  return error.discard();
}

/** One call: the arguments, the failed response to release before the next attempt, and the edge. */
class Exchange {
  #failed: HttpStatusError | undefined;

  constructor(
    readonly o: ResolvedFetchOptions,
    readonly input: unknown,
    readonly init: InitLike | undefined,
    readonly callerSignal: AbortSignal | undefined,
    /** A Request with a body is cloned for each attempt: a body can be read once. */
    readonly cloneInput: boolean,
  ) {}

  readonly attempt = async (ctx: Context): Promise<ResponseLike> => {
    const failed = this.#failed;
    if (failed !== undefined) {
      this.#failed = undefined;
      await release(failed);
    }
    const o = this.o;
    const input = this.cloneInput ? (this.input as RequestLike).clone() : this.input;
    const scope = ctx as Scope;
    let response: ResponseLike;
    if (!scope.abortable) {
      response = await o.fetch(input, this.init);
    } else {
      const signal = ctx.signal;
      response = await o.fetch(input, { ...this.init, signal });
      if (signal !== this.callerSignal && this.callerSignal !== undefined)
        linkBody(response, scope, this.callerSignal);
    }
    const status = response.status;
    if (!guarded(o.isFailure, status, defaultIsFailure, `${PATH}.isFailure`, o.name)) return response;
    const now = guarded(o.now, undefined, Date.now, `${PATH}.now`, o.name, isFiniteNumber);
    const retryAfterMs = parseRetryAfter(response.headers.get('retry-after'), now);
    const error = new HttpStatusError(status, retryAfterMs, response);
    this.#failed = error;
    throw error;
  };

  readonly finish = (outcome: Outcome<ResponseLike>): ResponseLike => {
    if (outcome.ok) return outcome.value;
    const error = outcome.error;
    // Like fetch, a final failure status resolves with its response (body intact) unless asked otherwise.
    if (!this.o.throwHttpErrors && error instanceof HttpStatusError && error.response !== undefined) {
      return error.response as ResponseLike;
    }
    // Ended by something else (an abort during the backoff, say): nobody will read that response.
    if (this.#failed !== undefined && this.#failed !== error) void release(this.#failed);
    throw error;
  };
}
