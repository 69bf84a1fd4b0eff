// Fastify 5 with the breakwater plugin: a shared bulkhead for load shedding, a breaker per route, and
// route-level options in `config.breakwater`. Run with `npx tsx examples/integrations/fastify.ts`; it
// starts the server on 127.0.0.1, sends some requests, prints the answers and exits.
import { setTimeout as sleep } from 'node:timers/promises';
import Fastify from 'fastify';
import { policyRegistry } from '../../src/index.js';
import { fastifyBreakwater } from '../../src/integrations/fastify/index.js';

const app = Fastify();
await app.register(fastifyBreakwater, {
  bulkhead: { limit: 8, queue: 16 }, // one bulkhead for every route of this context
  circuitBreaker: { window: { kind: 'consecutive', failures: 3 }, breakDurationMs: 10_000 }, // one per route
  timeout: 1_000, // per route
});

let inventoryCalls = 0;
app.get('/inventory', async (_request, reply) => {
  inventoryCalls++;
  return reply.code(502).send({ error: 'warehouse unreachable' });
});
app.get('/search', { config: { breakwater: { timeout: 100 } } }, async (request, reply) => {
  // Honour the signal: it aborts when the client leaves or the 100 ms of this route pass.
  const signal = request.breakwater!.signal;
  try {
    await sleep(500, undefined, { signal });
  } catch (error) {
    // Already answered (503 at the deadline): end quietly rather than reject a sent reply.
    if (signal.aborted) return reply;
    throw error;
  }
  return { results: [] };
});
app.get('/health', { config: { breakwater: false } }, async () => ({ ok: true }));

const url = await app.listen({ port: 0, host: '127.0.0.1' });

for (let i = 0; i < 5; i++) {
  const res = await fetch(`${url}/inventory`);
  console.log(`inventory #${i + 1}: ${res.status} ${res.headers.get('retry-after') ?? ''}`.trim());
  await res.text();
}
console.log(`the inventory handler ran ${inventoryCalls} times; the breaker answered the rest`);
const search = await fetch(`${url}/search`);
console.log('search:', search.status, await search.json());
console.log('health:', (await fetch(`${url}/health`)).status);

const registry = policyRegistry().add(...app.breakwater.routes.values());
console.log('policies:', Object.keys(registry.snapshots()));
await app.close();
