import { describe, expect, it } from 'vitest';
import { rateLimiter } from '../../../src/index.js';
import { fastifyBreakwater } from '../../../src/integrations/fastify/index.js';
import { FakeClock } from '../../helpers.js';
import { captureReports, getFrom } from '../express/clients.js';
import { app, listen } from './harness.js';

const reports = captureReports();

/** One request per client per minute. */
function perClient(clock: FakeClock) {
  return rateLimiter({ tokens: 1, intervalMs: 60_000, keyed: true, clock });
}

describe('fastify plugin: rate limiting', () => {
  it('answers 429 with Retry-After, limiting each client address on its own', async () => {
    const fastify = app();
    await fastify.register(fastifyBreakwater, { policy: perClient(new FakeClock()) });
    fastify.get('/', async () => 'ok');
    const url = await listen(fastify);
    expect((await getFrom('127.0.0.2', url)).status).toBe(200);
    const limited = await getFrom('127.0.0.2', url);
    expect(limited.status).toBe(429);
    expect(limited.headers['retry-after']).toBe('60');
    expect(JSON.parse(limited.body)).toMatchObject({ error: 'BW_ERR_RATE_LIMITED' });
    expect((await getFrom('127.0.0.3', url)).status).toBe(200);
  });

  it('groups requests by its key function, and leaves them unkeyed when it throws', async () => {
    const clock = new FakeClock();
    const fastify = app();
    await fastify.register(async (child) => {
      await child.register(fastifyBreakwater, {
        policy: perClient(clock),
        key: (request) => request.headers['x-api-key'] as string | undefined,
      });
      child.get('/by-key', async () => 'ok');
    });
    await fastify.register(async (child) => {
      const throwing = () => {
        throw new Error('key bug');
      };
      await child.register(fastifyBreakwater, { policy: perClient(clock), key: throwing });
      child.get('/broken', async () => 'ok');
    });
    const url = await listen(fastify);
    const as = (key: string) => getFrom('127.0.0.2', `${url}/by-key`, { 'x-api-key': key });
    expect((await as('a')).status).toBe(200);
    expect((await as('a')).status).toBe(429);
    expect((await as('b')).status).toBe(200);
    // Unkeyed: every client shares one limit.
    expect((await getFrom('127.0.0.2', `${url}/broken`)).status).toBe(200);
    expect((await getFrom('127.0.0.3', `${url}/broken`)).status).toBe(429);
    expect(reports.names()).toEqual([
      ['fastifyBreakwater.key', 'fastify:GET /broken'],
      ['fastifyBreakwater.key', 'fastify:GET /broken'],
    ]);
  });
});
