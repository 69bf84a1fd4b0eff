import type { NextFunction, Request, RequestHandler, Response } from 'express';
import type { Context } from '../../core/context.js';
import { func } from '../../core/options.js';
import type { Pipeline } from '../../pipeline.js';
import {
  type Answer,
  InboundExchange,
  type InboundOptions,
  type Protection,
  protection,
  resolveInbound,
} from '../inbound.js';
import { buildBreaker, buildBulkhead, buildTimeout } from '../policy-options.js';

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
   * Writes our answers (503 on rejection, the timeout status at the deadline). Default: the status, a
   * Retry-After header when set, and the JSON body `{ error, message }`.
   */
  respond?: (answer: Answer, req: Request, res: Response) => void;
}

/** An Express middleware, with the policies it runs each request under. */
export interface ProtectMiddleware extends RequestHandler {
  /** Outermost first: `policy`, circuit breaker, bulkhead, timeout. */
  readonly pipeline: Pipeline;
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
  ) {
    super(p, res, req.signal);
  }

  protected proceed(ctx: Context): void {
    this.req.signal = ctx.signal;
    this.req.breakwater = ctx;
    this.next();
  }

  protected answer(answer: Answer): void {
    this.respond(answer, this.req, this.res);
  }

  protected pass(error: unknown): void {
    this.next(error);
  }
}

/**
 * Protects the requests it sees: sheds load beyond a bulkhead (503 + Retry-After), fails fast while
 * a circuit breaker is open (503 + Retry-After), and bounds the time to answer (the request's signal
 * aborts, the request is answered 503). Mount it app-wide for shedding, per route for a breaker and a
 * timeout of that route; each `protect()` builds its own policies. See docs/express.md.
 */
export function protect(options: ProtectOptions = {}): ProtectMiddleware {
  const path = 'protect';
  const { respond, ...inbound } = options;
  const write = func(`${path}.respond`, respond, defaultRespond);
  const r = resolveInbound(path, inbound, 'express');
  const p = protection(r, {
    policy: inbound.policy,
    breaker: buildBreaker(`${path}.circuitBreaker`, r.name, r.clock, inbound.circuitBreaker),
    bulkhead: buildBulkhead(`${path}.bulkhead`, r.name, r.clock, inbound.bulkhead),
    timeout: buildTimeout(`${path}.timeout`, r.name, r.clock, inbound.timeout),
  });
  const middleware = (req: Request, res: Response, next: NextFunction): void => {
    new ExpressExchange(p, req, res, next, write).start();
  };
  Object.defineProperty(middleware, 'pipeline', { value: p.pipeline, enumerable: true });
  return middleware as ProtectMiddleware;
}
