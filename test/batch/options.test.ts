import { describe, expect, it } from 'vitest';
import { batch } from '../../src/batch/index.js';
import { retry } from '../../src/index.js';

const run = (keys: readonly string[]) => keys;

function thrown(build: () => unknown): (Error & { option?: string; code?: string }) | undefined {
  try {
    build();
  } catch (e) {
    return e as Error;
  }
  return undefined;
}

describe('batch options', () => {
  it.each([
    ['batch', () => batch(undefined as never), TypeError],
    ['batch.run', () => batch({} as never), TypeError],
    ['batch.run', () => batch({ run: [] as never }), TypeError],
    ['batch.maxSize', () => batch({ run, maxSize: 0 }), RangeError],
    ['batch.maxSize', () => batch({ run, maxSize: -1 }), RangeError],
    ['batch.maxSize', () => batch({ run, maxSize: 2.5 }), RangeError],
    ['batch.maxDelayMs', () => batch({ run, maxDelayMs: -1 }), RangeError],
    ['batch.maxDelayMs', () => batch({ run, maxDelayMs: Number.POSITIVE_INFINITY }), RangeError],
    ['batch.key', () => batch({ run, key: 'id' as never }), TypeError],
    ['batch.policy', () => batch({ run, policy: {} as never }), TypeError],
    ['batch.maxBatchSize', () => batch({ run, maxBatchSize: 3 } as never), TypeError],
  ])('%s is checked at construction', (option, build, kind) => {
    const error = thrown(build);
    expect(error).toBeInstanceOf(kind);
    expect(error?.code).toBe('BW_ERR_INVALID_OPTION');
    expect(error?.option).toBe(option);
  });

  it('has finite defaults and accepts a policy', () => {
    expect(batch({ run }).options).toMatchObject({ name: 'batch', maxSize: 100, maxDelayMs: 0 });
    expect(batch({ run, policy: retry() }).options.policy).toBeDefined();
  });
});
