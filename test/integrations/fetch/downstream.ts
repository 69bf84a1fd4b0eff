import { once } from 'node:events';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Seen {
  readonly n: number;
  readonly method: string;
  readonly url: string;
  readonly headers: IncomingMessage['headers'];
  body: string;
  /** The client went away before this response finished. */
  abandoned: boolean;
}

export type Step = (req: IncomingMessage, res: ServerResponse, seen: Seen) => void;

/**
 * A real downstream on 127.0.0.1 that answers request n with `steps[n - 1]` (the last step repeats).
 * It records every request, and whether the client closed it before the response ended.
 */
export interface Downstream {
  readonly url: string;
  readonly port: number;
  readonly seen: Seen[];
  /** Server-side events in order, e.g. `request 1`, `abandoned 1`, for ordering assertions. */
  readonly log: string[];
  /** Resolves when the server has received `n` requests. */
  received(n: number): Promise<void>;
  /** Resolves when request `n` has been abandoned by the client. */
  abandoned(n: number): Promise<void>;
  close(): Promise<void>;
}

export async function downstream(...steps: Step[]): Promise<Downstream> {
  const seen: Seen[] = [];
  const log: string[] = [];
  const waiters: Array<() => void> = [];
  const wake = () => {
    for (const w of waiters.splice(0)) w();
  };
  const server = createServer((req, res) => {
    const entry: Seen = {
      n: seen.length + 1,
      method: req.method ?? '',
      url: req.url ?? '',
      headers: req.headers,
      body: '',
      abandoned: false,
    };
    seen.push(entry);
    log.push(`request ${entry.n}`);
    res.on('close', () => {
      if (!res.writableFinished) {
        entry.abandoned = true;
        log.push(`abandoned ${entry.n}`);
      }
      wake();
    });
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      entry.body = Buffer.concat(chunks).toString();
      const step = steps[Math.min(entry.n, steps.length) - 1];
      if (step === undefined) res.end('ok');
      else step(req, res, entry);
      wake();
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const port = (server.address() as AddressInfo).port;
  const until = (check: () => boolean) =>
    new Promise<void>((resolve) => {
      const test = () => (check() ? resolve() : waiters.push(test));
      test();
    });
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    seen,
    log,
    received: (n) => until(() => seen.length >= n),
    abandoned: (n) => until(() => seen[n - 1]?.abandoned === true),
    close: async () => {
      server.closeAllConnections();
      server.close();
      await once(server, 'close');
    },
  };
}

// Common steps.
export const ok =
  (body = 'ok'): Step =>
  (_req, res) =>
    res.end(body);
export const status =
  (code: number, headers: Record<string, string> = {}, body = `status ${code}`): Step =>
  (_req, res) => {
    res.writeHead(code, headers).end(body);
  };
/** Never answers (until the client goes away). */
export const hang = (): Step => () => {};
/** Destroys the connection without an answer. */
export const reset = (): Step => (req) => req.socket.destroy();
/** Sends the status and a first chunk, then keeps the body open until the client lets go. */
export const openBody =
  (code: number, headers: Record<string, string> = {}): Step =>
  (_req, res) => {
    res.writeHead(code, headers);
    res.write('partial ');
  };
