import type { FastifyReply } from 'fastify';
import { describe, expect, it } from 'vitest';
import { bulkhead } from '../../../src/index.js';
import { fastifyBreakwater } from '../../../src/integrations/fastify/index.js';
import { deferred, FakeClock, waitFor } from '../../helpers.js';
import { app, listen } from './harness.js';

// After a timeout answer the handler may still run. Its slot stays held (counted as abandoned) until
// the promise the handler returned settles: the limit bounds the handlers that really run.

/** An async handler that ignores its signal until `release`, counting the handlers running at once. */
function stubborn() {
  const release = deferred<void>();
  const count = { started: 0, running: 0, peak: 0 };
  const handler = async (_request: unknown, reply: FastifyReply) => {
    count.started++;
    count.running++;
    count.peak = Math.max(count.peak, count.running);
    await release.promise;
    count.running--;
    return reply.sent ? reply : 'late';
  };
  return { handler, count, release: () => release.resolve() };
}

describe('fastify plugin: handlers that outlive their timeout', () => {
  it('never runs more handlers at once than the bulkhead allows, under a burst', async () => {
    const clock = new FakeClock();
    const shared = bulkhead({ limit: 2, queue: 10, clock });
    const work = stubborn();
    const fastify = app();
    await fastify.register(fastifyBreakwater, { bulkhead: shared, timeout: 100, clock });
    fastify.get('/', work.handler);
    const url = await listen(fastify);
    let answered = 0;
    const calls = Array.from({ length: 6 }, () =>
      fetch(url).then(async (res) => {
        answered++;
        await res.text();
        return res.status;
      }),
    );
    await waitFor(
      () => work.count.started === 2 && shared.snapshot().queueSize === 4,
      'two running, four queued',
    );
    await clock.tick(100);
    await waitFor(() => answered === 2, 'the two timeout answers');
    // Had the answers freed the slots, two more handlers would start: wait until the queue is stable.
    await waitFor(() => work.count.started + shared.snapshot().queueSize === 6, 'the queue to settle');
    expect(shared.snapshot()).toMatchObject({ inflight: 2, abandoned: 2, queueSize: 4 });
    work.release();
    expect((await Promise.all(calls)).sort()).toEqual([200, 200, 200, 200, 503, 503]);
    expect(work.count.peak).toBe(2);
    await waitFor(() => shared.snapshot().inflight === 0, 'every slot freed');
    expect(shared.snapshot().abandoned).toBe(0);
  });

  it('holds the slot of an enclosing registration too, until the handler stops', async () => {
    const clock = new FakeClock();
    const shared = bulkhead({ limit: 5, clock });
    const work = stubborn();
    const fastify = app();
    await fastify.register(fastifyBreakwater, { bulkhead: shared, clock });
    await fastify.register(async (child) => {
      await child.register(fastifyBreakwater, { timeout: 20, clock, name: 'inner' });
      child.get('/', work.handler);
    });
    const url = await listen(fastify);
    const res = fetch(url);
    await waitFor(() => work.count.started === 1, 'the handler to start');
    await clock.tick(20);
    expect((await res).status).toBe(503);
    await waitFor(() => shared.snapshot().abandoned === 1, 'the outer slot counted abandoned');
    expect(shared.snapshot().inflight).toBe(1);
    work.release();
    await waitFor(() => shared.snapshot().inflight === 0, 'the outer slot freed once the handler stopped');
    expect(shared.snapshot().abandoned).toBe(0);
  });

  it('frees the slot of a request answered before its handler started', async () => {
    const clock = new FakeClock();
    const shared = bulkhead({ limit: 1, clock });
    const hold = deferred<void>();
    let handled = 0;
    const fastify = app();
    await fastify.register(fastifyBreakwater, { bulkhead: shared, timeout: 50, clock });
    fastify.get('/', { preHandler: async () => hold.promise }, async () => {
      handled++;
      return 'never';
    });
    const url = await listen(fastify);
    const res = fetch(url);
    await waitFor(() => shared.snapshot().inflight === 1, 'the request admitted');
    await clock.tick(50);
    expect((await res).status).toBe(503);
    await waitFor(() => shared.snapshot().inflight === 0, 'the slot freed');
    hold.resolve();
    expect(handled).toBe(0);
  });
});
