import type { IncomingMessage, ServerResponse } from 'node:http';
import type { TimerHandle } from '../../extend.js';
import type { PolicyRegistry } from '../../metrics/registry.js';
import { checkRegistry } from '../exporter-support.js';
import { type DashboardOptions, type ResolvedDashboardOptions, resolveDashboardOptions } from './options.js';
import { CONTENT_SECURITY_POLICY, renderPage } from './page.js';
import { type DashboardFrame, Sampler } from './sampler.js';

export { type ExpressDashboardMiddleware, expressDashboard } from './express.js';
export { type FastifyDashboardOptions, type FastifyInstanceLike, fastifyDashboard } from './fastify.js';
export type { DashboardOptions, ResolvedDashboardOptions } from './options.js';
export type { DashboardFrame, LatencyFrame, PolicyFrame, WindowCounts } from './sampler.js';

/**
 * A live view of a registry's policies: an HTML page and a server-sent event stream of frames. Frames
 * are built only while at least one page is connected, by one unref'd timer; when the last page leaves,
 * the timer stops and the registry is unsubscribed, so an unwatched dashboard costs nothing.
 */
export interface Dashboard {
  readonly options: ResolvedDashboardOptions;
  /**
   * For a node:http server: serves `<path>`, `<path>/` (the page) and `<path>/events` (the stream), and
   * returns false for any other URL, which the caller answers itself.
   */
  handle(req: IncomingMessage, res: ServerResponse): boolean;
  /**
   * Serves a path relative to wherever the dashboard is mounted (`''`, `'/'`, `'/index.html'` or
   * `'/events'`); returns false for any other. Adapters for other frameworks use this.
   */
  serve(subpath: string, req: IncomingMessage, res: ServerResponse): boolean;
  /** Event streams open now. */
  readonly clients: number;
  /** The frame connected pages would get now (also what `GET <path>/events` sends first). */
  frame(): DashboardFrame;
  /** Ends every event stream and stops the timer; later requests get 503. */
  close(): void;
}

export function dashboard(registry: PolicyRegistry, options?: DashboardOptions): Dashboard {
  return new Board(checkRegistry('dashboard.registry', registry), resolveDashboardOptions(options));
}

interface Client {
  readonly res: ServerResponse;
  /** The socket buffer is full: frames are skipped (each one replaces the last) until 'drain'. */
  blocked: boolean;
}

const SECURITY_HEADERS = {
  'cache-control': 'no-store',
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
};

function pathnameOf(url: string | undefined): string {
  if (url === undefined) return '/';
  const q = url.search(/[?#]/);
  return q === -1 ? url : url.slice(0, q);
}

/** Which part of the dashboard a path below its root names. */
function routeOf(subpath: string): 'page' | 'events' | undefined {
  if (subpath === '' || subpath === '/' || subpath === '/index.html') return 'page';
  if (subpath === '/events') return 'events';
  return undefined;
}

class Board implements Dashboard {
  readonly options: ResolvedDashboardOptions;
  readonly #sampler: Sampler;
  readonly #clients = new Set<Client>();
  readonly #page: string;
  #timer: TimerHandle | undefined = undefined;
  #closed = false;

  constructor(registry: PolicyRegistry, options: ResolvedDashboardOptions) {
    this.options = options;
    this.#sampler = new Sampler(registry, options.clock, options.windowMs);
    this.#page = renderPage(options.title);
  }

  get clients(): number {
    return this.#clients.size;
  }

  handle(req: IncomingMessage, res: ServerResponse): boolean {
    const pathname = pathnameOf(req.url);
    const root = this.options.path;
    if (root === '/') return this.serve(pathname, req, res);
    if (pathname !== root && !pathname.startsWith(`${root}/`)) return false;
    return this.serve(pathname.slice(root.length), req, res);
  }

  serve(subpath: string, req: IncomingMessage, res: ServerResponse): boolean {
    const route = routeOf(pathnameOf(subpath));
    if (route === undefined) return false;
    const method = req.method ?? 'GET';
    if (method !== 'GET' && (method !== 'HEAD' || route === 'events')) {
      res.writeHead(405, { allow: route === 'page' ? 'GET, HEAD' : 'GET', ...SECURITY_HEADERS }).end();
      return true;
    }
    if (this.#closed) {
      res
        .writeHead(503, { 'content-type': 'text/plain; charset=utf-8', ...SECURITY_HEADERS })
        .end('dashboard closed\n');
      return true;
    }
    if (route === 'page') this.#servePage(method, res);
    else this.#connect(res);
    return true;
  }

  #servePage(method: string, res: ServerResponse): void {
    res.writeHead(200, {
      'content-type': 'text/html; charset=utf-8',
      'content-length': Buffer.byteLength(this.#page),
      'content-security-policy': CONTENT_SECURITY_POLICY,
      ...SECURITY_HEADERS,
    });
    res.end(method === 'HEAD' ? undefined : this.#page);
  }

  #connect(res: ServerResponse): void {
    if (this.#clients.size >= this.options.maxClients) {
      res
        .writeHead(503, {
          'content-type': 'text/plain; charset=utf-8',
          'retry-after': '5',
          ...SECURITY_HEADERS,
        })
        .end('too many dashboard clients\n');
      return;
    }
    const client: Client = { res, blocked: false };
    this.#clients.add(client);
    // 'close' fires when the page goes away (or the stream is ended here): the only exit.
    res.once('close', () => this.#disconnect(client));
    res.on('drain', () => {
      client.blocked = false;
    });
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      connection: 'keep-alive',
      // Proxies such as nginx would otherwise buffer the stream.
      'x-accel-buffering': 'no',
      ...SECURITY_HEADERS,
    });
    res.flushHeaders();
    if (!this.#sampler.running) this.#sampler.start();
    // The first frame at once, so the page shows the policies (their states, bulkhead usage) without
    // waiting a whole interval; a reconnecting page waits 2 s.
    this.#send(client, `retry: 2000\ndata: ${JSON.stringify(this.frame())}\n\n`);
    this.#arm();
  }

  #disconnect(client: Client): void {
    if (!this.#clients.delete(client)) return;
    if (this.#clients.size > 0) return;
    if (this.#timer !== undefined) {
      this.options.clock.clearTimer(this.#timer);
      this.#timer = undefined;
    }
    this.#sampler.stop();
  }

  #arm(): void {
    if (this.#timer === undefined && this.#clients.size > 0) {
      this.#timer = this.options.clock.setTimer(this.#tick, this.options.intervalMs);
    }
  }

  readonly #tick = (): void => {
    this.#timer = undefined;
    if (this.#clients.size === 0) return;
    // One frame, serialised once, for every page.
    const message = `data: ${JSON.stringify(this.frame())}\n\n`;
    for (const client of this.#clients) this.#send(client, message);
    this.#arm();
  };

  #send(client: Client, message: string): void {
    if (client.blocked || client.res.writableEnded) return;
    if (!client.res.write(message)) client.blocked = true;
  }

  frame(): DashboardFrame {
    return this.#sampler.frame(this.options.title, this.options.intervalMs);
  }

  close(): void {
    this.#closed = true;
    for (const client of [...this.#clients]) {
      client.res.end();
      this.#disconnect(client);
    }
  }
}
