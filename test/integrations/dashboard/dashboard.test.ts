import { createHash } from 'node:crypto';
import { EventEmitter, once } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { Emitter } from '../../../src/core/events.js';
import {
  bulkhead,
  circuitBreaker,
  type PolicyEvent,
  pipeline,
  policyRegistry,
  retry,
  timeout,
} from '../../../src/index.js';
import { type Dashboard, dashboard } from '../../../src/integrations/dashboard/index.js';
import { deferred, FakeClock, flush } from '../../helpers.js';
import { openStream } from './sse.js';

const servers: Server[] = [];
const boards: Dashboard[] = [];

afterEach(async () => {
  for (const b of boards.splice(0)) b.close();
  for (const s of servers.splice(0)) {
    s.closeAllConnections();
    s.close();
    await once(s, 'close');
  }
});

async function listen(server: Server): Promise<string> {
  servers.push(server);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

/** A registry whose only policy reports whether anyone listens to it. */
function watchedRegistry() {
  const registry = policyRegistry();
  const events = new Emitter<PolicyEvent>();
  registry.add({
    kind: 'timeout',
    name: 'watched',
    onEvent: events.subscribe,
    snapshot: () => ({ kind: 'timeout', name: 'watched' }),
  });
  return { registry, events };
}

async function serveBoard(board: Dashboard): Promise<string> {
  boards.push(board);
  return listen(createServer((req, res) => board.handle(req, res) || res.writeHead(404).end('not found')));
}

describe('dashboard over node:http', () => {
  it('serves one self-contained page whose inline script and style the CSP allows by hash', async () => {
    const clock = new FakeClock();
    const base = await serveBoard(dashboard(policyRegistry(), { clock, title: '<ops & co>' }));
    const res = await fetch(`${base}/dashboard`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(res.headers.get('cache-control')).toBe('no-store');
    const html = await res.text();
    // Nothing is fetched from anywhere: no src, no href but the empty data: icon, no import.
    expect(html).not.toMatch(/\bsrc=|@import|url\(/i);
    expect(html.match(/<link[^>]*>|\bhref=[^>\s]*/gi)).toEqual(['<link rel="icon" href="data:,">']);
    expect(html.match(/https?:\/\/[^'"\s]+/g)).toEqual([
      'http://www.w3.org/2000/svg',
      'http://www.w3.org/2000/svg',
    ]);
    expect(html).toContain('<title>&#60;ops &#38; co&#62; · resilience dashboard</title>');
    const script = html.match(/<script>([\s\S]*)<\/script>/)![1]!;
    const style = html.match(/<style>([\s\S]*)<\/style>/)![1]!;
    const csp = res.headers.get('content-security-policy')!;
    const sha = (text: string) => `'sha256-${createHash('sha256').update(text).digest('base64')}'`;
    expect(csp).toContain(`script-src ${sha(script)}`);
    expect(csp).toContain(`style-src ${sha(style)}`);
    expect(csp).toContain("default-src 'none'");
    expect(csp).toContain("connect-src 'self'");

    for (const path of ['/dashboard/', '/dashboard/index.html', '/dashboard?refresh=1']) {
      const r = await fetch(base + path);
      expect(r.status, path).toBe(200);
      expect(await r.text()).toBe(html);
    }
    const head = await fetch(`${base}/dashboard`, { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(Number(head.headers.get('content-length'))).toBe(Buffer.byteLength(html));
    const post = await fetch(`${base}/dashboard/events`, { method: 'POST' });
    expect(post.status).toBe(405);
    expect(post.headers.get('allow')).toBe('GET');
    for (const path of ['/dashboardx', '/dashboard/other', '/']) {
      expect((await fetch(base + path)).status, path).toBe(404);
    }
  });

  it('streams a frame at once and one per interval, with a timer and a subscription only while a page is open', async () => {
    const clock = new FakeClock();
    const { registry, events } = watchedRegistry();
    const board = dashboard(registry, { clock, intervalMs: 500 });
    const base = await serveBoard(board);
    expect(clock.pendingTimers).toBe(0);
    expect(events.active).toBe(false);

    const stream = await openStream(`${base}/dashboard/events`);
    expect(stream.response.headers.get('content-type')).toBe('text/event-stream; charset=utf-8');
    const first = await stream.next();
    expect(first).toMatchObject({ v: 1, title: 'breakwater', intervalMs: 500, windowMs: 10_000 });
    expect(first.policies.map((p) => p.name)).toEqual(['watched']);
    expect(board.clients).toBe(1);
    expect(clock.pendingTimers).toBe(1);
    expect(clock.refTimers).toBe(0);
    expect(events.active).toBe(true);

    events.emit({ type: 'call', policy: 'watched', kind: 'timeout', outcome: 'success', durationMs: 12 });
    clock.advance(500);
    const second = await stream.next();
    expect(second.policies[0]!.window.success).toBe(1);
    expect(second.policies[0]!.latency).toMatchObject({ count: 1, p50: 12, max: 12 });

    // A second page shares the timer; the stream stops only when the last one leaves.
    const other = await openStream(`${base}/dashboard/events`);
    await other.next();
    expect(board.clients).toBe(2);
    expect(clock.pendingTimers).toBe(1);
    stream.close();
    await vi.waitFor(() => expect(board.clients).toBe(1));
    expect(clock.pendingTimers).toBe(1);
    other.close();
    await vi.waitFor(() => expect(board.clients).toBe(0));
    expect(clock.pendingTimers).toBe(0);
    expect(events.active).toBe(false);
    // The windows went with the last page: the call above, still within 10 s, is forgotten.
    expect(board.frame().policies[0]).toMatchObject({ window: { success: 0 }, latency: null });
  });

  it('shows state changes, rates, error ratios and latency percentiles of a pipeline', async () => {
    const clock = new FakeClock();
    const breaker = circuitBreaker({
      name: 'payments',
      window: { kind: 'consecutive', failures: 3 },
      breakDurationMs: 5_000,
      clock,
    });
    const pool = bulkhead({ name: 'payments-pool', limit: 4, queue: 10, clock });
    const deadline = timeout({ name: 'payments-timeout', durationMs: 1_000, clock });
    const registry = policyRegistry().add(pipeline(breaker, pool, deadline));
    const base = await serveBoard(dashboard(registry, { clock, intervalMs: 1_000, windowMs: 10_000 }));
    const stream = await openStream(`${base}/dashboard/events`);
    let frame = await stream.next();
    const of = (name: string) => frame.policies.find((p) => p.name === name)!;
    expect(frame.policies.map((p) => [p.name, p.kind])).toEqual([
      ['payments', 'circuitBreaker'],
      ['payments-pool', 'bulkhead'],
      ['payments-timeout', 'timeout'],
    ]);
    expect(of('payments').snapshot).toMatchObject({ state: 'closed' });
    expect(of('payments').latency).toBeNull();
    expect(of('payments').errorPct).toBeNull();

    // 8 calls of 10, 20, ... 80 ms, 2 of them failing; then one held call.
    for (let i = 1; i <= 8; i++) {
      const call = breaker.executeOutcome(
        () =>
          new Promise((resolve, reject) =>
            clock.setTimer(() => (i % 4 === 0 ? reject(new Error('x')) : resolve(i)), i * 10),
          ),
      );
      await clock.tick(i * 10);
      await call;
    }
    const held = deferred();
    const holding = pipeline(breaker, pool).execute(() => held.promise);
    await flush();
    // 360 ms have passed since the page connected.
    await clock.tick(640);
    frame = await stream.next();
    const p = of('payments');
    expect(p.window).toMatchObject({ coveredMs: 1_000, success: 6, failure: 2, ignored: 0, rejected: 0 });
    expect(p.ratePerSec).toBe(8);
    expect(p.errorPct).toBe(25);
    expect(p.latency!.count).toBe(8);
    expect(p.latency!.max).toBe(80);
    // Nearest rank, within the histogram's 1/64 relative error.
    expect(Math.abs(p.latency!.p50 - 40) / 40).toBeLessThanOrEqual(1 / 64);
    expect(Math.abs(p.latency!.p90 - 80) / 80).toBeLessThanOrEqual(1 / 64);
    expect(of('payments-pool').snapshot).toMatchObject({
      inflight: 1,
      limit: 4,
      queueSize: 0,
      queueCapacity: 10,
    });

    breaker.open();
    await breaker.executeOutcome(() => 'rejected');
    await clock.tick(1_000);
    frame = await stream.next();
    expect(of('payments').snapshot).toMatchObject({ state: 'open', inflight: 1 });
    expect(of('payments').window.rejected).toBe(1);
    expect((of('payments').snapshot as unknown as { retryAfterMs: number }).retryAfterMs).toBeGreaterThan(0);

    // Past the window every count and percentile is gone.
    held.resolve('done');
    await holding;
    await clock.tick(20_000);
    stream.close();
    await vi.waitFor(() => expect(boards[0]!.clients).toBe(0));
    const after = boards[0]!.frame();
    expect(after.policies[0]!.window.success).toBe(0);
    expect(after.policies[0]!.latency).toBeNull();
    expect(clock.pendingTimers).toBe(0);
  });

  it('counts retries, timeouts and rejections per policy over the window', async () => {
    const clock = new FakeClock();
    const r = retry({ name: 'r', maxRetries: 1, backoff: 5, clock });
    const t = timeout({ name: 't', durationMs: 50, clock });
    const registry = policyRegistry().add(pipeline(r, t));
    const base = await serveBoard(dashboard(registry, { clock }));
    const stream = await openStream(`${base}/dashboard/events`);
    await stream.next();
    const call = pipeline(r, t).executeOutcome(() => new Promise(() => {}));
    await clock.tick(50);
    await clock.tick(5);
    await clock.tick(50);
    expect((await call).ok).toBe(false);
    await clock.tick(895);
    const frame = await stream.next();
    expect(frame.policies.find((p) => p.name === 'r')!.window).toMatchObject({ retries: 1, failure: 1 });
    expect(frame.policies.find((p) => p.name === 't')!.window).toMatchObject({ timeouts: 2, failure: 2 });
    expect(frame.policies.find((p) => p.name === 't')!.errorPct).toBe(100);
    stream.close();
  });

  it('refuses streams beyond maxClients and ends every stream on close()', async () => {
    const clock = new FakeClock();
    const { registry, events } = watchedRegistry();
    const board = dashboard(registry, { clock, maxClients: 2 });
    const base = await serveBoard(board);
    const a = await openStream(`${base}/dashboard/events`);
    const b = await openStream(`${base}/dashboard/events`);
    await Promise.all([a.next(), b.next()]);
    const refused = await fetch(`${base}/dashboard/events`);
    expect(refused.status).toBe(503);
    expect(refused.headers.get('retry-after')).toBe('5');
    await refused.text();

    board.close();
    await Promise.all([a.ended(), b.ended()]);
    expect(board.clients).toBe(0);
    expect(clock.pendingTimers).toBe(0);
    expect(events.active).toBe(false);
    expect((await fetch(`${base}/dashboard/events`)).status).toBe(503);
    expect((await fetch(`${base}/dashboard`)).status).toBe(503);
  });

  it('skips frames for a page that does not keep up, until its socket drains', () => {
    const clock = new FakeClock();
    const board = dashboard(watchedRegistry().registry, { clock, intervalMs: 100 });
    boards.push(board);
    const writes: string[] = [];
    let accept = false;
    const res = Object.assign(new EventEmitter(), {
      writableEnded: false,
      writeHead: () => res,
      flushHeaders: () => {},
      write: (chunk: string) => {
        writes.push(chunk);
        return accept;
      },
      end: () => {
        res.writableEnded = true;
        res.emit('close');
      },
    });
    const req = { method: 'GET', url: '/dashboard/events' };
    expect(board.handle(req as IncomingMessage, res as unknown as ServerResponse)).toBe(true);
    expect(writes).toHaveLength(1);
    clock.advance(300);
    expect(writes).toHaveLength(1);
    accept = true;
    res.emit('drain');
    clock.advance(100);
    clock.advance(100);
    expect(writes).toHaveLength(3);
    res.emit('close');
    expect(board.clients).toBe(0);
    expect(clock.pendingTimers).toBe(0);
  });

  it('serves at the root when path is "/"', async () => {
    const base = await serveBoard(dashboard(policyRegistry(), { clock: new FakeClock(), path: '/' }));
    expect((await fetch(`${base}/`)).status).toBe(200);
    const stream = await openStream(`${base}/events`);
    expect((await stream.next()).policies).toEqual([]);
    stream.close();
    expect((await fetch(`${base}/dashboard`)).status).toBe(404);
  });
});

describe('dashboard options', () => {
  const registry = policyRegistry();
  it.each([
    ['dashboard.registry', () => dashboard({} as never), TypeError],
    ['dashboard.path', () => dashboard(registry, { path: 'dash' }), RangeError],
    ['dashboard.path', () => dashboard(registry, { path: '/dash/' }), RangeError],
    ['dashboard.intervalMs', () => dashboard(registry, { intervalMs: 10 }), RangeError],
    ['dashboard.windowMs', () => dashboard(registry, { windowMs: 10 }), RangeError],
    ['dashboard.maxClients', () => dashboard(registry, { maxClients: 0 }), RangeError],
    ['dashboard.title', () => dashboard(registry, { title: '' }), TypeError],
    ['dashboard.clock', () => dashboard(registry, { clock: {} as never }), TypeError],
    ['dashboard.port', () => dashboard(registry, { port: 1 } as never), TypeError],
  ])('%s is checked', (option, build, kind) => {
    let error: (Error & { option?: string; code?: string }) | undefined;
    try {
      build();
    } catch (e) {
      error = e as Error;
    }
    expect(error).toBeInstanceOf(kind);
    expect(error?.option).toBe(option);
    expect(error?.code).toBe('BW_ERR_INVALID_OPTION');
  });

  it('has finite defaults', () => {
    expect(dashboard(registry).options).toMatchObject({
      path: '/dashboard',
      intervalMs: 1_000,
      windowMs: 10_000,
      maxClients: 16,
      title: 'breakwater',
    });
  });
});
