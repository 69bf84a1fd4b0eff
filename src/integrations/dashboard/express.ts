import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Dashboard } from './index.js';

/** An Express (4 or 5) middleware; typed on node:http so breakwater needs no Express types at run time. */
export type ExpressDashboardMiddleware = (
  req: IncomingMessage,
  res: ServerResponse,
  next: (error?: unknown) => void,
) => void;

/**
 * Serves the dashboard from Express. Mounted with a path (`app.use('/ops/dashboard', ...)`), it serves
 * the page and stream below that path; used without one (`app.use(...)`), at `dashboard.options.path`.
 * Other requests go on to `next()`.
 */
export function expressDashboard(board: Dashboard): ExpressDashboardMiddleware {
  return (req, res, next) => {
    // Express strips the mount path from req.url and keeps it in req.baseUrl.
    const baseUrl = (req as { baseUrl?: unknown }).baseUrl;
    const served =
      typeof baseUrl === 'string' && baseUrl !== ''
        ? board.serve(req.url ?? '/', req, res)
        : board.handle(req, res);
    if (!served) next();
  };
}
