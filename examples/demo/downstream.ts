import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type Phase, phaseAt } from './phases.js';

/** A flaky downstream on 127.0.0.1 that follows the phases, from its own start. */
export async function startDownstream(
  list: readonly Phase[],
): Promise<{ url: string; server: Server; served: () => number }> {
  const started = performance.now();
  let served = 0;
  // Deterministic flakiness (a counter, not Math.random), so both demo runs see the same downstream.
  let n = 0;
  const server = createServer((_req, res) => {
    served++;
    const p = phaseAt(list, performance.now() - started);
    const k = n++ % 100;
    const answer = (status: number, body: string) => {
      if (!res.writableEnded) res.writeHead(status, { 'content-type': 'text/plain' }).end(body);
    };
    if (k < p.errorRate * 100) {
      answer(503, 'overloaded');
      return;
    }
    const delay = k >= 100 - p.slowRate * 100 ? p.slowMs : p.latencyMs;
    const timer = setTimeout(() => answer(200, 'order confirmed'), delay);
    res.on('close', () => clearTimeout(timer));
  });
  server.keepAliveTimeout = 60_000;
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/`, server, served: () => served };
}
