// resilientFetch against two real local servers: one that is busy at first (503 + Retry-After, then
// 200), one that is down (500 every time). Run with `npx tsx examples/integrations/fetch.ts`; it ends
// by itself in about a second.
import { once } from 'node:events';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { BrokenCircuitError } from '../../src/index.js';
import { resilientFetch } from '../../src/integrations/fetch/index.js';

async function server(handler: Parameters<typeof createServer>[1]) {
  const s = createServer(handler).listen(0, '127.0.0.1');
  await once(s, 'listening');
  return { s, url: `http://127.0.0.1:${(s.address() as AddressInfo).port}` };
}

let busyCalls = 0;
const busy = await server((_req, res) => {
  // The first call is told to come back in one second.
  if (++busyCalls === 1) res.writeHead(503, { 'retry-after': '1' }).end('busy');
  else res.end('{"items":[1,2,3]}');
});
const down = await server((_req, res) => res.writeHead(500).end('down'));

const http = resilientFetch({
  timeout: 2_000, // per attempt, until the response headers arrive
  retry: { maxRetries: 2 }, // GET/HEAD/PUT/DELETE/OPTIONS, and POSTs with an Idempotency-Key
  circuitBreaker: { window: { kind: 'consecutive', failures: 3 }, breakDurationMs: 30_000 },
});

const started = performance.now();
const res = await http(`${busy.url}/items`);
console.log(
  `busy host: ${res.status} ${await res.text()} after ${Math.round(performance.now() - started)} ms`,
);

// The down host: its 500 is returned as fetch would once the retries are spent, and its three failed
// attempts open its circuit: later calls fail at once, without a request.
for (let i = 1; i <= 3; i++) {
  try {
    const r = await http(down.url);
    console.log(`down host, call ${i}: HTTP ${r.status} after 3 attempts`);
    await r.body?.cancel();
  } catch (error) {
    if (error instanceof BrokenCircuitError) {
      console.log(
        `down host, call ${i}: failed fast, circuit ${error.state}, retry after ${Math.round(error.retryAfterMs ?? 0)} ms`,
      );
    } else throw error;
  }
}
console.log(
  'breakers:',
  http.breakers?.keys().map((k) => `${k} ${http.breakers?.peek(k)?.state}`),
);

busy.s.close();
down.s.close();
busy.s.closeAllConnections();
down.s.closeAllConnections();
