// Express 5 with breakwater's protect(): an app-wide bulkhead sheds load with 503 + Retry-After, and a
// route timeout aborts the request's work. Run with `npx tsx examples/integrations/express.ts`; it
// starts the app on 127.0.0.1, sends a burst of requests, prints what came back and exits.
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import express from 'express';
import { protect } from '../../src/integrations/express/index.js';

const app = express();
// At most 4 requests at once, 2 more may wait up to 1 s; the rest are answered 503 at once.
app.use(protect({ bulkhead: { limit: 4, queue: 2, maxWaitMs: 1_000 } }));

// Each report takes 300 ms of (cancellable) work; the route allows 200 ms on /report/slow.
async function report(signal: AbortSignal, ms: number): Promise<string> {
  await sleep(ms, undefined, { signal });
  return 'report ready';
}
app.get('/report', async (req, res) => {
  res.send(await report(req.signal!, 100));
});
app.get('/report/slow', protect({ timeout: 200 }), async (req, res) => {
  try {
    res.send(await report(req.signal!, 300));
  } catch {
    // Aborted at the deadline: breakwater has already answered 503.
  }
});

const server = app.listen(0, '127.0.0.1');
await once(server, 'listening');
const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

const burst = await Promise.all(
  Array.from({ length: 10 }, async () => {
    const res = await fetch(`${url}/report`);
    return `${res.status}${res.headers.has('retry-after') ? ` (Retry-After: ${res.headers.get('retry-after')})` : ''}`;
  }),
);
console.log('burst of 10:', burst);

const slow = await fetch(`${url}/report/slow`);
console.log('slow route:', slow.status, await slow.json());

server.close();
server.closeAllConnections();
