import express from 'express';
import { describe, expect, it } from 'vitest';
import { bulkhead, circuitBreaker } from '../../../src/index.js';
import { protect } from '../../../src/integrations/express/index.js';
import { deferred, FakeClock, waitFor } from '../../helpers.js';
import { captureReports } from './clients.js';
import { listen } from './harness.js';

// Every user callback of protect() runs where a throw would take the server down (a response's close
// listener, an abort listener, a promise reaction): each is reported and replaced by its default.

const reports = captureReports();
const bug = (what: string) => () => {
  throw new Error(`${what} bug`);
};

describe('express protect(): user callbacks are guarded', () => {
  it('judges statuses by the default 5xx rule when isFailure throws, and keeps serving', async () => {
    const breaker = circuitBreaker({ window: { kind: 'count', size: 10 }, minimumCalls: 10 });
    const app = express();
    app.get(
      '/:status',
      protect({ circuitBreaker: breaker, isFailure: bug('isFailure') }),
      (req, res) => void res.status(Number(req.params.status)).send('answer'),
    );
    const url = await listen(app);
    expect((await fetch(`${url}/500`)).status).toBe(500);
    expect((await fetch(`${url}/404`)).status).toBe(404);
    await waitFor(() => breaker.snapshot().calls === 2, 'the breaker to record both requests');
    expect(breaker.snapshot()).toMatchObject({ calls: 2, failures: 1 });
    expect(reports.names()).toEqual([
      ['protect.isFailure', 'express'],
      ['protect.isFailure', 'express'],
    ]);
  });

  it('sends the built-in answer when respond throws on a rejection', async () => {
    const b = bulkhead({ limit: 1 });
    const release = deferred<void>();
    let started = 0;
    const app = express();
    app.use(
      protect({
        bulkhead: b,
        respond: (_answer, _req, res) => {
          res.status(299).set('x-half', 'written');
          throw new Error('respond bug');
        },
      }),
    );
    app.get('/', async (_req, res) => {
      started++;
      await release.promise;
      res.send('done');
    });
    const url = await listen(app);
    const first = fetch(url);
    await waitFor(() => started === 1, 'the first handler to start');
    const shed = await fetch(url);
    expect(shed.status).toBe(503);
    expect(shed.headers.get('retry-after')).toBe('1');
    expect(await shed.json()).toMatchObject({ error: 'BW_ERR_BULKHEAD_REJECTED' });
    release.resolve();
    expect(await (await first).text()).toBe('done');
    await waitFor(() => b.snapshot().inflight === 0, 'the slot freed');
    expect(reports.names()).toEqual([['protect.respond', 'express']]);
  });

  it('sends the built-in answer when respond throws or rejects at the deadline, and frees the slot', async () => {
    const clock = new FakeClock();
    const b = bulkhead({ limit: 2, clock });
    const app = express();
    const guard = (respond: () => unknown) => protect({ bulkhead: b, timeout: 50, clock, respond });
    const stop = async (req: express.Request) => {
      const signal = req.signal!;
      await new Promise((resolve) => signal.addEventListener('abort', resolve));
    };
    app.get('/throws', guard(bug('respond')), stop);
    app.get(
      '/rejects',
      guard(async () => Promise.reject(new Error('async respond bug'))),
      stop,
    );
    const url = await listen(app);
    const calls = [fetch(`${url}/throws`), fetch(`${url}/rejects`)];
    await waitFor(() => b.snapshot().inflight === 2, 'both requests admitted');
    await clock.tick(50);
    for (const res of await Promise.all(calls)) {
      expect(res.status).toBe(503);
      expect(await res.json()).toMatchObject({ error: 'BW_ERR_TIMEOUT' });
    }
    await waitFor(() => b.snapshot().inflight === 0, 'both slots freed');
    expect(reports.names()).toEqual([
      ['protect.respond', 'express'],
      ['protect.respond', 'express'],
    ]);
  });
});
