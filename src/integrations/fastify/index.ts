import type {
  FastifyInstance,
  FastifyPluginCallback,
  FastifyReply,
  FastifyRequest,
  HookHandlerDoneFunction,
  RouteOptions,
} from 'fastify';
import type { Context } from '../../extend.js';
import { checkKeys, func, invalid } from '../../extend.js';
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
import { buildBreaker, buildBulkhead, buildTimeout, isPolicy } from '../policy-options.js';
import { runningHandler, watchHandler } from './handler-watch.js';

export type { Answer, InboundOptions } from '../inbound.js';

/** Per-route protection, in the route's `config.breakwater`; each key replaces the plugin's. */
export type RouteBreakwaterOptions = Pick<
  InboundOptions,
  'bulkhead' | 'circuitBreaker' | 'timeout' | 'policy' | 'isFailure' | 'timeoutStatus' | 'retryAfterSeconds'
>;

export interface FastifyBreakwaterOptions extends InboundOptions {
  /**
   * Writes our answers. Default: `reply.code(status)`, Retry-After when set, and the JSON body
   * `{ error, message }`. If it throws (or its promise rejects), the error is reported and the default
   * answer is sent.
   */
  respond?: (answer: Answer, request: FastifyRequest, reply: FastifyReply) => void;
  /**
   * What keyed policies (a `rateLimiter({ keyed: true })` in `policy`) group requests by. Default: the
   * client address, `request.socket.remoteAddress` (behind a proxy: `(request) => request.ip` with
   * Fastify's `trustProxy` set). A throw is reported and the request goes unkeyed.
   */
  key?: (request: FastifyRequest) => string | undefined;
}

/** The `fastify.breakwater` decorator. */
export interface FastifyBreakwater {
  /** Each protected route's pipeline, by `METHOD url` (add them to a PolicyRegistry after `ready()`). */
  readonly routes: ReadonlyMap<string, Pipeline>;
}

declare module 'fastify' {
  interface FastifyRequest {
    /**
     * The protected route's execution context: `signal` aborts when the client disconnects or the
     * route's timeout passes; `remainingMs` is the time left. Null on unprotected routes.
     */
    breakwater: Context | null;
  }
  interface FastifyInstance {
    breakwater: FastifyBreakwater;
  }
  interface FastifyContextConfig {
    /** Route-level protection (replaces the plugin's options key by key), or false for none. */
    breakwater?: RouteBreakwaterOptions | false;
  }
}

const ROUTE_KEYS = [
  'bulkhead',
  'circuitBreaker',
  'timeout',
  'policy',
  'isFailure',
  'timeoutStatus',
  'retryAfterSeconds',
];

function defaultRespond(answer: Answer, _request: FastifyRequest, reply: FastifyReply): void {
  reply.code(answer.status);
  if (answer.retryAfterSeconds !== undefined) reply.header('retry-after', String(answer.retryAfterSeconds));
  void reply.send(answer.body);
}

type Respond = (answer: Answer, request: FastifyRequest, reply: FastifyReply) => void;
type Key = (request: FastifyRequest) => string | undefined;

function defaultKey(request: FastifyRequest): string | undefined {
  return request.socket.remoteAddress;
}

class FastifyExchange extends InboundExchange {
  constructor(
    p: Protection,
    readonly request: FastifyRequest,
    readonly reply: FastifyReply,
    readonly done: HookHandlerDoneFunction,
    readonly respond: Respond,
  ) {
    // A protection of an enclosing context already gave the request a signal: nest inside it.
    super(p, reply.raw, request.breakwater?.signal);
  }

  protected proceed(ctx: Context): void {
    this.request.breakwater = ctx;
    this.done();
  }

  protected answer(answer: Answer): unknown {
    // From the onRequest hook, answering without calling done() ends the request here.
    return this.respond(answer, this.request, this.reply);
  }

  protected pass(error: unknown): void {
    this.done(error as Error);
  }

  /** A handler that had not started when we answered never runs (Fastify skips it once sent). */
  protected running(): PromiseLike<unknown> | undefined {
    return runningHandler(this.request);
  }
}

function routeName(route: RouteOptions): string {
  const method = Array.isArray(route.method) ? route.method.join(',') : route.method;
  return `${method} ${route.url}`;
}

const plugin: FastifyPluginCallback<FastifyBreakwaterOptions> = (fastify, options, done) => {
  try {
    setup(fastify, options);
  } catch (error) {
    // A callback plugin reports failures through done(), or avvio never hears of them.
    done(error as Error);
    return;
  }
  done();
};

/** Nested registrations without a prefix, numbered for their default names. */
let nesting = 0;

function setup(fastify: FastifyInstance, options: FastifyBreakwaterOptions): void {
  const path = 'fastifyBreakwater';
  const { respond, key, ...inbound } = options;
  const write = func<Respond>(`${path}.respond`, respond, defaultRespond);
  const keyOf = func<Key>(`${path}.key`, key, defaultKey);
  // A registration below another one is named after its prefix by default (`fastify/api`), so the two
  // registrations' policies can sit in one registry.
  const nested = fastify.hasDecorator('breakwater');
  const base = resolveInbound(
    path,
    inbound,
    nested ? `fastify${fastify.prefix || `#${++nesting}`}` : 'fastify',
  );
  // One bulkhead for every route of this context: load shedding protects the server, not a route.
  const shared = buildBulkhead(`${path}.bulkhead`, base.name, base.clock, inbound.bulkhead);
  const sharedBreaker = isPolicy(inbound.circuitBreaker) ? inbound.circuitBreaker : null;
  const sharedTimeout = isPolicy(inbound.timeout) ? inbound.timeout : null;

  if (!fastify.hasRequestDecorator('breakwater')) fastify.decorateRequest('breakwater', null);
  // Registered again below an enclosing registration: list our routes in the inherited decorator.
  const routes = fastify.hasDecorator('breakwater')
    ? (fastify.breakwater.routes as Map<string, Pipeline>)
    : new Map<string, Pipeline>();
  if (!fastify.hasDecorator('breakwater')) fastify.decorate('breakwater', Object.freeze({ routes }));

  // Fastify adds a HEAD route for every GET route, with the GET route's options: it shares the GET
  // route's protection rather than getting a breaker and a timeout of its own.
  const getRoutes = new Map<string, { readonly config: unknown; readonly p: Protection }>();
  const protectionOf = (route: RouteOptions): Protection | undefined => {
    if (route.method === 'HEAD') {
      const get = getRoutes.get(route.url);
      if (get !== undefined && get.config === route.config) return get.p;
    }
    const p = protect(route);
    if (p !== undefined && route.method === 'GET') getRoutes.set(route.url, { config: route.config, p });
    return p;
  };
  const protect = (route: RouteOptions): Protection | undefined => {
    const config = (route.config as { breakwater?: RouteBreakwaterOptions | false } | undefined)?.breakwater;
    if (config === false) return undefined;
    const name = `${base.name}:${routeName(route)}`;
    const rpath = `route ${routeName(route)} config.breakwater`;
    if (config !== undefined) checkKeys(rpath, config, ROUTE_KEYS);
    const own = (key: keyof RouteBreakwaterOptions) => config !== undefined && config[key] !== undefined;
    // Base values were validated already: an error here can only come from the route's config.
    const r = resolveInbound(
      rpath,
      {
        name,
        clock: base.clock,
        isFailure: config?.isFailure ?? base.isFailure,
        timeoutStatus: config?.timeoutStatus ?? base.timeoutStatus,
        retryAfterSeconds: config?.retryAfterSeconds ?? base.retryAfterSeconds,
      },
      name,
      path,
    );
    const policy = own('policy') ? config!.policy : inbound.policy;
    if (policy !== undefined && !isPolicy(policy)) invalid(`${rpath}.policy`, 'a breakwater policy', policy);
    const p = protection(r, {
      policy,
      breaker: own('circuitBreaker')
        ? buildBreaker(`${rpath}.circuitBreaker`, name, base.clock, config!.circuitBreaker)
        : (sharedBreaker ?? buildBreaker(`${path}.circuitBreaker`, name, base.clock, inbound.circuitBreaker)),
      bulkhead: own('bulkhead')
        ? buildBulkhead(`${rpath}.bulkhead`, name, base.clock, config!.bulkhead)
        : shared,
      timeout: own('timeout')
        ? buildTimeout(`${rpath}.timeout`, name, base.clock, config!.timeout)
        : (sharedTimeout ?? buildTimeout(`${path}.timeout`, name, base.clock, inbound.timeout)),
    });
    if (p.pipeline.policies.length === 0) return undefined;
    routes.set(routeName(route), p.pipeline);
    return p;
  };

  fastify.addHook('onRoute', (route) => {
    const p = protectionOf(route);
    if (p === undefined) return;
    const hook = function breakwaterOnRequest(
      this: FastifyInstance,
      request: FastifyRequest,
      reply: FastifyReply,
      next: HookHandlerDoneFunction,
    ): void {
      new FastifyExchange(p, request, reply, next, write).start(requestKey(keyOf, request, path, p.name));
    };
    route.handler = watchHandler(route.handler);
    // Appended: hooks of an enclosing registration run first, so nested protections nest in order.
    const existing = route.onRequest;
    route.onRequest =
      existing === undefined ? [hook] : Array.isArray(existing) ? [...existing, hook] : [existing, hook];
  });
}

/**
 * Fastify plugin: load shedding (a bulkhead shared by the routes of the context it is registered in),
 * a circuit breaker and a timeout per route, with route-level options in `config: { breakwater }`.
 * It follows fastify-plugin conventions (skip-override: it protects the context it is registered in
 * and its children, never siblings) without depending on fastify-plugin. Register it before the
 * routes it protects. See docs/fastify.md.
 */
export const fastifyBreakwater: FastifyPluginCallback<FastifyBreakwaterOptions> = Object.assign(plugin, {
  [Symbol.for('skip-override')]: true,
  [Symbol.for('fastify.display-name')]: 'breakwater',
  [Symbol.for('plugin-meta')]: { name: 'breakwater', fastify: '5.x' },
});
