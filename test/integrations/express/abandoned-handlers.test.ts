import express from 'express';
import { describe, expect, it } from 'vitest';
import { bulkhead } from '../../../src/index.js';
import { protect } from '../../../src/integrations/express/index.js';
import { deferred, FakeClock, waitFor } from '../../helpers.js';
import { listen } from './harness.js';

// After a timeout answer the handler may still run. Its slot stays held (counted as abandoned) until
// the handler's promise settles, as Express's router reports it: the limit bounds the handlers that
// really run, not the requests still waiting for an answer.

/** An async handler that ignores its signal until `release`, counting the handlers running at once. */
function stubborn() {
  const release = deferred<void>();
  const count = { started: 0, running: 0, peak: 0 };
  const handler = async (_req: express.Request, res: express.Response) => {
    count.started++;
    count.running++;
    count.peak = Math.max(count.peak, count.running);
    await release.promise;
    count.running--;
    if (!res.headersSent) res.send('late');
  };
  return { handler, count, release: () => release.resolve() };
}

describe('express protect(): handlers that outlive their timeout', () => {
  it('never runs more handlers at once than the bulkhead allows, under a burst', async () => {
    const clock = new FakeClock();
    const b = bulkhead({ limit: 2, queue: 10, clock });
    const work = stubborn();
    const app = express();
    app.use(protect({ bulkhead: b, timeout: 100, clock }));
    app.get('/', work.handler);
    const url = await listen(app);
    let answered = 0;
    const calls = Array.from({ length: 6 }, () =>
      fetch(url).then(async (res) => {
        answered++;
        await res.text();
        return res.status;
      }),
    );
    await waitFor(() => work.count.started === 2 && b.snapshot().queueSize === 4, 'two running, four queued');
    await clock.tick(100);
    await waitFor(() => answered === 2, 'the two timeout answers');
    // Had the answers freed the slots, two more handlers would start: wait until the queue is stable.
    await waitFor(() => work.count.started + b.snapshot().queueSize === 6, 'the queue to settle');
    expect(b.snapshot()).toMatchObject({ inflight: 2, abandoned: 2, queueSize: 4 });
    work.release();
    expect((await Promise.all(calls)).sort()).toEqual([200, 200, 200, 200, 503, 503]);
    expect(work.count.peak).toBe(2);
    await waitFor(() => b.snapshot().inflight === 0, 'every slot freed');
    expect(b.snapshot().abandoned).toBe(0);
  });

  it('holds the slot of an enclosing protection too, until the handler stops', async () => {
    const clock = new FakeClock();
    const shed = bulkhead({ limit: 5, clock });
    const work = stubborn();
    const app = express();
    app.use(protect({ bulkhead: shed }));
    app.get('/', protect({ timeout: 20, clock }), work.handler);
    const url = await listen(app);
    const res = fetch(url);
    await waitFor(() => work.count.started === 1, 'the handler to start');
    await clock.tick(20);
    expect((await res).status).toBe(503);
    await waitFor(() => shed.snapshot().abandoned === 1, 'the app-wide slot counted abandoned');
    expect(shed.snapshot().inflight).toBe(1);
    work.release();
    await waitFor(() => shed.snapshot().inflight === 0, 'the app-wide slot freed once the handler stopped');
    expect(shed.snapshot().abandoned).toBe(0);
  });

  it('frees the slot with the answer when the handler stops on its signal', async () => {
    const clock = new FakeClock();
    const b = bulkhead({ limit: 1, clock });
    const app = express();
    let started = false;
    app.get('/', protect({ bulkhead: b, timeout: 50, clock }), async (req) => {
      started = true;
      const signal = req.signal!;
      await new Promise((resolve) => signal.addEventListener('abort', resolve));
    });
    const url = await listen(app);
    const res = fetch(url);
    await waitFor(() => started, 'the handler to start');
    await clock.tick(50);
    expect((await res).status).toBe(503);
    await waitFor(() => b.snapshot().inflight === 0, 'the slot freed');
    expect(b.snapshot().abandoned).toBe(0);
  });
});
