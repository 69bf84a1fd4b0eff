import type { IncomingMessage, ServerResponse } from 'node:http';
import { invalid } from '../../extend.js';
import type { Dashboard } from './index.js';

// The few Fastify members the plugin uses, typed structurally: the declarations of breakwater/dashboard
// then never name the 'fastify' module, so they compile where Fastify is not installed.
interface FastifyRequestLike {
  readonly raw: IncomingMessage;
}
interface FastifyReplyLike {
  readonly raw: ServerResponse;
  hijack(): unknown;
}
/** The parts of a FastifyInstance the plugin uses. */
export interface FastifyInstanceLike {
  get(
    path: string,
    options: { readonly config: { readonly breakwater: false } },
    handler: (request: FastifyRequestLike, reply: FastifyReplyLike) => void,
  ): unknown;
  addHook(name: 'preClose', hook: (done: () => void) => void): unknown;
}

export interface FastifyDashboardOptions {
  readonly dashboard: Dashboard;
  /** Fastify's own register option: where the page and stream are served. */
  readonly prefix?: string;
}

/**
 * A Fastify plugin serving the page at the register `prefix` (`/` and `/events` below it):
 *
 * ```ts
 * app.register(fastifyDashboard, { dashboard: board, prefix: '/dashboard' });
 * ```
 *
 * It is encapsulated on purpose (not `skip-override`): it only adds routes, and `prefix` applies only to
 * an encapsulated plugin. Event streams it opened are ended in a `preClose` hook, as an open stream
 * would otherwise keep `app.close()` waiting.
 */
const UNPROTECTED = Object.freeze({ config: Object.freeze({ breakwater: false as const }) });

export function fastifyDashboard(
  fastify: FastifyInstanceLike,
  options: FastifyDashboardOptions,
  done: (error?: Error) => void,
): void {
  const board = options?.dashboard;
  if (typeof board?.serve !== 'function') {
    try {
      invalid('fastifyDashboard.dashboard', 'a Dashboard (dashboard(registry))', board);
    } catch (error) {
      done(error as Error);
      return;
    }
  }
  const streams = new Set<ServerResponse>();
  const serve = (subpath: string) => (request: FastifyRequestLike, reply: FastifyReplyLike) => {
    // The dashboard writes the response itself (headers, the page or a stream that never ends).
    reply.hijack();
    const res = reply.raw;
    if (subpath === '/events') {
      streams.add(res);
      res.once('close', () => streams.delete(res));
    }
    board.serve(subpath, request.raw, res);
  };
  // Outside breakwater's inbound protection: an open page would hold a bulkhead slot for as long as it
  // is open, and time out; load shedding must not blind the page that shows it.
  fastify.get('/', UNPROTECTED, serve('/'));
  fastify.get('/events', UNPROTECTED, serve('/events'));
  fastify.addHook('preClose', (next) => {
    for (const res of streams) res.end();
    next();
  });
  done();
}
