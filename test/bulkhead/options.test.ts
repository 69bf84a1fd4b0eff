import { describe, expect, it } from 'vitest';
import { bulkhead } from '../../src/index.js';

describe('bulkhead options', () => {
  it.each([
    ['bulkhead.limit', () => bulkhead(0), RangeError],
    ['bulkhead.limit', () => bulkhead(1.5), RangeError],
    ['bulkhead.limit', () => bulkhead({} as never), TypeError],
    ['bulkhead.limit', () => bulkhead({ limit: { limit: 3 } as never }), TypeError],
    ['bulkhead.queue', () => bulkhead({ limit: 1, queue: -1 }), RangeError],
    ['bulkhead.maxWaitMs', () => bulkhead({ limit: 1, maxWaitMs: 0 }), RangeError],
    ['bulkhead.partitions.a', () => bulkhead({ limit: 1, partitions: { a: 0 } }), RangeError],
    ['bulkhead.partitions', () => bulkhead({ limit: 1, partitions: [] as never }), TypeError],
    ['bulkhead.isDrop', () => bulkhead({ limit: 1, isDrop: true as never }), TypeError],
    ['bulkhead.size', () => bulkhead({ limit: 1, size: 3 } as never), TypeError],
  ])('%s is checked', (option, build, kind) => {
    let error: (Error & { option?: string }) | undefined;
    try {
      build();
    } catch (e) {
      error = e as Error;
    }
    expect(error).toBeInstanceOf(kind);
    expect(error?.option).toBe(option);
  });

  it('has finite defaults', () => {
    expect(bulkhead(4).options).toMatchObject({ limit: 4, queue: 0, maxWaitMs: 5_000 });
  });
});
