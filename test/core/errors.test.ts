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

  it('build per-call rejections without a stack trace', () => {
    const limit = Error.stackTraceLimit;
    for (const error of [
      BrokenCircuitError.create('db', 'open', 1),
      BulkheadRejectedError.create('db', 'full'),
      TimeoutError.create(1, 'db'),
    ]) {
      expect(error.stack?.split('\n')).toHaveLength(1);
    }
    expect(Error.stackTraceLimit).toBe(limit);
    // Errors built with `new` (not per call) keep theirs.
    expect(new BrokenCircuitError('db', 'open').stack?.split('\n').length).toBeGreaterThan(1);
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
