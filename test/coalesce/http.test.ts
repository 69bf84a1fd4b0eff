import { once } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { coalesce } from '../../src/coalesce/index.js';
import { deferred } from '../helpers.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function listen(handler: http.RequestListener): Promise<{ server: http.Server; url: string }> {
  const server = http.createServer(handler);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  cleanups.push(async () => {
    server.closeAllConnections();
    server.close();
    await once(server, 'close');
  });
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

/** GETs a URL and resolves to its body; the signal aborts the request. */
function getText(url: string, options: { signal?: AbortSignal; agent?: http.Agent } = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = http.get(url, options, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        body += chunk;
      });
      res.on('end', () =>
        res.statusCode === 200 ? resolve(body) : reject(new Error(`${res.statusCode} ${body}`)),
      );
      res.on('error', reject);
    });
    req.on('error', reject);
  });
}

/** A front service that answers /<key> by calling the downstream through `coalesce`. */
async function frontService(downstream: string, onArrival: (key: string) => void, onLeave = () => {}) {
  const policy = coalesce({ key: (ctx) => ctx.key });
  const front = await listen((req, res) => {
    const key = req.url!.slice(1);
    // The inbound request's own cancellation: a client that goes away leaves the shared call.
    const caller = new AbortController();
    res.on('close', () => {
      if (res.writableFinished) return;
      caller.abort(new Error('client went away'));
      onLeave();
    });
    policy
      .execute(({ signal }) => getText(`${downstream}/${key}`, { signal }), { key, signal: caller.signal })
      .then(
        (body) => res.end(body),
        (error: Error) => {
          if (!res.destroyed) res.writeHead(502).end(error.message);
        },
      );
    onArrival(key);
  });
  return { policy, url: front.url };
}

describe('coalesce over real HTTP (127.0.0.1)', () => {
  it('1,000 concurrent requests for 10 hot keys reach the downstream as 10 requests', async () => {
    const seen = new Map<string, number>();
    const release = deferred<void>();
    const downstream = await listen((req, res) => {
      const key = req.url!.slice(1);
      seen.set(key, (seen.get(key) ?? 0) + 1);
      // Held until every client request has reached the front service, so all of them overlap.
      release.promise.then(() => res.end(`value of ${key}`));
    });
    let arrived = 0;
    const front = await frontService(downstream.url, () => {
      if (++arrived === 1_000) release.resolve();
    });
    const agent = new http.Agent({ keepAlive: false, maxSockets: Number.POSITIVE_INFINITY });
    cleanups.push(() => agent.destroy());

    const keys = Array.from({ length: 1_000 }, (_, i) => `hot${i % 10}`);
    const bodies = await Promise.all(keys.map((key) => getText(`${front.url}/${key}`, { agent })));

    expect(bodies).toEqual(keys.map((key) => `value of ${key}`));
    expect([...seen.values()].reduce((a, b) => a + b, 0)).toBe(10);
    expect([...seen.entries()].sort()).toEqual(Array.from({ length: 10 }, (_, i) => [`hot${i}`, 1]));
    expect(front.policy.snapshot()).toMatchObject({
      misses: 10,
      joins: 990,
      inflightKeys: 0,
      calls: 10,
    });
  });

  it('the downstream request is cancelled only when every client waiting for it has gone', async () => {
    const downstreamArrived = deferred<void>();
    const downstreamGone = deferred<void>();
    let downstreamRequests = 0;
    const downstream = await listen((req) => {
      downstreamRequests++;
      downstreamArrived.resolve();
      // Never answers; reports when the front service aborts the request.
      req.socket.on('close', () => downstreamGone.resolve());
    });
    const allArrived = deferred<void>();
    const twoLeft = deferred<void>();
    let arrived = 0;
    let left = 0;
    const front = await frontService(
      downstream.url,
      () => {
        if (++arrived === 3) allArrived.resolve();
      },
      () => {
        if (++left === 2) twoLeft.resolve();
      },
    );
    const clients = [0, 1, 2].map(() => {
      const req = http.get(`${front.url}/slow`);
      req.on('error', () => {});
      return req;
    });
    await Promise.all([allArrived.promise, downstreamArrived.promise]);
    expect(downstreamRequests).toBe(1);
    clients[0]!.destroy();
    clients[1]!.destroy();
    // Two clients left: the shared request must still be running for the third.
    await twoLeft.promise;
    expect(front.policy.snapshot()).toMatchObject({ inflightKeys: 1, abandoned: 0 });
    clients[2]!.destroy();
    await downstreamGone.promise;
    expect(front.policy.snapshot()).toMatchObject({ inflightKeys: 0, abandoned: 1 });
  });
});
