import { once } from 'node:events';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import Fastify from 'fastify';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { circuitBreaker, policyRegistry } from '../../../src/index.js';
import {
  type Dashboard,
  dashboard,
  expressDashboard,
  fastifyDashboard,
} from '../../../src/integrations/dashboard/index.js';
import { fastifyBreakwater } from '../../../src/integrations/fastify/index.js';
import { FakeClock } from '../../helpers.js';
import { openStream } from './sse.js';

const cleanup: (() => unknown)[] = [];
afterEach(async () => {
  for (const step of cleanup.splice(0).reverse()) await step();
});

function board(): { board: Dashboard; clock: FakeClock } {
  const clock = new FakeClock();
  const registry = policyRegistry().add(circuitBreaker({ name: 'inventory', clock }));
  const b = dashboard(registry, { clock });
  cleanup.push(() => b.close());
  return { board: b, clock };
}

async function listenExpress(app: express.Express): Promise<string> {
  const server: Server = app.listen(0, '127.0.0.1');
  await once(server, 'listening');
  cleanup.push(async () => {
    server.closeAllConnections();
    server.close();
    await once(server, 'close');
  });
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

describe('Express middleware', () => {
  it('serves the page and the stream below its mount path and passes other requests on', async () => {
    const { board: b, clock } = board();
    const app = express();
    app.use('/ops/dashboard', expressDashboard(b));
    app.get('/ops/health', (_req, res) => {
      res.json({ ok: true });
    });
    const base = await listenExpress(app);
    for (const path of ['/ops/dashboard', '/ops/dashboard/']) {
      const page = await fetch(base + path);
      expect(page.status, path).toBe(200);
      expect(await page.text()).toContain('<title>breakwater');
    }
    const stream = await openStream(`${base}/ops/dashboard/events`);
    const frame = await stream.next();
    expect(frame.policies[0]).toMatchObject({ name: 'inventory', snapshot: { state: 'closed' } });
    clock.advance(1_000);
    expect((await stream.next()).policies).toHaveLength(1);
    expect(await (await fetch(`${base}/ops/health`)).json()).toEqual({ ok: true });
    expect((await fetch(`${base}/ops/dashboard/nothing`)).status).toBe(404);
    stream.close();
    await vi.waitFor(() => expect(b.clients).toBe(0));
    expect(clock.pendingTimers).toBe(0);
  });

  it('serves at dashboard.options.path when used without a mount path', async () => {
    const { board: b } = board();
    const app = express();
    app.use(expressDashboard(b));
    const base = await listenExpress(app);
    expect((await fetch(`${base}/dashboard`)).status).toBe(200);
    expect((await fetch(`${base}/elsewhere`)).status).toBe(404);
  });
});

describe('Fastify plugin', () => {
  it('serves the page and the stream at its prefix, and app.close() ends open streams', async () => {
    const { board: b, clock } = board();
    const app = Fastify();
    await app.register(fastifyDashboard, { dashboard: b, prefix: '/dashboard' });
    app.get('/other', async () => ({ ok: true }));
    const base = await app.listen({ port: 0, host: '127.0.0.1' });
    let closed = false;
    cleanup.push(() => (closed ? undefined : app.close()));
    for (const path of ['/dashboard', '/dashboard/']) {
      const page = await fetch(base + path);
      expect(page.status, path).toBe(200);
      expect(page.headers.get('content-security-policy')).toContain("default-src 'none'");
      expect(await page.text()).toContain('<title>breakwater');
    }
    expect(await (await fetch(`${base}/other`)).json()).toEqual({ ok: true });
    const stream = await openStream(`${base}/dashboard/events`);
    expect((await stream.next()).policies[0]!.name).toBe('inventory');
    clock.advance(1_000);
    await stream.next();
    expect(b.clients).toBe(1);

    await app.close();
    closed = true;
    await stream.ended();
    expect(b.clients).toBe(0);
    expect(clock.pendingTimers).toBe(0);
  });

  it('stays outside fastifyBreakwater: an open page holds no bulkhead slot and never times out', async () => {
    const { board: b } = board();
    const app = Fastify();
    await app.register(fastifyBreakwater, { bulkhead: { limit: 1, queue: 0 }, timeout: 50 });
    await app.register(fastifyDashboard, { dashboard: b, prefix: '/dashboard' });
    app.get('/work', async () => 'done');
    const base = await app.listen({ port: 0, host: '127.0.0.1' });
    cleanup.push(() => app.close());
    const stream = await openStream(`${base}/dashboard/events`);
    await stream.next();
    // With the page open, the one slot is still free for the application's own route.
    expect((await fetch(`${base}/work`)).status).toBe(200);
    expect([...app.breakwater.routes.keys()]).toEqual(['GET /work']);
  });

  it('refuses to register without a dashboard', async () => {
    const app = Fastify();
    await expect(app.register(fastifyDashboard, {} as never)).rejects.toMatchObject({
      code: 'BW_ERR_INVALID_OPTION',
      option: 'fastifyDashboard.dashboard',
    });
    await app.close();
  });
});
