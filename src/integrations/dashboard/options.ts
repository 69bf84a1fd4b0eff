import type { Clock } from '../../extend.js';
import { checkKeys, invalid, number, resolveClock, string } from '../../extend.js';

export interface DashboardOptions {
  /**
   * Where `dashboard.handle(req, res)` serves the page (`<path>` and `<path>/`) and the event stream
   * (`<path>/events`). The Express and Fastify adapters use their mount point instead. Default `/dashboard`.
   */
  path?: string;
  /** How often connected pages get a frame, ms. Default 1 000. */
  intervalMs?: number;
  /** Rolling window of the rates, counts and latency percentiles shown, ms. Default 10 000. */
  windowMs?: number;
  /** Event streams served at once; more get 503. Default 16. */
  maxClients?: number;
  /** Shown in the page's title and header. Default `breakwater`. */
  title?: string;
  /** Time source of the windows and the frame timer. Default: the system clock (unref'd timers). */
  clock?: Clock;
}

export interface ResolvedDashboardOptions {
  readonly path: string;
  readonly intervalMs: number;
  readonly windowMs: number;
  readonly maxClients: number;
  readonly title: string;
  readonly clock: Clock;
}

const KEYS = ['path', 'intervalMs', 'windowMs', 'maxClients', 'title', 'clock'];

export function resolveDashboardOptions(options: DashboardOptions | undefined): ResolvedDashboardOptions {
  checkKeys('dashboard', options, KEYS);
  const o = options ?? {};
  const path = string('dashboard.path', o.path, '/dashboard');
  if (!/^\/[^?#\s]*$/.test(path) || (path.length > 1 && path.endsWith('/'))) {
    invalid('dashboard.path', 'a URL path starting with "/" and not ending with one (or "/")', path, 'range');
  }
  const intervalMs = number('dashboard.intervalMs', o.intervalMs, 1_000, { min: 50, max: 60_000 });
  const windowMs = number('dashboard.windowMs', o.windowMs, 10_000, { min: 1_000, max: 3_600_000 });
  return Object.freeze({
    path,
    intervalMs,
    windowMs,
    maxClients: number('dashboard.maxClients', o.maxClients, 16, { min: 1, max: 10_000, integer: true }),
    title: string('dashboard.title', o.title, 'breakwater'),
    clock: resolveClock('dashboard', o.clock),
  });
}
