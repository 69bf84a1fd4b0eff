import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { Agent, fetch as undiciFetch } from 'undici';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  CALLBACK_ERROR_CHANNEL,
  type CallbackErrorEvent,
  resetCallbackWarnings,
} from '../../../src/core/report.js';
import { type CircuitBreakerPolicy, circuitBreaker, type RetryPolicy, retry } from '../../../src/index.js';
import { circuitBreakerInterceptor, resilientFetch } from '../../../src/integrations/fetch/index.js';
import { FakeClock, waitFor } from '../../helpers.js';
import { type Downstream, downstream, ok, status } from './downstream.js';

// Every user callback of the fetch integration: a throw (or a promise where an answer was due) is
// reported on breakwater:callback-error and the call goes on with the callback's documented default.

const closers: Array<() => Promise<unknown>> = [];
let reported: CallbackErrorEvent[] = [];
const onReport = (event: unknown) => reported.push(event as CallbackErrorEvent);
beforeEach(() => {
  reported = [];
  vi.spyOn(process, 'emitWarning').mockImplementation(() => {});
  subscribe(CALLBACK_ERROR_CHANNEL, onReport);
});
afterEach(async () => {
  unsubscribe(CALLBACK_ERROR_CHANNEL, onReport);
  vi.restoreAllMocks();
  resetCallbackWarnings();
  await Promise.all(closers.splice(0).map((close) => close()));
});

async function serve(...steps: Parameters<typeof downstream>): Promise<Downstream> {
  const server = await downstream(...steps);
  closers.push(() => server.close());
  return server;
}

const callbacks = () => reported.map((r) => [r.callback, r.policy]);
const bug = (what: string) => () => {
  throw new Error(`${what} bug`);
};

describe('resilientFetch: user callbacks are guarded', () => {
  it('keys by origin when breakerKey throws or answers no string', async () => {
    const server = await serve(ok());
    const throwing = resilientFetch({ retry: false, breakerKey: bug('key') });
    expect((await throwing(`${server.url}/a`)).status).toBe(200);
    expect(throwing.breakers?.keys()).toEqual([server.url]);
    const asyncKey = resilientFetch({ retry: false, breakerKey: (async () => 'k') as never });
    expect((await asyncKey(`${server.url}/b`)).status).toBe(200);
    expect(asyncKey.breakers?.keys()).toEqual([server.url]);
    expect(callbacks()).toEqual([
      ['resilientFetch.breakerKey', 'fetch'],
      ['resilientFetch.breakerKey', 'fetch'],
    ]);
  });

  it('judges statuses by the default when isFailure throws: the response is not replaced', async () => {
    const server = await serve(status(503), ok('second'));
    const rf = resilientFetch({ name: 'api', retry: { backoff: 0 }, isFailure: bug('isFailure') });
    const res = await rf(server.url);
    expect(await res.text()).toBe('second');
    // 503 failed by the default judgement, so it was retried; 200 passed.
    expect(server.seen).toHaveLength(2);
    expect(callbacks()).toEqual([
      ['resilientFetch.isFailure', 'api'],
      ['resilientFetch.isFailure', 'api'],
    ]);
  });

  it('uses Date.now when now throws', async () => {
    const clock = new FakeClock();
    const server = await serve(status(503, { 'retry-after': '3' }), ok());
    const rf = resilientFetch({ clock, retry: { backoff: 0 }, now: bug('now') });
    const delays: number[] = [];
    (rf.policy.policies.find((p) => (p as { kind?: string }).kind === 'retry') as RetryPolicy).onRetry((e) =>
      delays.push(e.delayMs),
    );
    const call = rf(server.url);
    await waitFor(() => delays.length === 1, 'the retry to be scheduled', { withinMs: 5_000 });
    expect(delays).toEqual([3_000]);
    await clock.tick(3_000);
    expect((await call).status).toBe(200);
    expect(callbacks()).toEqual([['resilientFetch.now', 'fetch']]);
  });

  it('sends the request unguarded when the breaker factory throws, and asks it again next time', async () => {
    const server = await serve(ok());
    let calls = 0;
    const rf = resilientFetch({
      retry: false,
      circuitBreaker: () => {
        calls++;
        throw new Error('factory bug');
      },
    });
    expect((await rf(server.url)).status).toBe(200);
    expect((await rf(server.url)).status).toBe(200);
    expect(calls).toBe(2);
    expect(rf.breakers?.size).toBe(0);
    expect(callbacks()).toEqual([
      ['resilientFetch.circuitBreaker', 'fetch'],
      ['resilientFetch.circuitBreaker', 'fetch'],
    ]);
    // Asked directly, the registry throws what the factory threw.
    expect(() => rf.breakers?.get(server.url)).toThrow('factory bug');
  });

  it('reports a breaker factory that returns something else than a breaker', async () => {
    const server = await serve(ok());
    const rf = resilientFetch({
      retry: false,
      circuitBreaker: () => retry() as unknown as CircuitBreakerPolicy,
    });
    expect((await rf(server.url)).status).toBe(200);
    expect(reported.map((r) => [r.callback, String(r.error)])).toEqual([
      ['resilientFetch.circuitBreaker', 'TypeError: resilientFetch.circuitBreaker returned an object'],
    ]);
  });

  it('keeps serving when onCreate and onEvict listeners throw or reject', async () => {
    const server = await serve(ok());
    const rf = resilientFetch({ retry: false, maxBreakers: 1, breakerKey: (url) => url.pathname });
    rf.breakers?.onCreate(bug('onCreate'));
    rf.breakers?.onEvict(async () => {
      throw new Error('onEvict bug');
    });
    expect((await rf(`${server.url}/a`)).status).toBe(200);
    expect((await rf(`${server.url}/b`)).status).toBe(200);
    await waitFor(() => reported.length === 3, 'three listener errors', { withinMs: 5_000 });
    // The rejection is reported when it settles, after the second creation's throw.
    expect(reported.map((r) => [r.callback, (r.error as Error).message])).toEqual([
      ['event listener', 'onCreate bug'],
      ['event listener', 'onCreate bug'],
      ['event listener', 'onEvict bug'],
    ]);
    expect(rf.breakers?.keys()).toEqual(['/b']);
  });
});

describe('circuitBreakerInterceptor: user callbacks are guarded', () => {
  function agent(interceptor: ReturnType<typeof circuitBreakerInterceptor>) {
    const base = new Agent({ keepAliveTimeout: 10 });
    closers.push(() => base.close());
    return base.compose(interceptor);
  }

  it('judges by the default when isFailure or now throw, and settles the permit', async () => {
    const server = await serve(status(503, { 'retry-after': '2' }));
    const interceptor = circuitBreakerInterceptor({ isFailure: bug('isFailure'), now: bug('now') });
    const failures: unknown[] = [];
    interceptor.breakers.onCreate(({ breaker }) => breaker.onFailure((e) => failures.push(e.failure)));
    const res = await undiciFetch(server.url, { dispatcher: agent(interceptor) });
    expect(res.status).toBe(503);
    await res.text();
    expect(interceptor.breakers.get(server.url).snapshot()).toMatchObject({
      calls: 1,
      failures: 1,
      inflight: 0,
    });
    expect(failures).toMatchObject([{ error: { status: 503, retryAfterMs: 2_000 } }]);
    expect(callbacks()).toEqual([
      ['circuitBreakerInterceptor.isFailure', 'undici'],
      ['circuitBreakerInterceptor.now', 'undici'],
    ]);
  });

  it('dispatches unguarded when the breaker factory throws', async () => {
    const server = await serve(ok('through'));
    const interceptor = circuitBreakerInterceptor({ circuitBreaker: bug('factory') });
    const res = await undiciFetch(server.url, { dispatcher: agent(interceptor) });
    expect(await res.text()).toBe('through');
    expect(interceptor.breakers.size).toBe(0);
    expect(callbacks()).toEqual([['circuitBreakerInterceptor.circuitBreaker', 'undici']]);
  });

  it('uses a factory that returns breakers', async () => {
    const server = await serve(ok());
    const interceptor = circuitBreakerInterceptor({ circuitBreaker: (key) => circuitBreaker({ name: key }) });
    expect((await undiciFetch(server.url, { dispatcher: agent(interceptor) })).status).toBe(200);
    expect(interceptor.breakers.get(server.url).name).toBe(server.url);
    expect(reported).toEqual([]);
  });
});
