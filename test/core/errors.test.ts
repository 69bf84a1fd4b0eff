import { types } from 'node:util';
import { describe, expect, it } from 'vitest';
import {
  BreakwaterError,
  BrokenCircuitError,
  BulkheadRejectedError,
  IsolatedCircuitError,
  RateLimitedError,
  RejectedError,
  TimeoutError,
} from '../../src/index.js';

describe('errors', () => {
  it('have a stable name and code per class and keep their cause', () => {
    const cause = new Error('root');
    const cases: [Error & { code: string }, string, string][] = [
      [TimeoutError.create(100, 'db', cause), 'TimeoutError', 'BW_ERR_TIMEOUT'],
      [BrokenCircuitError.create('db', 'open', 500, cause), 'BrokenCircuitError', 'BW_ERR_CIRCUIT_OPEN'],
      [IsolatedCircuitError.create('db'), 'IsolatedCircuitError', 'BW_ERR_CIRCUIT_ISOLATED'],
      [BulkheadRejectedError.create('db', 'full'), 'BulkheadRejectedError', 'BW_ERR_BULKHEAD_REJECTED'],
      [RateLimitedError.create('api', 250), 'RateLimitedError', 'BW_ERR_RATE_LIMITED'],
    ];
    for (const [error, name, code] of cases) {
      expect(error.name).toBe(name);
      expect(error.code).toBe(code);
      expect(error).toBeInstanceOf(BreakwaterError);
      expect(error).toBeInstanceOf(Error);
    }
    expect(cases[0]![0].cause).toBe(cause);
    expect(cases[1]![0].cause).toBe(cause);
  });

  it('place rejections under RejectedError, with the policy and retryAfterMs', () => {
    const open = BrokenCircuitError.create('payments', 'open', 1_234);
    expect(open).toBeInstanceOf(RejectedError);
    expect(open.policy).toBe('payments');
    expect(open.retryAfterMs).toBe(1_234);
    expect(open.state).toBe('open');
    expect(IsolatedCircuitError.create('x')).toBeInstanceOf(BrokenCircuitError);
    expect(TimeoutError.create(1, 'x')).not.toBeInstanceOf(RejectedError);
    expect(new Error('plain')).not.toBeInstanceOf(BreakwaterError);
    expect(null).not.toBeInstanceOf(BreakwaterError);
  });

  it('build per-call rejections without a stack trace, with the same message and code as `new`', () => {
    const cases: [Error & { code: string }, Error & { code: string }][] = [
      [BrokenCircuitError.create('db', 'open', 1_499.2), new BrokenCircuitError('db', 'open', 1_499.2)],
      [BrokenCircuitError.create('db', 'isolated'), new BrokenCircuitError('db', 'isolated')],
      [IsolatedCircuitError.create('db'), new IsolatedCircuitError('db')],
      [BulkheadRejectedError.create('db', 'full'), new BulkheadRejectedError('db', 'full')],
      [TimeoutError.create(250, 'db'), new TimeoutError(250, 'db')],
      [RateLimitedError.create('api', 10), new RateLimitedError('api', 10)],
    ];
    for (const [cheap, built] of cases) {
      expect(cheap.message).toBe(built.message);
      expect(cheap.code).toBe(built.code);
      // No trace was captured: an empty own stack, which Node's printers replace with `Name: message`.
      expect(cheap.stack).toBe('');
      expect(types.isNativeError(cheap)).toBe(false);
      expect(String(cheap)).toBe(String(built));
      // Errors built with `new` (not per call) keep their stack.
      expect(built.stack).toMatch(/\n\s+at /);
    }
    expect(BrokenCircuitError.create('db', 'open', 1_499.2).message).toBe(
      'db: circuit is open, retry after 1500 ms',
    );
  });

  it('have a cause only when given one', () => {
    const cause = new Error('root');
    expect('cause' in TimeoutError.create(1, 'db')).toBe(false);
    expect('cause' in new TimeoutError(1, 'db')).toBe(false);
    expect(TimeoutError.create(1, 'db', cause).cause).toBe(cause);
    expect(BrokenCircuitError.create('db', 'open', 5, cause).cause).toBe(cause);
  });

  it('recognise instances branded by another copy of the library', () => {
    const foreign = Object.create(Error.prototype, {
      [Symbol.for('breakwater.error.TimeoutError')]: { value: true },
      [Symbol.for('breakwater.error.BreakwaterError')]: { value: true },
    });
    expect(foreign).toBeInstanceOf(TimeoutError);
    expect(foreign).toBeInstanceOf(BreakwaterError);
    expect(foreign).not.toBeInstanceOf(RejectedError);
  });
});

describe('ThrottledError', () => {
  it('is a rejection with a probability, built cheaply like the others', async () => {
    const { ThrottledError } = await import('../../src/index.js');
    const cheap = ThrottledError.create('api', 0.4);
    const built = new ThrottledError('api', 0.4);
    expect(cheap).toBeInstanceOf(RejectedError);
    expect(cheap.code).toBe('BW_ERR_THROTTLED');
    expect(cheap.message).toBe(built.message);
    expect(cheap.probability).toBe(0.4);
  });
});
