import { describe, expect, it } from 'vitest';
import { fallback, pipeline, retry, TimeoutError, timeout } from '../src/index.js';
import { FakeClock, track } from './helpers.js';

describe('pipeline', () => {
  it('runs the first policy outermost', async () => {
    const clock = new FakeClock();
    // fallback outside retry: the fallback sees the failure only after every retry.
    let calls = 0;
    const p = pipeline(
      fallback({ fallback: () => `fallback after ${calls}` }),
      retry({ maxRetries: 2, backoff: 0, clock }),
    );
    const call = track(
      p.execute(() => {
        calls++;
        throw new Error('x');
      }),
    );
    await clock.tick(0);
    expect(call.value).toBe('fallback after 3');

    // retry outside fallback: the fallback answers the first call, nothing is retried.
    calls = 0;
    const q = pipeline(retry({ maxRetries: 2, backoff: 0, clock }), fallback({ fallback: () => 'fb' }));
    await expect(
      q.execute(() => {
        calls++;
        throw new Error('x');
      }),
    ).resolves.toBe('fb');
    expect(calls).toBe(1);
  });

  it('retries attempts that time out', async () => {
    const clock = new FakeClock();
    let calls = 0;
    const p = pipeline(retry({ maxRetries: 2, backoff: 0, clock }), timeout({ durationMs: 100, clock }));
    const call = track(
      p.execute(() => {
        calls++;
        return calls < 3 ? new Promise(() => {}) : 'third time lucky';
      }),
    );
    await clock.tick(250);
    expect(call.value).toBe('third time lucky');
    expect(calls).toBe(3);
  });

  it('reports a timeout of the whole budget to a fallback', async () => {
    const clock = new FakeClock();
    const p = pipeline(
      fallback({
        fallback: (f) => (f.kind === 'error' && f.error instanceof TimeoutError ? 'slow' : 'other'),
      }),
      timeout({ durationMs: 10, clock }),
    );
    const call = track(p.execute(() => new Promise(() => {})));
    await clock.tick(10);
    expect(call.value).toBe('slow');
  });

  it('flattens nested pipelines', async () => {
    const clock = new FakeClock();
    let calls = 0;
    const inner = pipeline(retry({ maxRetries: 1, backoff: 0, clock }));
    const outer = pipeline(fallback({ fallback: () => 'fb' }), inner);
    const call = track(
      outer.execute(() => {
        calls++;
        throw new Error('x');
      }),
    );
    await clock.tick(0);
    expect(call.value).toBe('fb');
    expect(calls).toBe(2);
  });

  it('with no policy simply runs the function', async () => {
    await expect(pipeline().execute(() => 42)).resolves.toBe(42);
    await expect(pipeline().execute(() => Promise.reject(new Error('e')))).rejects.toThrow('e');
    await expect(
      pipeline().execute(() => {
        throw new Error('sync');
      }),
    ).rejects.toThrow('sync');
    await expect(pipeline().executeOutcome(() => 1)).resolves.toEqual({ ok: true, value: 1 });
  });

  it('passes a per-call key to the context of every attempt', async () => {
    const clock = new FakeClock();
    const controller = new AbortController();
    const seen: [string | undefined, number, boolean][] = [];
    const policy = pipeline(retry({ maxRetries: 1, backoff: 0, clock }), timeout({ durationMs: 100, clock }));
    const call = track(
      policy.execute(
        (ctx) => {
          seen.push([ctx.key, ctx.attempt, ctx.signal.aborted]);
          if (ctx.attempt === 1) throw new Error('again');
          return 'ok';
        },
        { key: 'user:42', signal: controller.signal },
      ),
    );
    await clock.tick(0);
    expect(call.value).toBe('ok');
    expect(seen).toEqual([
      ['user:42', 1, false],
      ['user:42', 2, false],
    ]);
    await expect(pipeline().execute((ctx) => ctx.key)).resolves.toBeUndefined();
    await expect(pipeline().execute(() => 1, { signal: AbortSignal.abort('no') })).rejects.toBe('no');
  });

  it('refuses things that are not policies', () => {
    expect(() => pipeline({} as never)).toThrow(TypeError);
    expect(() => pipeline({} as never)).toThrow(/pipeline\[0\]/);
  });
});
