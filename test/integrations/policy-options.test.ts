import { describe, expect, it } from 'vitest';
import { BW_ERR_INVALID_OPTION, bulkhead, systemClock } from '../../src/index.js';
import { buildBreaker, buildBulkhead, buildTimeout } from '../../src/integrations/policy-options.js';

// The integrations build their policies from the user's options: an option error names the path the
// user wrote (`protect.bulkhead.limit`), not the inner policy's (`bulkhead.limit`).

const clock = systemClock;

function thrown(fn: () => unknown): Error & { code?: string; option?: string } {
  try {
    fn();
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected a throw');
}

describe('policy options of the integrations', () => {
  it('names the user path of a bad option, keeping the class and the code', () => {
    const limit = thrown(() => buildBulkhead('protect.bulkhead', 'x', clock, { limit: 0 }));
    expect(limit).toBeInstanceOf(RangeError);
    expect(limit).toMatchObject({ code: BW_ERR_INVALID_OPTION, option: 'protect.bulkhead.limit' });
    expect(limit.message).toBe(
      'breakwater: option "protect.bulkhead.limit" must be an integer in [1, 2147483647], received 0',
    );
    const unknown = thrown(() =>
      buildBreaker('resilientFetch.circuitBreaker', 'x', clock, { widow: 1 } as never),
    );
    expect(unknown).toBeInstanceOf(TypeError);
    expect(unknown).toMatchObject({ option: 'resilientFetch.circuitBreaker.widow' });
    expect(unknown.message).toContain('"resilientFetch.circuitBreaker.widow"');
    expect(thrown(() => buildTimeout('resilientPool.timeout', 'x', clock, { durationMs: -1 }))).toMatchObject(
      {
        option: 'resilientPool.timeout.durationMs',
      },
    );
  });

  it('names the option itself when a number stands for the policy', () => {
    expect(thrown(() => buildBulkhead('protect.bulkhead', 'x', clock, 0))).toMatchObject({
      name: 'RangeError',
      option: 'protect.bulkhead',
    });
    expect(thrown(() => buildTimeout('protect.timeout', 'x', clock, -5))).toMatchObject({
      name: 'RangeError',
      option: 'protect.timeout',
    });
  });

  it('keeps the cause of an option error, and lets other errors through untouched', () => {
    const cause = new Error('root');
    const inner = Object.assign(new TypeError('breakwater: option "bulkhead.limit" is wrong', { cause }), {
      code: BW_ERR_INVALID_OPTION,
      option: 'bulkhead.limit',
    });
    const rethrown = thrown(() =>
      buildBulkhead('protect.bulkhead', 'x', clock, {
        get limit(): number {
          throw inner;
        },
      }),
    );
    expect(rethrown).toBeInstanceOf(TypeError);
    expect(rethrown).toMatchObject({ option: 'protect.bulkhead.limit', code: BW_ERR_INVALID_OPTION });
    expect(rethrown.message).toBe('breakwater: option "protect.bulkhead.limit" is wrong');
    expect(rethrown.cause).toBe(cause);
    const other = new Error('a getter failed');
    expect(
      thrown(() =>
        buildBulkhead('protect.bulkhead', 'x', clock, {
          get limit(): number {
            throw other;
          },
        }),
      ),
    ).toBe(other);
  });

  it('takes a policy of the user as it is, and false or undefined as none', () => {
    const own = bulkhead(3);
    expect(buildBulkhead('protect.bulkhead', 'x', clock, own)).toBe(own);
    expect(buildBulkhead('protect.bulkhead', 'x', clock, false)).toBeNull();
    expect(buildTimeout('protect.timeout', 'x', clock, undefined)).toBeNull();
  });
});
