import express from 'express';
import { describe, expect, it } from 'vitest';
import { rateLimiter } from '../../../src/index.js';
import { protect } from '../../../src/integrations/express/index.js';
import { FakeClock } from '../../helpers.js';
import { captureReports, getFrom } from './clients.js';
import { listen } from './harness.js';

const reports = captureReports();

/** One request per client per minute. */
function perClient(clock: FakeClock) {
  return rateLimiter({ tokens: 1, intervalMs: 60_000, keyed: true, clock });
}

describe('express protect(): rate limiting', () => {
  it('answers 429 with Retry-After, limiting each client address on its own', async () => {
    const app = express();
    app.use(protect({ policy: perClient(new FakeClock()) }));
    app.get('/', (_req, res) => void res.send('ok'));
    const url = await listen(app);
    expect((await getFrom('127.0.0.2', url)).status).toBe(200);
    const limited = await getFrom('127.0.0.2', url);
    expect(limited.status).toBe(429);
    expect(limited.headers['retry-after']).toBe('60');
    expect(JSON.parse(limited.body)).toMatchObject({ error: 'BW_ERR_RATE_LIMITED' });
    // Another client has its own limit.
    expect((await getFrom('127.0.0.3', url)).status).toBe(200);
  });

  it('groups requests by its key function, and leaves them unkeyed when it throws', async () => {
    const clock = new FakeClock();
    const app = express();
    app.get(
      '/by-key',
      protect({ policy: perClient(clock), key: (req) => req.get('x-api-key') }),
      (_req, res) => res.send('ok'),
    );
    const throwing = () => {
      throw new Error('key bug');
    };
    app.get('/broken', protect({ policy: perClient(clock), key: throwing }), (_req, res) => res.send('ok'));
    const url = await listen(app);
    const as = (key: string, path = '/by-key') => getFrom('127.0.0.2', `${url}${path}`, { 'x-api-key': key });
    expect((await as('a')).status).toBe(200);
    expect((await as('a')).status).toBe(429);
    expect((await as('b')).status).toBe(200);
    // Unkeyed: every client shares one limit.
    expect((await getFrom('127.0.0.2', `${url}/broken`)).status).toBe(200);
    expect((await getFrom('127.0.0.3', `${url}/broken`)).status).toBe(429);
    expect(reports.names()).toEqual([
      ['protect.key', 'express'],
      ['protect.key', 'express'],
    ]);
  });
});
