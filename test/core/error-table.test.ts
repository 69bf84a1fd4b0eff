import { describe, expect, it } from 'vitest';
import * as errors from '../../src/core/errors.js';
import {
  BreakwaterError,
  BrokenCircuitError,
  BulkheadRejectedError,
  BW_ERR_REJECTED,
  ERRORS,
  type ErrorRow,
  IsolatedCircuitError,
  RateLimitedError,
  RejectedError,
  ThrottledError,
  TimeoutError,
} from '../../src/core/errors.js';
import { retry } from '../../src/index.js';

const rows = Object.entries(ERRORS) as [string, ErrorRow][];
const exported = errors as unknown as Record<string, unknown>;

// One of each error class, built both ways where it has a create().
const samples: (Error & { code: string })[] = [
  new BreakwaterError('m'),
  new TimeoutError(1, 'p'),
  TimeoutError.create(1, 'p'),
  new RejectedError('m', BW_ERR_REJECTED, 'p'),
  new BrokenCircuitError('p', 'open', 3),
  BrokenCircuitError.create('p', 'half-open', 3),
  new IsolatedCircuitError('p'),
  IsolatedCircuitError.create('p'),
  new BulkheadRejectedError('p', 'full'),
  BulkheadRejectedError.create('p', 'wait-timeout'),
  new RateLimitedError('p', 5),
  RateLimitedError.create('p', 5),
  new ThrottledError('p', 0.5),
  ThrottledError.create('p', 0.5),
];

describe('the error table', () => {
  it('keys every row by its code, and no code or name appears twice', () => {
    for (const [key, row] of rows) expect(row.code).toBe(key);
    expect(new Set(rows.map(([, row]) => row.name)).size).toBe(rows.length);
  });

  it('gives every row a Symbol.for brand named after it', () => {
    for (const [, row] of rows) expect(row.brand).toBe(Symbol.for(`breakwater.error.${row.name}`));
  });

  it('names each class row after the exported class, whose prototype carries the brand', () => {
    for (const [, row] of rows) {
      if (row.code === errors.BW_ERR_INVALID_OPTION) continue;
      const cls = exported[row.name] as abstract new (...args: never[]) => Error;
      expect(typeof cls).toBe('function');
      expect(cls.name).toBe(row.name);
      expect((cls.prototype as Record<symbol, unknown>)[row.brand]).toBe(true);
    }
  });

  it('lists every exported code and error class', () => {
    const names = new Set(rows.map(([, row]) => row.name));
    for (const [key, value] of Object.entries(exported)) {
      if (key.startsWith('BW_ERR')) expect(ERRORS[value as keyof typeof ERRORS]?.code).toBe(value);
      if (typeof value === 'function' && value.prototype instanceof Error) expect(names).toContain(key);
    }
  });

  it('gives each error the name and code of its row, however it was built', () => {
    for (const error of samples) {
      const row = ERRORS[error.code as keyof typeof ERRORS];
      expect(row?.name).toBe(error.name);
      expect((error as unknown as Record<symbol, unknown>)[row.brand]).toBe(true);
    }
  });

  it('finds invalid options under InvalidOptionError', () => {
    expect(ERRORS.BW_ERR_INVALID_OPTION.name).toBe('InvalidOptionError');
    let thrown: unknown;
    try {
      retry({ maxRetries: -1 });
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(RangeError);
    expect(ERRORS[(thrown as { code: keyof typeof ERRORS }).code].name).toBe('InvalidOptionError');
  });

  it('rebuilds each message from the fields, e.g. of a structured clone', () => {
    for (const error of samples) {
      const row = ERRORS[error.code as keyof typeof ERRORS];
      if (row.message !== undefined) expect(row.message({ ...error } as never)).toBe(error.message);
    }
    const clone = structuredClone(TimeoutError.create(250, 'db')) as { code: keyof typeof ERRORS };
    expect(ERRORS[clone.code].message?.(clone as never)).toBe('db: timed out after 250 ms');
  });
});
