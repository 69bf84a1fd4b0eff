import { describe, expect, it } from 'vitest';
import { bulkhead, circuitBreaker } from '../../../src/index.js';
import { fastifyBreakwater } from '../../../src/integrations/fastify/index.js';
import { deferred, FakeClock, waitFor } from '../../helpers.js';
import { captureReports } from '../express/clients.js';
import { app, listen } from './harness.js';

// Every user callback of the plugin runs where a throw would take the server down (a response's close
// listener, an abort listener, a promise reaction): each is reported and replaced by its default.

const reports = captureReports();
const bug = (what: string) => () => {
  throw new Error(`${what} bug`);
};

describe('fastify plugin: user callbacks are guarded', () => {
  it('judges statuses by the default 5xx rule when isFailure throws, and keeps serving', async () => {
    const breaker = circuitBreaker({ window: { kind: 'count', size: 10 }, minimumCalls: 10 });
    const fastify = app();
    await fastify.register(fastifyBreakwater, { circuitBreaker: breaker, isFailure: bug('isFailure') });
    fastify.get('/:status', async (request, reply) =>
      reply.code(Number((request.params as { status: string }).status)).send('answer'),
    );
    const url = await listen(fastify);
    expect((await fetch(`${url}/500`)).status).toBe(500);
    expect((await fetch(`${url}/404`)).status).toBe(404);
    await waitFor(() => breaker.snapshot().calls === 2, 'the breaker to record both requests');
    expect(breaker.snapshot()).toMatchObject({ calls: 2, failures: 1 });
    expect(reports.names()).toEqual([
      ['fastifyBreakwater.isFailure', 'fastify:GET /:status'],
      ['fastifyBreakwater.isFailure', 'fastify:GET /:status'],
    ]);
  });

  it('reports a throwing route-level isFailure under the plugin option name', async () => {
    const fastify = app();
    await fastify.register(fastifyBreakwater, { circuitBreaker: { minimumCalls: 10 } });
    fastify.get('/', { config: { breakwater: { isFailure: bug('isFailure') } } }, async () => 'ok');
    const url = await listen(fastify);
    expect((await fetch(url)).status).toBe(200);
    await waitFor(() => reports.events.length === 1, 'the report');
    expect(reports.names()).toEqual([['fastifyBreakwater.isFailure', 'fastify:GET /']]);
  });

  it('sends the built-in answer when respond throws on a rejection', async () => {
    const shared = bulkhead({ limit: 1 });
    const fastify = app();
    await fastify.register(fastifyBreakwater, {
      bulkhead: shared,
      respond: (_answer, _request, reply) => {
        reply.code(299).header('x-half', 'written');
        throw new Error('respond bug');
      },
    });
    const release = deferred<void>();
    let started = 0;
    fastify.get('/', async () => {
      started++;
      await release.promise;
      return 'done';
    });
    const url = await listen(fastify);
    const first = fetch(url);
    await waitFor(() => started === 1, 'the first handler to start');
    const shed = await fetch(url);
    expect(shed.status).toBe(503);
    expect(shed.headers.get('retry-after')).toBe('1');
    expect(await shed.json()).toMatchObject({ error: 'BW_ERR_BULKHEAD_REJECTED' });
    release.resolve();
    expect(await (await first).text()).toBe('done');
    await waitFor(() => shared.snapshot().inflight === 0, 'the slot freed');
    expect(reports.names()).toEqual([['fastifyBreakwater.respond', 'fastify:GET /']]);
  });

  it('sends the built-in answer when respond throws or rejects at the deadline, and frees the slot', async () => {
    const clock = new FakeClock();
    const shared = bulkhead({ limit: 2, clock });
    const stop = async (request: { breakwater: { signal: AbortSignal } | null }, reply: unknown) => {
      const signal = request.breakwater!.signal;
      await new Promise((resolve) => signal.addEventListener('abort', resolve));
      return reply;
    };
    const fastify = app();
    await fastify.register(async (child) => {
      await child.register(fastifyBreakwater, {
        bulkhead: shared,
        timeout: 50,
        clock,
        respond: bug('respond'),
      });
      child.get('/throws', stop);
    });
    await fastify.register(async (child) => {
      await child.register(fastifyBreakwater, {
        bulkhead: shared,
        timeout: 50,
        clock,
        respond: async () => Promise.reject(new Error('async respond bug')),
      });
      child.get('/rejects', stop);
    });
    const url = await listen(fastify);
    const calls = [fetch(`${url}/throws`), fetch(`${url}/rejects`)];
    await waitFor(() => shared.snapshot().inflight === 2, 'both requests admitted');
    await clock.tick(50);
    for (const res of await Promise.all(calls)) {
      expect(res.status).toBe(503);
      expect(await res.json()).toMatchObject({ error: 'BW_ERR_TIMEOUT' });
    }
    await waitFor(() => shared.snapshot().inflight === 0, 'both slots freed');
    expect(reports.names().sort()).toEqual([
      ['fastifyBreakwater.respond', 'fastify:GET /rejects'],
      ['fastifyBreakwater.respond', 'fastify:GET /throws'],
    ]);
  });
});
