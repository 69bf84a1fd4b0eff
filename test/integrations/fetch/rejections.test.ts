import { describe, expect, it } from 'vitest';
import { resilientFetch } from '../../../src/integrations/fetch/index.js';

const respond = async (_input: unknown, _init?: unknown) => new Response('ok');

/** Calls `rf` and returns its promise; fails the test if the call threw instead. */
function call(run: () => Promise<unknown>): Promise<unknown> {
  let promise: Promise<unknown> | undefined;
  expect(() => {
    promise = run();
  }).not.toThrow();
  expect(promise).toBeInstanceOf(Promise);
  return promise as Promise<unknown>;
}

describe('resilientFetch rejects, like fetch, and never throws synchronously', () => {
  it('rejects for a method that is not a string', async () => {
    const rf = resilientFetch({ fetch: respond });
    await expect(call(() => rf('http://a.test/', { method: 42 } as never))).rejects.toThrow(TypeError);
  });

  it('rejects for headers that throw when read', async () => {
    const rf = resilientFetch({ fetch: respond });
    const headers = {
      has: () => {
        throw new Error('bad headers');
      },
    };
    const init = { method: 'POST', body: 'x', headers } as never;
    await expect(call(() => rf('http://a.test/', init))).rejects.toThrow('bad headers');
  });

  it('rejects when the fetch it wraps throws synchronously, whatever the path', async () => {
    const throwing = (_input: unknown, _init?: unknown): Promise<Response> => {
      throw new TypeError('sync fetch failure');
    };
    // A URL fetch must judge itself goes straight to the wrapped fetch.
    const rf = resilientFetch({ fetch: throwing });
    await expect(call(() => rf('not a url'))).rejects.toThrow('sync fetch failure');
    await expect(call(() => rf('http://a.test/'))).rejects.toThrow('sync fetch failure');
    const bare = resilientFetch({ fetch: throwing, circuitBreaker: false, retry: false, timeout: false });
    await expect(call(() => bare('http://a.test/'))).rejects.toThrow('sync fetch failure');
  });
});
