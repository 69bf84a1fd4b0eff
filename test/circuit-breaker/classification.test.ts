import { afterEach, describe, expect, it } from 'vitest';
import { circuitBreaker } from '../../src/index.js';
import { captureCallbackErrors } from '../helpers.js';

const bug = new Error('predicate bug');
const throwing = () => {
  throw bug;
};

describe('breaker outcome classification', () => {
  let reported: ReturnType<typeof captureCallbackErrors> | undefined;
  afterEach(() => {
    reported?.stop();
    reported = undefined;
  });

  it('a handle predicate that throws counts the error as a failure and is reported', async () => {
    reported = captureCallbackErrors();
    const breaker = circuitBreaker({ window: { kind: 'consecutive', failures: 2 }, handle: throwing });
    const task = new Error('downstream');
    for (let i = 0; i < 2; i++) {
      expect(await breaker.executeOutcome(() => Promise.reject(task))).toMatchObject({
        ok: false,
        error: task,
      });
    }
    expect(breaker.state).toBe('open');
    expect(reported.map((e) => [e.callback, e.policy, e.error])).toEqual(
      Array(2).fill(['circuitBreaker.handle', breaker.name, bug]),
    );
  });

  it('a handleResult predicate that throws counts the result as a failure and is reported', async () => {
    reported = captureCallbackErrors();
    const breaker = circuitBreaker({ window: { kind: 'consecutive', failures: 1 }, handleResult: throwing });
    // The caller still gets its result: the predicate only judges it.
    expect(await breaker.executeOutcome(() => 'fine')).toMatchObject({ ok: true, value: 'fine' });
    expect(breaker.state).toBe('open');
    expect(reported.map((e) => [e.callback, e.error])).toEqual([['circuitBreaker.handleResult', bug]]);
  });

  it('handle: Error matches errors by class (it is not called as a predicate)', async () => {
    const breaker = circuitBreaker({ window: { kind: 'consecutive', failures: 2 }, handle: Error });
    await breaker.executeOutcome(() => Promise.reject(new TypeError('an Error subclass')));
    await breaker.executeOutcome(() => Promise.reject(new Error('a plain Error')));
    expect(breaker.state).toBe('open');
  });

  it('with handle: Error, a thrown value that is not an Error counts as a success', async () => {
    const breaker = circuitBreaker({ window: { kind: 'consecutive', failures: 1 }, handle: Error });
    const outcome = await breaker.executeOutcome(() => Promise.reject('a string'));
    expect(outcome).toMatchObject({ ok: false, error: 'a string' });
    expect(breaker.snapshot()).toMatchObject({ state: 'closed', failures: 0 });
    expect(breaker.recorded).toMatchObject({ calls: 1, failures: 0 });
  });
});

describe('a throwing ignore predicate', () => {
  it('counts the outcome as a failure, as documented, and is reported', async () => {
    const reported = captureCallbackErrors();
    try {
      const breaker = circuitBreaker({
        window: { kind: 'consecutive', failures: 1 },
        ignore: () => {
          throw new Error('predicate bug');
        },
      });
      await breaker.executeOutcome(() => Promise.reject(new Error('down')));
      expect(breaker.state).toBe('open');
      expect(reported.map((e) => e.callback)).toEqual(['circuitBreaker.ignore']);
    } finally {
      reported.stop();
    }
  });
});
