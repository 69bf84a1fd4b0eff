import { execFile } from 'node:child_process';
import { inspect, promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { BrokenCircuitError, BulkheadRejectedError, TimeoutError } from '../../src/index.js';

const occurrences = (text: string, part: string) => text.split(part).length - 1;

describe('errors built by create() print like errors', () => {
  it('show "Name: message" and their fields under util.inspect, without a cause they lack', () => {
    const text = inspect(TimeoutError.create(100, 'db'));
    expect(text.startsWith('[TimeoutError: db: timed out after 100 ms]')).toBe(true);
    expect(text).toContain("code: 'BW_ERR_TIMEOUT'");
    expect(text).toContain('timeoutMs: 100');
    expect(text).toContain("policy: 'db'");
    expect(text).not.toContain('cause');
    expect(text).not.toContain('stack');
    expect(text).not.toContain('Symbol(');
  });

  it('show their cause once under util.inspect', () => {
    const cause = new Error('root failure');
    const text = inspect(BrokenCircuitError.create('db', 'open', 5, cause));
    expect(text.startsWith('[BrokenCircuitError: db: circuit is open, retry after 5 ms]')).toBe(true);
    expect(text).toContain("state: 'open'");
    expect(occurrences(text, 'root failure')).toBe(1);
  });

  it('are shown with name and message by Node when a rejection goes unhandled', async () => {
    const entry = new URL('../../src/index.ts', import.meta.url).href;
    const script = `import { TimeoutError } from ${JSON.stringify(entry)};
      Promise.reject(TimeoutError.create(100, 'db'));`;
    const run = promisify(execFile);
    const failed = await run(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
      timeout: 15_000,
    }).then(
      () => undefined,
      (error: { code?: number; stderr?: string }) => error,
    );
    expect(failed?.code).toBe(1);
    // Node prints its own UnhandledPromiseRejection (naming only "TimeoutError") for an object that
    // has no own `stack`; with one, it prints the error itself through util.inspect.
    expect(failed?.stderr).toContain('TimeoutError: db: timed out after 100 ms');
    expect(failed?.stderr).toContain("code: 'BW_ERR_TIMEOUT'");
    expect(failed?.stderr).not.toContain('UnhandledPromiseRejection');
  });

  it('serialise name, code, message and fields to JSON, without stack or cause', () => {
    const cause = new Error('root');
    const expected = {
      name: 'BrokenCircuitError',
      code: 'BW_ERR_CIRCUIT_OPEN',
      message: 'db: circuit is open, retry after 5 ms',
      policy: 'db',
      retryAfterMs: 5,
      state: 'open',
    };
    expect(JSON.parse(JSON.stringify(BrokenCircuitError.create('db', 'open', 5, cause)))).toEqual(expected);
    expect(JSON.parse(JSON.stringify(new BrokenCircuitError('db', 'open', 5, { cause })))).toEqual(expected);
    expect(JSON.parse(JSON.stringify({ error: BulkheadRejectedError.create('b', 'full') }))).toEqual({
      error: {
        name: 'BulkheadRejectedError',
        code: 'BW_ERR_BULKHEAD_REJECTED',
        message: 'b: bulkhead rejected the call (full)',
        policy: 'b',
        reason: 'full',
      },
    });
  });

  it('keep name, code and fields through structuredClone (the message is derived, so it stays behind)', () => {
    const cause = new Error('root');
    const clone = structuredClone(BrokenCircuitError.create('db', 'open', 5, cause));
    expect(clone).toMatchObject({
      name: 'BrokenCircuitError',
      code: 'BW_ERR_CIRCUIT_OPEN',
      policy: 'db',
      retryAfterMs: 5,
      state: 'open',
    });
    expect((clone.cause as Error).message).toBe('root');
    expect(Object.getPrototypeOf(clone)).toBe(Object.prototype);
  });

  it('accept a new message, as native errors do', () => {
    const error = TimeoutError.create(100, 'db');
    error.message = `request 7: ${error.message}`;
    expect(error.message).toBe('request 7: db: timed out after 100 ms');
    expect(String(error)).toBe('TimeoutError: request 7: db: timed out after 100 ms');
  });
});

describe('errors built with new', () => {
  it('print their cause once and no cause when they have none', () => {
    expect(inspect(new TimeoutError(100, 'db'))).not.toContain('cause');
    const text = inspect(new TimeoutError(100, 'db', { cause: new Error('root failure') }));
    expect(occurrences(text, 'root failure')).toBe(1);
  });

  it('keep message, stack and cause through structuredClone; the clone is a plain Error', () => {
    // The structured clone algorithm rebuilds native errors as one of the built-in error types from
    // message, stack and cause only: the class, `name`, `code` and fields do not survive.
    const error = new TimeoutError(100, 'db', { cause: 'why' });
    const clone = structuredClone(error);
    expect(clone).toBeInstanceOf(Error);
    expect(clone.name).toBe('Error');
    expect(clone.message).toBe('db: timed out after 100 ms');
    expect(clone.stack?.startsWith('TimeoutError: db: timed out after 100 ms\n')).toBe(true);
    expect(clone.cause).toBe('why');
    expect((clone as Partial<TimeoutError>).code).toBeUndefined();
  });
});
