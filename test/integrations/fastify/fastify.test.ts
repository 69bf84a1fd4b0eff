import type { FastifyContextConfig, FastifyInstance } from 'fastify';
import { describe, expect, it } from 'vitest';
import { BW_ERR_INVALID_OPTION, bulkhead, policyRegistry, TimeoutError } from '../../../src/index.js';
import { fastifyBreakwater } from '../../../src/integrations/fastify/index.js';
import { deferred, FakeClock, waitFor } from '../../helpers.js';
import { app, listen } from './harness.js';

describe('fastify plugin: load shedding', () => {
  it('sheds requests beyond the shared bulkhead with 503 + Retry-After, across routes', async () => {
    const fastify = app();
    await fastify.register(fastifyBreakwater, { bulkhead: 1, retryAfterSeconds: 2 });
    const release = deferred<void>();
    let started = 0;
    fastify.get('/a', async () => {
      started++;
      await release.promise;
      return 'a';
    });
    fastify.get('/b', async () => 'b');
    const url = await listen(fastify);
    const first = fetch(`${url}/a`);
    await waitFor(() => started === 1, 'the first handler to start');
    const shed = await fetch(`${url}/b`);
    expect(shed.status).toBe(503);
    expect(shed.headers.get('retry-after')).toBe('2');
    expect(await shed.json()).toMatchObject({ error: 'BW_ERR_BULKHEAD_REJECTED' });
    release.resolve();
    expect(await (await first).text()).toBe('a');
    expect(await (await fetch(`${url}/b`)).text()).toBe('b');
  });

  it('frees the slot of a request whose client went away', async () => {
    const shared = bulkhead({ limit: 1 });
    const fastify = app();
    await fastify.register(fastifyBreakwater, { bulkhead: shared });
    const signals: AbortSignal[] = [];
    fastify.get('/', (request) => {
      signals.push(request.breakwater!.signal);
      return new Promise(() => {});
    });
    const url = await listen(fastify);
    const client = new AbortController();
    const call = fetch(url, { signal: client.signal }).catch(() => 'gone');
    await waitFor(() => signals.length === 1, 'the handler to start');
    expect(shared.snapshot().inflight).toBe(1);
    client.abort();
    expect(await call).toBe('gone');
    await waitFor(() => shared.snapshot().inflight === 0, 'the slot freed');
    expect(signals[0]!.aborted).toBe(true);
  });
});

describe('fastify plugin: per-route timeouts and breakers', () => {
  it('aborts request.breakwater.signal at the route deadline and answers 503', async () => {
    const clock = new FakeClock();
    const fastify = app();
    await fastify.register(fastifyBreakwater, { timeout: 1_000, clock });
    const signals: AbortSignal[] = [];
    fastify.get('/slow', async (request) => {
      const signal = request.breakwater!.signal;
      signals.push(signal);
      // A handler that honours its signal: it stops working (and its late error is not sent).
      await new Promise((_resolve, reject) => signal.addEventListener('abort', () => reject(signal.reason)));
    });
    const url = await listen(fastify);
    const res = fetch(`${url}/slow`);
    await waitFor(() => signals.length === 1, 'the handler to start');
    await clock.tick(1_000);
    const answer = await res;
    expect(answer.status).toBe(503);
    expect(await answer.json()).toMatchObject({ error: 'BW_ERR_TIMEOUT' });
    expect(signals[0]!.reason).toBeInstanceOf(TimeoutError);
  });

  it('takes route-level options from config.breakwater, key by key', async () => {
    const clock = new FakeClock();
    const fastify = app();
    await fastify.register(fastifyBreakwater, { timeout: 60_000, clock });
    const started: string[] = [];
    const hang = (name: string) => () => {
      started.push(name);
      return new Promise(() => {});
    };
    fastify.get('/quick', { config: { breakwater: { timeout: 50, timeoutStatus: 504 } } }, hang('quick'));
    fastify.get('/default', hang('default'));
    const url = await listen(fastify);
    const quick = fetch(`${url}/quick`);
    const slow = fetch(`${url}/default`).catch(() => 'closed');
    await waitFor(() => started.length === 2, 'both handlers to start');
    await clock.tick(50);
    expect((await quick).status).toBe(504);
    expect(fastify.breakwater.routes.get('GET /quick')?.policies).toHaveLength(1);
    await clock.tick(60_000);
    expect(await slow).toMatchObject({ status: 503 });
  });

  it('gives each route its own breaker from the plugin options', async () => {
    const fastify = app();
    await fastify.register(fastifyBreakwater, {
      circuitBreaker: { window: { kind: 'consecutive', failures: 2 }, breakDurationMs: 5_000 },
    });
    let flakyCalls = 0;
    fastify.get('/flaky', async (_request, reply) => {
      flakyCalls++;
      return reply.code(502).send('bad gateway');
    });
    fastify.get('/fine', async () => 'fine');
    const url = await listen(fastify);
    expect((await fetch(`${url}/flaky`)).status).toBe(502);
    expect((await fetch(`${url}/flaky`)).status).toBe(502);
    const open = await fetch(`${url}/flaky`);
    expect(open.status).toBe(503);
    expect(open.headers.get('retry-after')).toBe('5');
    expect(await open.json()).toMatchObject({ error: 'BW_ERR_CIRCUIT_OPEN' });
    expect(flakyCalls).toBe(2);
    expect(await (await fetch(`${url}/fine`)).text()).toBe('fine');
    // Thrown errors become 500 answers: failures too.
    const registry = policyRegistry().add(...fastify.breakwater.routes.values());
    expect(Object.keys(registry.snapshots())).toContain('fastify:GET /flaky:circuit-breaker');
    expect(registry.snapshots()['fastify:GET /flaky:circuit-breaker']).toMatchObject({ state: 'open' });
    expect(registry.snapshots()['fastify:GET /fine:circuit-breaker']).toMatchObject({ state: 'closed' });
  });

  it("protects the HEAD route Fastify adds for a GET route with the GET route's own policies", async () => {
    const fastify = app();
    await fastify.register(fastifyBreakwater, { circuitBreaker: {}, timeout: 1_000 });
    fastify.get('/page', async () => 'page');
    const url = await listen(fastify);
    expect((await fetch(`${url}/page`, { method: 'HEAD' })).status).toBe(200);
    expect((await fetch(`${url}/page`)).status).toBe(200);
    // One breaker and one timeout for the route, which saw both requests.
    expect([...fastify.breakwater.routes.keys()]).toEqual(['GET /page']);
    const registry = policyRegistry().add(...fastify.breakwater.routes.values());
    expect(Object.keys(registry.snapshots()).filter((n) => n.includes('HEAD'))).toEqual([]);
    expect(registry.snapshots()['fastify:GET /page:circuit-breaker']).toMatchObject({ calls: 2 });
  });

  it('leaves a route with config.breakwater false unprotected', async () => {
    const fastify = app();
    await fastify.register(fastifyBreakwater, { bulkhead: 1, timeout: 1_000 });
    fastify.get('/open', { config: { breakwater: false } }, async (request) => ({
      protected: request.breakwater !== null,
    }));
    const url = await listen(fastify);
    expect(await (await fetch(`${url}/open`)).json()).toEqual({ protected: false });
    expect(fastify.breakwater.routes.has('GET /open')).toBe(false);
  });
});

describe('fastify plugin: encapsulation', () => {
  it('protects the context it is registered in and its children, never siblings', async () => {
    const fastify = app();
    const release = deferred<void>();
    let started = 0;
    await fastify.register(async (child) => {
      await child.register(fastifyBreakwater, { bulkhead: 1 });
      child.get('/guarded', async () => {
        started++;
        await release.promise;
        return 'guarded';
      });
      await child.register(async (grandchild) => {
        grandchild.get('/guarded/deeper', async (request) => ({ protected: request.breakwater !== null }));
      });
    });
    let sibling: FastifyInstance | undefined;
    await fastify.register(async (other) => {
      sibling = other;
      other.get('/free', async (request) => ({ protected: request.breakwater != null }));
    });
    const url = await listen(fastify);
    const first = fetch(`${url}/guarded`);
    await waitFor(() => started === 1, 'the first handler to start');
    expect((await fetch(`${url}/guarded/deeper`)).status).toBe(503);
    expect(await (await fetch(`${url}/free`)).json()).toEqual({ protected: false });
    expect(fastify.hasDecorator('breakwater')).toBe(false);
    expect(sibling?.hasDecorator('breakwater')).toBe(false);
    release.resolve();
    expect((await first).status).toBe(200);
  });

  it('names a nested registration after its prefix, so both fit in one registry', async () => {
    const fastify = app();
    await fastify.register(fastifyBreakwater, { bulkhead: 10, timeout: 1_000 });
    await fastify.register(
      async (child) => {
        await child.register(fastifyBreakwater, { bulkhead: 2, timeout: 500 });
        child.get('/users', async () => 'users');
      },
      { prefix: '/api' },
    );
    fastify.get('/health', async () => 'ok');
    const url = await listen(fastify);
    expect((await fetch(`${url}/api/users`)).status).toBe(200);
    const registry = policyRegistry().add(...fastify.breakwater.routes.values());
    expect(Object.keys(registry.snapshots()).sort()).toEqual([
      'fastify/api:GET /api/users:timeout',
      'fastify/api:bulkhead',
      'fastify:GET /health:timeout',
      'fastify:bulkhead',
    ]);
  });

  it('nests a registration inside another: the outer bulkhead and the inner timeout both apply', async () => {
    const clock = new FakeClock();
    const shared = bulkhead({ limit: 5, clock });
    const fastify = app();
    await fastify.register(fastifyBreakwater, { bulkhead: shared, clock });
    const signals: AbortSignal[] = [];
    await fastify.register(async (child) => {
      await child.register(fastifyBreakwater, { timeout: 30, clock, name: 'inner' });
      child.get('/nested', async (request, reply) => {
        const signal = request.breakwater!.signal;
        signals.push(signal);
        // Stops on its signal: the outer slot is freed once it has.
        await new Promise((resolve) => signal.addEventListener('abort', resolve));
        return reply;
      });
    });
    const url = await listen(fastify);
    const res = fetch(`${url}/nested`);
    await waitFor(() => signals.length === 1, 'the handler to start');
    expect(shared.snapshot().inflight).toBe(1);
    await clock.tick(30);
    expect((await res).status).toBe(503);
    await waitFor(() => shared.snapshot().inflight === 0, 'the slot freed');
    expect([...fastify.breakwater.routes.keys()]).toEqual(['GET /nested']);
  });
});

describe('fastify plugin: options', () => {
  it('reports bad plugin options when the plugin loads', async () => {
    const fastify = app();
    await expect(fastify.register(fastifyBreakwater, { bulkhed: 1 } as never)).rejects.toMatchObject({
      code: BW_ERR_INVALID_OPTION,
      option: 'fastifyBreakwater.bulkhed',
    });
  });

  it('reports bad route options when the route is added', async () => {
    const fastify = app();
    await fastify.register(fastifyBreakwater, {});
    expect(() => fastify.get('/x', { config: { breakwater: { timout: 5 } } }, async () => 'x')).toThrow(
      expect.objectContaining({ option: 'route GET /x config.breakwater.timout' }),
    );
    // The route config is typed through declaration merging:
    const good: FastifyContextConfig = { breakwater: { timeout: 5, circuitBreaker: { minimumCalls: 5 } } };
    // @ts-expect-error: `timout` is not a route option
    const bad: FastifyContextConfig = { breakwater: { timout: 5 } };
    expect([good, bad]).toHaveLength(2);
  });

  it('names a bad option of the policies it builds by the path the user wrote', async () => {
    await expect(app().register(fastifyBreakwater, { bulkhead: { limit: 0 } })).rejects.toMatchObject({
      name: 'RangeError',
      code: BW_ERR_INVALID_OPTION,
      option: 'fastifyBreakwater.bulkhead.limit',
    });
    await expect(app().register(fastifyBreakwater, { key: 'ip' as never })).rejects.toMatchObject({
      name: 'TypeError',
      option: 'fastifyBreakwater.key',
    });
    const fastify = app();
    await fastify.register(fastifyBreakwater, {});
    expect(() =>
      fastify.get('/x', { config: { breakwater: { timeout: { durationMs: -1 } } } }, async () => 'x'),
    ).toThrow(expect.objectContaining({ option: 'route GET /x config.breakwater.timeout.durationMs' }));
  });

  it('answers through a custom respond function', async () => {
    const fastify = app();
    await fastify.register(fastifyBreakwater, {
      bulkhead: 1,
      respond: (answer, _request, reply) => void reply.code(429).send(`slow down (${answer.body.error})`),
    });
    const release = deferred<void>();
    let started = 0;
    fastify.get('/', async () => {
      started++;
      await release.promise;
      return 'ok';
    });
    const url = await listen(fastify);
    const first = fetch(url);
    await waitFor(() => started === 1, 'the first handler to start');
    const res = await fetch(url);
    expect(res.status).toBe(429);
    expect(await res.text()).toBe('slow down (BW_ERR_BULKHEAD_REJECTED)');
    release.resolve();
    await (await first).text();
  });
});
