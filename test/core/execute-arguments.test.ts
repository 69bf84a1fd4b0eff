import { describe, expect, it } from 'vitest';
import { batch } from '../../src/batch/index.js';
import { coalesce } from '../../src/coalesce/index.js';
import { bulkhead, circuitBreaker, hedge, type Policy, pipeline, retry, timeout } from '../../src/index.js';
import { deferred } from '../helpers.js';

// `execute` is the boundary: whatever it is given, it returns a promise (never throws), rejects bad
// arguments with a TypeError before any policy sees the call, and treats null as absent.

const policies = (): [string, Policy][] => [
  ['aggressive timeout', timeout(1_000)],
  ['cooperative timeout', timeout({ durationMs: 1_000, strategy: 'cooperative' })],
  ['coalesce', coalesce({ key: (ctx) => ctx.key })],
  ['batch', batch<string, string>({ run: (keys) => keys.map((k) => `#${k}`) })],
  ['bulkhead', bulkhead({ limit: 1, queue: 1 })],
  ['circuit breaker', circuitBreaker()],
  ['retry', retry()],
  ['hedge', hedge({ delayMs: 1_000 })],
  ['pipeline', pipeline(retry(), circuitBreaker(), bulkhead(5), timeout(1_000))],
];

describe('execute arguments', () => {
  for (const [name, policy] of policies()) {
    describe(name, () => {
      it('treats null options, a null signal and a null key as absent', async () => {
        await expect(policy.execute(() => 'a', null as never)).resolves.toBeDefined();
        await expect(policy.execute(() => 'b', { signal: null } as never)).resolves.toBeDefined();
        await expect(policy.execute(() => 'c', { signal: null, key: null } as never)).resolves.toBeDefined();
        await expect(policy.executeOutcome(() => 'd', { signal: null } as never)).resolves.toMatchObject({
          ok: true,
        });
      });

      it('rejects, never throws, for options that are not a signal or { signal, key }', async () => {
        for (const bad of ['x', 5, true, { signal: {} }, { signal: 'x' }, { key: 42 }]) {
          let returned: Promise<unknown> | undefined;
          expect(() => {
            returned = policy.execute(() => 'never', bad as never);
          }).not.toThrow();
          await expect(returned).rejects.toMatchObject({ name: 'TypeError', code: 'BW_ERR_INVALID_OPTION' });
          await expect(policy.executeOutcome(() => 'never', bad as never)).resolves.toMatchObject({
            ok: false,
            error: { name: 'TypeError' },
          });
        }
      });

      it('rejects a task that is not a function', async () => {
        let returned: Promise<unknown> | undefined;
        expect(() => {
          returned = policy.execute('not a function' as never);
        }).not.toThrow();
        await expect(returned).rejects.toMatchObject({ name: 'TypeError', option: 'execute(fn)' });
      });
    });
  }

  it('a bad call leaves no state behind in a saturated bulkhead', async () => {
    const b = bulkhead({ limit: 1, queue: 1 });
    const gate = deferred();
    const running = b.execute(() => gate.promise);
    await expect(b.execute(() => 'x', { signal: 'nope' } as never)).rejects.toThrow(TypeError);
    const queued = b.execute(() => 'queued', { signal: null } as never);
    expect(b.snapshot()).toMatchObject({ inflight: 1, queueSize: 1 });
    gate.resolve('done');
    await expect(running).resolves.toBe('done');
    await expect(queued).resolves.toBe('queued');
    expect(b.snapshot()).toMatchObject({ inflight: 0, queueSize: 0 });
  });
});
