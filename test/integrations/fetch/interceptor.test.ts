import { Agent, interceptors, request, fetch as undiciFetch } from 'undici';
import { afterEach, describe, expect, it } from 'vitest';
import { BrokenCircuitError } from '../../../src/index.js';
import { circuitBreakerInterceptor, HttpStatusError } from '../../../src/integrations/fetch/index.js';
import { type Downstream, downstream, hang, ok, reset, status } from './downstream.js';

const closers: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  await Promise.all(closers.splice(0).map((close) => close()));
});
async function serve(...steps: Parameters<typeof downstream>): Promise<Downstream> {
  const server = await downstream(...steps);
  closers.push(() => server.close());
  return server;
}
function agent(...list: Parameters<Agent['compose']>) {
  const base = new Agent({ keepAliveTimeout: 10 });
  closers.push(() => base.close());
  return base.compose(...list);
}

describe('circuitBreakerInterceptor (undici Dispatcher.compose)', () => {
  it('opens an origin after failing statuses and fails its requests without a round trip', async () => {
    const bad = await serve(status(503, { 'retry-after': '4' }));
    const good = await serve(ok('fine'));
    const breakers = circuitBreakerInterceptor({
      circuitBreaker: { window: { kind: 'consecutive', failures: 2 } },
    });
    const dispatcher = agent(breakers);
    for (let i = 0; i < 2; i++) expect((await undiciFetch(bad.url, { dispatcher })).status).toBe(503);
    const error = (await undiciFetch(bad.url, { dispatcher }).catch((e: unknown) => e)) as TypeError;
    expect(error).toBeInstanceOf(TypeError);
    expect(error.cause).toBeInstanceOf(BrokenCircuitError);
    expect(bad.seen).toHaveLength(2);
    const breaker = breakers.breakers.get(bad.url);
    expect(breaker.state).toBe('open');
    expect(await (await undiciFetch(good.url, { dispatcher })).text()).toBe('fine');
    expect(breakers.breakers.get(good.url).state).toBe('closed');
  });

  it('records the failure status with its Retry-After, and network errors, as failures', async () => {
    const bad = await serve(status(429, { 'retry-after': '4' }), reset());
    const breakers = circuitBreakerInterceptor({
      circuitBreaker: { window: { kind: 'consecutive', failures: 5 } },
    });
    const failures: unknown[] = [];
    breakers.breakers.onCreate(({ breaker }) => breaker.onFailure((e) => failures.push(e.failure)));
    const dispatcher = agent(breakers);
    await (await undiciFetch(bad.url, { dispatcher })).text();
    await undiciFetch(bad.url, { dispatcher }).catch(() => undefined);
    expect(failures).toHaveLength(2);
    const first = (failures[0] as { error: HttpStatusError }).error;
    expect(first).toBeInstanceOf(HttpStatusError);
    expect(first.status).toBe(429);
    expect(first.retryAfterMs).toBe(4_000);
  });

  it('records nothing for a request its caller aborted', async () => {
    const slow = await serve(hang());
    const breakers = circuitBreakerInterceptor();
    const dispatcher = agent(breakers);
    const caller = new AbortController();
    const call = undiciFetch(slow.url, { dispatcher, signal: caller.signal }).catch((e: unknown) => e);
    await slow.received(1);
    caller.abort();
    expect(await call).toMatchObject({ name: 'AbortError' });
    expect(breakers.breakers.get(slow.url).snapshot()).toMatchObject({ calls: 0, inflight: 0 });
  });

  it("composes with undici's retry interceptor and works for request() as well", async () => {
    const flaky = await serve(status(503), ok('second try'));
    const breakers = circuitBreakerInterceptor();
    const dispatcher = agent(
      breakers,
      interceptors.retry({ minTimeout: 1, maxRetries: 2, statusCodes: [503] }),
    );
    const res = await request(flaky.url, { dispatcher });
    expect(await res.body.text()).toBe('second try');
    // compose() makes later interceptors outer: every retried attempt passes the breaker.
    expect(breakers.breakers.get(flaky.url).snapshot()).toMatchObject({ calls: 2, failures: 1 });
  });
});
