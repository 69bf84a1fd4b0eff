import express from 'express';
import { describe, expect, it } from 'vitest';
import { bulkhead, circuitBreaker, policyRegistry } from '../../../src/index.js';
import { dashboard, expressDashboard } from '../../../src/integrations/dashboard/index.js';
import { protect } from '../../../src/integrations/express/index.js';
import { deferred, waitFor } from '../../helpers.js';
import { captureReports } from './clients.js';
import { listen } from './harness.js';

const reports = captureReports();

// An app-wide protect() in front of /metrics and the dashboard used to cover them too: under overload
// the endpoints that show the overload were shed, and every open dashboard page held a slot.
describe('express protect({ skip })', () => {
  it('lets skipped requests through a full bulkhead, holding no slot and judged by nobody', async () => {
    const b = bulkhead({ limit: 1 });
    const breaker = circuitBreaker({ window: { kind: 'count', size: 10 }, minimumCalls: 10 });
    const board = dashboard(policyRegistry().add(b));
    const release = deferred<void>();
    let started = 0;
    const app = express();
    app.use(
      protect({
        bulkhead: b,
        circuitBreaker: breaker,
        skip: (req) => req.path === '/metrics' || req.path.startsWith('/ops/'),
      }),
    );
    app.get('/metrics', (_req, res) => void res.status(500).send('metrics'));
    app.use('/ops/dashboard', expressDashboard(board));
    app.get('/work', async (_req, res) => {
      started++;
      await release.promise;
      res.send('done');
    });
    try {
      const url = await listen(app);
      const work = fetch(`${url}/work`);
      await waitFor(() => started === 1, 'the work request to hold the only slot');
      expect((await fetch(`${url}/work`)).status).toBe(503);
      const metrics = await fetch(`${url}/metrics`);
      expect([metrics.status, await metrics.text()]).toEqual([500, 'metrics']);
      const page = await fetch(`${url}/ops/dashboard`);
      expect(page.status).toBe(200);
      expect(await page.text()).toContain('<html');
      expect(b.snapshot().inflight).toBe(1);
      release.resolve();
      expect(await (await work).text()).toBe('done');
      await waitFor(() => breaker.snapshot().calls === 1, 'the breaker to judge the work request');
      // The 500 of /metrics was not judged: only /work was a call.
      expect(breaker.snapshot()).toMatchObject({ calls: 1, failures: 0 });
      expect(reports.names()).toEqual([]);
    } finally {
      board.close();
    }
  });

  it('protects the request when skip throws or returns a non-boolean, and reports it', async () => {
    const b = bulkhead({ limit: 1 });
    let calls = 0;
    const app = express();
    app.use(
      protect({
        bulkhead: b,
        skip: () => {
          calls++;
          if (calls === 1) throw new Error('skip bug');
          return 'yes' as unknown as boolean;
        },
      }),
    );
    app.get('/', (_req, res) => void res.send(String(b.snapshot().inflight)));
    const url = await listen(app);
    expect(await (await fetch(url)).text()).toBe('1');
    expect(await (await fetch(url)).text()).toBe('1');
    expect(reports.names()).toEqual([
      ['protect.skip', 'express'],
      ['protect.skip', 'express'],
    ]);
  });

  it('rejects a skip that is not a function at construction', () => {
    expect(() => protect({ skip: true as never })).toThrow(
      expect.objectContaining({
        name: 'TypeError',
        code: 'BW_ERR_INVALID_OPTION',
        message: expect.stringContaining('protect.skip'),
      }),
    );
  });
});
