import { Readable } from 'node:stream';
import { Agent, fetch as undiciFetch } from 'undici';
import { afterEach, describe, expect, it } from 'vitest';
import {
  BrokenCircuitError,
  BW_ERR_INVALID_OPTION,
  policyRegistry,
  type RetryPolicy,
  retry,
  TimeoutError,
  timeout,
} from '../../../src/index.js';
import { HttpStatusError, isNetworkError, resilientFetch } from '../../../src/integrations/fetch/index.js';
import { abortListeners, FakeClock, flush } from '../../helpers.js';
import { type Downstream, downstream, hang, ok, openBody, reset, status } from './downstream.js';

const servers: Downstream[] = [];
async function serve(...steps: Parameters<typeof downstream>): Promise<Downstream> {
  const server = await downstream(...steps);
  servers.push(server);
  return server;
}
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

function retryOf(rf: { policy: { policies: readonly unknown[] } }): RetryPolicy {
  return rf.policy.policies.find((p) => (p as { kind?: string }).kind === 'retry') as RetryPolicy;
}

/** Resolves with the next retry event's delay (the retry is then sleeping on the fake clock). */
function nextRetry(rf: { policy: { policies: readonly unknown[] } }): Promise<number> {
  const retry = retryOf(rf);
  return new Promise((resolve) => {
    const stop = retry.onRetry((e) => {
      stop();
      resolve(e.delayMs);
    });
  });
}

describe('resilientFetch: failures and retries', () => {
  it('retries a GET answered 503 and resolves with the response that succeeded', async () => {
    const server = await serve(status(503), status(502), ok('third time'));
    const rf = resilientFetch({ retry: { backoff: 0 } });
    const res = await rf(`${server.url}/items`);
    expect(res.status).toBe(200);
    expect(await res.text()).toBe('third time');
    expect(server.seen.map((s) => s.url)).toEqual(['/items', '/items', '/items']);
  });

  it('resolves like fetch with the last failed response, body intact, once retries are exhausted', async () => {
    const server = await serve(status(500, {}, 'still broken'));
    const rf = resilientFetch({ retry: { backoff: 0, maxRetries: 2 } });
    const res = await rf(server.url);
    expect(res.status).toBe(500);
    expect(await res.text()).toBe('still broken');
    expect(server.seen).toHaveLength(3);
  });

  it('rejects with HttpStatusError carrying status and retryAfterMs when throwHttpErrors is set', async () => {
    const server = await serve(status(429, { 'retry-after': '7' }));
    const rf = resilientFetch({ retry: false, throwHttpErrors: true });
    const error = (await rf(server.url).catch((e: unknown) => e)) as HttpStatusError;
    expect(error).toBeInstanceOf(HttpStatusError);
    expect(error.status).toBe(429);
    expect(error.retryAfterMs).toBe(7_000);
    expect(error.code).toBe('BW_ERR_HTTP_STATUS');
    expect(await error.response?.text()).toBe('status 429');
  });

  it('does not treat 4xx other than 429 as failures: no retry, the breaker records successes', async () => {
    const server = await serve(status(404));
    const rf = resilientFetch({ retry: { backoff: 0 } });
    const res = await rf(server.url);
    expect(res.status).toBe(404);
    await res.arrayBuffer();
    expect(server.seen).toHaveLength(1);
    expect(rf.breakers?.get(server.url).snapshot()).toMatchObject({ calls: 1, failures: 0 });
  });

  it('does not retry 501 Not Implemented', async () => {
    const server = await serve(status(501));
    const rf = resilientFetch({ retry: { backoff: 0 } });
    expect((await rf(server.url)).status).toBe(501);
    expect(server.seen).toHaveLength(1);
  });

  it('retries a connection the server drops without answering', async () => {
    const server = await serve(reset(), ok('after reset'));
    const rf = resilientFetch({ retry: { backoff: 0 } });
    const res = await rf(server.url);
    expect(await res.text()).toBe('after reset');
    expect(server.seen).toHaveLength(2);
  });

  it('classifies a refused connection as a network error and retries it', async () => {
    const server = await serve(ok());
    const url = server.url;
    await server.close();
    servers.splice(servers.indexOf(server), 1);
    const rf = resilientFetch({ retry: { backoff: 0, maxRetries: 1 } });
    const error = await rf(url).catch((e: unknown) => e);
    expect(isNetworkError(error)).toBe(true);
    // Each attempt is a call of the host's breaker.
    expect(rf.breakers?.get(url).snapshot()).toMatchObject({ calls: 2, failures: 2 });
    expect(retryOf(rf).snapshot().retries).toBe(1);
  });
});

describe('resilientFetch: which requests are retried', () => {
  it('does not retry a POST', async () => {
    const server = await serve(status(503), ok());
    const rf = resilientFetch({ retry: { backoff: 0 } });
    const res = await rf(server.url, { method: 'POST', body: 'order' });
    expect(res.status).toBe(503);
    await res.text();
    expect(server.seen).toHaveLength(1);
  });

  it('retries a POST that carries an Idempotency-Key, sending the same body again', async () => {
    const server = await serve(status(503), ok('created'));
    const rf = resilientFetch({ retry: { backoff: 0 } });
    const res = await rf(server.url, {
      method: 'POST',
      body: JSON.stringify({ sku: 42 }),
      headers: { 'Idempotency-Key': 'k-1', 'content-type': 'application/json' },
    });
    expect(await res.text()).toBe('created');
    expect(server.seen.map((s) => [s.method, s.body, s.headers['idempotency-key']])).toEqual([
      ['POST', '{"sku":42}', 'k-1'],
      ['POST', '{"sku":42}', 'k-1'],
    ]);
  });

  it('retries a Request object with a body by cloning it for each attempt', async () => {
    const server = await serve(status(503), ok());
    const rf = resilientFetch({ retry: { backoff: 0 } });
    const request = new Request(server.url, { method: 'PUT', body: 'replace me' });
    expect((await rf(request)).status).toBe(200);
    expect(server.seen.map((s) => s.body)).toEqual(['replace me', 'replace me']);
  });

  it('does not retry a request whose body is a stream (it can be sent once)', async () => {
    const server = await serve(status(503), ok());
    const rf = resilientFetch({ retry: { backoff: 0 } });
    const body = Readable.toWeb(Readable.from(['streamed'])) as ReadableStream;
    const res = await rf(server.url, { method: 'PUT', body, duplex: 'half' } as RequestInit);
    expect(res.status).toBe(503);
    await res.text();
    expect(server.seen.map((s) => s.body)).toEqual(['streamed']);
  });

  it('retries methods listed in retryMethods only', async () => {
    const server = await serve(status(503), ok());
    const rf = resilientFetch({ retry: { backoff: 0 }, retryMethods: ['POST'] });
    expect((await rf(server.url, { method: 'post', body: 'x' })).status).toBe(200);
    const again = await serve(status(503), ok());
    const res = await rf(again.url, { method: 'DELETE' });
    expect(res.status).toBe(503);
    await res.text();
  });
});

describe('resilientFetch: Retry-After', () => {
  it('waits at least the seconds a 503 asks for before retrying', async () => {
    const clock = new FakeClock();
    const server = await serve(status(503, { 'retry-after': '3' }), ok('later'));
    const rf = resilientFetch({ clock, retry: { backoff: 10 } });
    const retried = nextRetry(rf);
    const call = rf(server.url);
    expect(await retried).toBe(3_000);
    await clock.tick(2_999);
    expect(server.seen).toHaveLength(1);
    await clock.tick(1);
    expect(await (await call).text()).toBe('later');
    expect(server.seen).toHaveLength(2);
  });

  it('understands the HTTP-date form, relative to the wall clock', async () => {
    const clock = new FakeClock();
    const now = Date.UTC(2030, 0, 1, 12, 0, 0);
    const at = new Date(now + 5_000).toUTCString();
    const server = await serve(status(429, { 'retry-after': at }), ok());
    const rf = resilientFetch({ clock, now: () => now, retry: { backoff: 0 } });
    const retried = nextRetry(rf);
    const call = rf(server.url);
    expect(await retried).toBe(5_000);
    await clock.tick(5_000);
    expect((await call).status).toBe(200);
  });

  it('gives up at once, returning the response, when Retry-After exceeds maxDelayMs', async () => {
    const server = await serve(status(503, { 'retry-after': '3600' }, 'come back in an hour'), ok());
    const rf = resilientFetch({ retry: { backoff: 0, maxDelayMs: 30_000 } });
    const res = await rf(server.url);
    expect(res.status).toBe(503);
    expect(await res.text()).toBe('come back in an hour');
    expect(server.seen).toHaveLength(1);
  });
});

describe('resilientFetch: bodies, signals and timeouts', () => {
  it('releases the body of a failed attempt before the retry is sent', async () => {
    const clock = new FakeClock();
    // The first answer's body never ends: only the client cancelling it frees the server's response.
    const server = await serve(openBody(503), ok('fresh'));
    const rf = resilientFetch({ clock, retry: { backoff: 1_000 } });
    const retried = nextRetry(rf);
    const call = rf(server.url);
    await retried;
    await server.abandoned(1);
    expect(server.seen).toHaveLength(1);
    await clock.tick(1_000);
    expect(await (await call).text()).toBe('fresh');
    expect(server.log).toEqual(['request 1', 'abandoned 1', 'request 2']);
  });

  it('releases a failed body that nobody will read when the caller aborts during the backoff', async () => {
    // A fetch whose bodies ignore the signal: only breakwater can release them.
    const cancelled: number[] = [];
    let n = 0;
    const fakeFetch = async (_input: string, _init?: RequestInit) => {
      const id = ++n;
      const body = new ReadableStream({ cancel: () => void cancelled.push(id) });
      return new Response(body, { status: 503 });
    };
    const clock = new FakeClock();
    const mine = retry({ backoff: 5_000, clock, handle: (e) => e instanceof HttpStatusError });
    const sleeping = new Promise<void>((resolve) => mine.onRetry(() => resolve()));
    const rf = resilientFetch({ clock, retry: mine, fetch: fakeFetch });
    const caller = new AbortController();
    const call = rf('http://127.0.0.1:1/', { signal: caller.signal }).catch((e: unknown) => e);
    await sleeping;
    expect(cancelled).toEqual([]);
    caller.abort(new Error('changed my mind'));
    expect(await call).toMatchObject({ message: 'changed my mind' });
    expect(cancelled).toEqual([1]);
  });

  it('aborts an attempt at its timeout and retries; the server sees the first request dropped', async () => {
    const clock = new FakeClock();
    const server = await serve(hang(), ok('second'));
    const rf = resilientFetch({ clock, timeout: 1_000, retry: { backoff: 0 } });
    const call = rf(server.url);
    await server.received(1);
    await clock.tick(1_000);
    expect(await (await call).text()).toBe('second');
    await server.abandoned(1);
    expect(retryOf(rf).snapshot().retries).toBe(1);
  });

  it('rejects with TimeoutError when every attempt times out', async () => {
    const clock = new FakeClock();
    const server = await serve(hang());
    const rf = resilientFetch({ clock, timeout: 500, retry: false });
    const call = rf(server.url).catch((e: unknown) => e);
    await server.received(1);
    await clock.tick(500);
    expect(await call).toBeInstanceOf(TimeoutError);
  });

  it("rejects with the caller's abort reason, records nothing in the breaker and leaves no listener", async () => {
    const server = await serve(hang());
    const rf = resilientFetch();
    const caller = new AbortController();
    const call = rf(server.url, { signal: caller.signal }).catch((e: unknown) => e);
    await server.received(1);
    caller.abort(new Error('user left'));
    expect(await call).toMatchObject({ message: 'user left' });
    await server.abandoned(1);
    expect(rf.breakers?.get(server.url).snapshot()).toMatchObject({ calls: 0, failures: 0 });
    expect(abortListeners(caller.signal)).toBe(0);
  });

  it('adds one listener to a long-lived caller signal, however many calls it covers', async () => {
    const server = await serve(status(503), ok());
    const rf = resilientFetch({ retry: { backoff: 0 } });
    const shutdown = new AbortController();
    const responses: Response[] = [];
    for (let i = 0; i < 50; i++) responses.push(await rf(server.url, { signal: shutdown.signal }));
    expect(abortListeners(shutdown.signal)).toBe(1);
    // It still reaches every live response: aborting cancels the bodies not read yet.
    shutdown.abort(new Error('shutting down'));
    await expect(responses[49]!.text()).rejects.toMatchObject({ name: 'AbortError' });
  });

  it("lets the caller's signal abort the body after the response resolved, as plain fetch does", async () => {
    const server = await serve(openBody(200));
    const rf = resilientFetch({ timeout: 60_000 });
    const caller = new AbortController();
    const res = await rf(server.url, { signal: caller.signal });
    const reading = res.text().catch((e: unknown) => e);
    caller.abort(new Error('stop streaming'));
    expect(await reading).toMatchObject({ message: 'stop streaming' });
    await server.abandoned(1);
  });

  it('passes the attempt signal to fetch even without a caller signal, so the timeout can abort it', async () => {
    const clock = new FakeClock();
    let seen: AbortSignal | undefined;
    const rf = resilientFetch({
      clock,
      timeout: 100,
      retry: false,
      fetch: (_input: string, init?: RequestInit) => {
        seen = init?.signal ?? undefined;
        return new Promise<Response>((_resolve, reject) =>
          seen?.addEventListener('abort', () => reject(seen?.reason)),
        );
      },
    });
    const call = rf('http://127.0.0.1:1/').catch((e: unknown) => e);
    await flush();
    expect(seen?.aborted).toBe(false);
    await clock.tick(100);
    expect(await call).toBeInstanceOf(TimeoutError);
  });
});

describe('resilientFetch: per-host circuit breakers', () => {
  it('opens the breaker of a failing host only; other hosts keep working', async () => {
    const bad = await serve(status(500));
    const good = await serve(ok('fine'));
    const rf = resilientFetch({
      retry: false,
      circuitBreaker: { window: { kind: 'consecutive', failures: 2 } },
    });
    for (let i = 0; i < 2; i++) await (await rf(`${bad.url}/x`)).text();
    const rejected = await rf(`${bad.url}/x`).catch((e: unknown) => e);
    expect(rejected).toBeInstanceOf(BrokenCircuitError);
    expect((rejected as BrokenCircuitError).retryAfterMs).toBeGreaterThan(0);
    expect(bad.seen).toHaveLength(2);
    expect(await (await rf(good.url)).text()).toBe('fine');
    expect(rf.breakers?.get(bad.url).state).toBe('open');
    expect(rf.breakers?.get(good.url).state).toBe('closed');
    expect(rf.breakers?.get(bad.url).name).toBe(`fetch:${bad.url}`);
  });

  it('does not retry into an open circuit', async () => {
    const bad = await serve(status(503));
    const rf = resilientFetch({
      retry: { backoff: 0, maxRetries: 5 },
      circuitBreaker: { window: { kind: 'consecutive', failures: 2 } },
    });
    const error = await rf(bad.url).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BrokenCircuitError);
    expect(bad.seen).toHaveLength(2);
  });

  it('keeps at most maxBreakers breakers, evicting the least recently used', async () => {
    const server = await serve(ok());
    const rf = resilientFetch({ retry: false, maxBreakers: 3, breakerKey: (url) => url.pathname });
    for (const path of ['/a', '/b', '/c', '/a', '/d', '/e']) await (await rf(server.url + path)).text();
    expect(rf.breakers?.size).toBe(3);
    expect(rf.breakers?.keys()).toEqual(['/a', '/d', '/e']);
  });

  it('stays bounded over many distinct hosts and reports creations and evictions', async () => {
    const clock = new FakeClock();
    const rf = resilientFetch({
      clock,
      retry: false,
      timeout: false,
      maxBreakers: 16,
      fetch: async (_input: string) => new Response('ok'),
    });
    let created = 0;
    let evicted = 0;
    rf.breakers?.onCreate(() => created++);
    rf.breakers?.onEvict(() => evicted++);
    for (let i = 0; i < 1_000; i++) await rf(`http://host-${i}.test/`);
    expect(rf.breakers?.size).toBe(16);
    expect(created).toBe(1_000);
    expect(evicted).toBe(984);
  });

  it('keeps a registry fed by onCreate and onEvict to the live breakers, as docs/fetch.md shows', async () => {
    const rf = resilientFetch({
      retry: false,
      timeout: false,
      maxBreakers: 2,
      breakerKey: (url) => url.pathname,
      fetch: async (_input: string) => new Response('ok'),
    });
    const registry = policyRegistry();
    const payloads: Array<[string, string, string]> = [];
    rf.breakers?.onCreate(({ key, breaker }) => {
      payloads.push(['create', key, breaker.name]);
      registry.add(breaker);
    });
    rf.breakers?.onEvict(({ key, breaker }) => {
      payloads.push(['evict', key, breaker.name]);
      registry.remove(breaker);
    });
    // '/a' comes back after its eviction: a new breaker under the same name.
    for (const path of ['/a', '/b', '/c', '/a']) await rf(`http://api.test${path}`);
    expect(payloads).toEqual([
      ['create', '/a', 'fetch:/a'],
      ['create', '/b', 'fetch:/b'],
      ['evict', '/a', 'fetch:/a'],
      ['create', '/c', 'fetch:/c'],
      ['evict', '/b', 'fetch:/b'],
      ['create', '/a', 'fetch:/a'],
    ]);
    expect(registry.policies.map((p) => p.name)).toEqual(['fetch:/c', 'fetch:/a']);
    expect(registry.get('fetch:/a')).toBe(rf.breakers?.peek('/a'));
  });

  it('drops breakers left idle for breakerIdleMs', async () => {
    const clock = new FakeClock();
    const rf = resilientFetch({
      clock,
      retry: false,
      timeout: false,
      breakerIdleMs: 60_000,
      fetch: async (_input: string) => new Response('ok'),
    });
    await rf('http://a.test/');
    await rf('http://b.test/');
    await clock.tick(40_000);
    await rf('http://b.test/');
    await clock.tick(30_000);
    await rf('http://c.test/');
    expect(rf.breakers?.keys()).toEqual(['http://b.test', 'http://c.test']);
    await clock.tick(70_000);
    await rf('http://c.test/');
    expect(rf.breakers?.keys()).toEqual(['http://c.test']);
  });
});

describe('resilientFetch: composition and options', () => {
  it('works with undici fetch and its own dispatcher', async () => {
    const server = await serve(status(503), ok('via undici'));
    const dispatcher = new Agent({ keepAliveTimeout: 10 });
    try {
      const rf = resilientFetch({ fetch: undiciFetch, retry: { backoff: 0 } });
      const res = await rf(server.url, { dispatcher });
      expect(await res.text()).toBe('via undici');
    } finally {
      await dispatcher.close();
    }
  });

  it('accepts policies of your own', async () => {
    const server = await serve(hang());
    const clock = new FakeClock();
    const overall = timeout({ durationMs: 50, clock, name: 'overall' });
    const rf = resilientFetch({ clock, policy: overall, retry: false, timeout: false });
    const call = rf(server.url).catch((e: unknown) => e);
    await server.received(1);
    await clock.tick(50);
    expect(await call).toMatchObject({ name: 'TimeoutError', policy: 'overall' });
  });

  it('rejects unknown options and bad values with BW_ERR_INVALID_OPTION', () => {
    expect(() => resilientFetch({ retires: 3 } as never)).toThrow(
      expect.objectContaining({ code: BW_ERR_INVALID_OPTION, option: 'resilientFetch.retires' }),
    );
    expect(() => resilientFetch({ maxBreakers: 0 })).toThrow(RangeError);
    expect(() => resilientFetch({ circuitBreaker: 'yes' as never })).toThrow(TypeError);
  });

  it('passes a URL that cannot be parsed to fetch, which rejects in its own way', async () => {
    const rf = resilientFetch();
    await expect(rf('not a url')).rejects.toThrow(TypeError);
  });
});
