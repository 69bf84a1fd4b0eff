import type { NextFunction, Request, RequestHandler, Response } from 'express';
import type { Context } from '../../extend.js';
import { func, guarded } from '../../extend.js';
import type { Pipeline } from '../../pipeline.js';
import {
  type Answer,
  InboundExchange,
  type InboundOptions,
  type Protection,
  protection,
  requestKey,
  resolveInbound,
} from '../inbound.js';
import { buildBreaker, buildBulkhead, buildTimeout } from '../policy-options.js';
import { type HandlerRun, handlerRun, traceHandlers } from './handler-run.js';

export type { Answer, InboundOptions } from '../inbound.js';

declare global {
  // Express types its requests through this global namespace (declaration merging).
  namespace Express {
    interface Request {
      /**
       * Set by breakwater's `protect()`: aborts when the client disconnects or the route's timeout
       * passes. Pass it to the request's work (`fetch(url, { signal: req.signal })`).
       */
      signal?: AbortSignal;
      /** Set by `protect()`: the execution context (signal, deadline, remainingMs). */
      breakwater?: Context;
    }
  }
}

export interface ProtectOptions extends InboundOptions {
  /**
   * Writes our answers (503 or 429 on rejection, the timeout status at the deadline). Default: the
   * status, a Retry-After header when set, and the JSON body `{ error, message }`. If it throws (or its
   * promise rejects), the error is reported and the default answer is sent.
   */
  respond?: (answer: Answer, req: Request, res: Response) => void;
  /**
   * What keyed policies (a `rateLimiter({ keyed: true })` in `policy`) group requests by. Default: the
   * client address, `req.socket.remoteAddress` (behind a proxy: `(req) => req.ip` with Express's
   * `trust proxy` set). A throw is reported and the request goes unkeyed.
   */
  key?: (req: Request) => string | undefined;
  /**
   * Requests that bypass protection: they go straight to `next()`, hold no slot and are not judged.
   * For the endpoints that must answer under overload (`(req) => req.path === '/metrics'`, the
   * dashboard). Fastify's equivalent is a route's `config: { breakwater: false }`. A throw is reported
   * and the request is protected.
   */
  skip?: (req: Request) => boolean;
}

/** An Express middleware, with the policies it runs each request under. */
export interface ProtectMiddleware extends RequestHandler {
  /** Outermost first: `policy`, circuit breaker, bulkhead, timeout. */
  readonly pipeline: Pipeline;
}

const never = (): boolean => false;
const isBoolean = (value: unknown): boolean => typeof value === 'boolean';

function defaultKey(req: Request): string | undefined {
  return req.socket.remoteAddress;
}

function defaultRespond(answer: Answer, _req: Request, res: Response): void {
  res.status(answer.status);
  if (answer.retryAfterSeconds !== undefined) res.set('Retry-After', String(answer.retryAfterSeconds));
  res.json(answer.body);
}

class ExpressExchange extends InboundExchange {
  constructor(
    p: Protection,
    readonly req: Request,
    readonly res: Response,
    readonly next: NextFunction,
    readonly respond: (answer: Answer, req: Request, res: Response) => void,
    readonly run: HandlerRun | null,
  ) {
    super(p, res, req.signal);
  }

  protected proceed(ctx: Context): void {
    this.req.signal = ctx.signal;
    this.req.breakwater = ctx;
    this.next();
  }

  protected answer(answer: Answer): unknown {
    return this.respond(answer, this.req, this.res);
  }

  protected pass(error: unknown): void {
    this.next(error);
  }

  /** Without a traced router (router < 2.3) nothing tells: the slot is freed with the response. */
  protected running(): Promise<void> | undefined {
    return this.run?.settled();
  }
}

/**
 * Protects the requests it sees: sheds load beyond a bulkhead (503 + Retry-After), fails fast while
 * a circuit breaker is open (503 + Retry-After), and bounds the time to answer (the request's signal
 * aborts, the request is answered 503; a handler that runs on keeps its bulkhead slot until it ends).
 * A rate limiter in `policy` is keyed by `key` (the client address) and answered 429 + Retry-After.
 * Mount it app-wide for shedding, per route for a breaker and a timeout of that route; each
 * `protect()` builds its own policies. See docs/express.md.
 */
export function protect(options: ProtectOptions = {}): ProtectMiddleware {
  const path = 'protect';
  const { respond, key, skip, ...inbound } = options;
  const write = func(`${path}.respond`, respond, defaultRespond);
  const keyOf = func(`${path}.key`, key, defaultKey);
  const bypass = func<(req: Request) => boolean>(`${path}.skip`, skip);
  const r = resolveInbound(path, inbound, 'express');
  const p = protection(r, {
    policy: inbound.policy,
    breaker: buildBreaker(`${path}.circuitBreaker`, r.name, r.clock, inbound.circuitBreaker),
    bulkhead: buildBulkhead(`${path}.bulkhead`, r.name, r.clock, inbound.bulkhead),
    timeout: buildTimeout(`${path}.timeout`, r.name, r.clock, inbound.timeout),
  });
  traceHandlers();
  const middleware = (req: Request, res: Response, next: NextFunction): void => {
    if (bypass !== undefined && guarded(bypass, req, never, `${path}.skip`, p.name, isBoolean)) {
      next();
      return;
    }
    // First: it finds this middleware's own layer among the router's running ones.
    const run = handlerRun(req);
    new ExpressExchange(p, req, res, next, write, run).start(requestKey(keyOf, req, path, p.name));
  };
  Object.defineProperty(middleware, 'pipeline', { value: p.pipeline, enumerable: true });
  return middleware as ProtectMiddleware;
}
