import { afterEach, describe, expect, it } from 'vitest';
import { BW_ERR_INVALID_OPTION, type CircuitBreakerOptions } from '../../../src/index.js';
import { circuitBreakerInterceptor, resilientFetch } from '../../../src/integrations/fetch/index.js';
import { type Downstream, downstream, ok } from './downstream.js';

const servers: Downstream[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

// The message and `option` name the path given to policy-options' buildBreaker; the leading
// integration path (`resilientFetch.`) is that module's to add.
const bad: Array<[string, CircuitBreakerOptions]> = [
  ['failureRateThreshold', { failureRateThreshold: 7 }],
  ['minimumCalls', { window: { kind: 'consecutive' }, minimumCalls: 3 }],
  ['window.size', { window: { kind: 'count', size: 0 } }],
  ['failureTreshold', { failureTreshold: 0.5 } as CircuitBreakerOptions],
];

describe('per-origin breaker options are validated at construction', () => {
  for (const [option, circuitBreaker] of bad) {
    it(`resilientFetch throws at once for a bad circuitBreaker.${option}`, () => {
      expect(() => resilientFetch({ circuitBreaker })).toThrow(
        expect.objectContaining({
          code: BW_ERR_INVALID_OPTION,
          option: expect.stringMatching(new RegExp(`circuitBreaker\\.${option.replace('.', '\\.')}$`)),
        }),
      );
    });

    it(`circuitBreakerInterceptor throws at once for a bad circuitBreaker.${option}`, () => {
      expect(() => circuitBreakerInterceptor({ circuitBreaker })).toThrow(
        expect.objectContaining({
          code: BW_ERR_INVALID_OPTION,
          option: expect.stringMatching(new RegExp(`circuitBreaker\\.${option.replace('.', '\\.')}$`)),
        }),
      );
    });
  }

  it('builds every origin from the options as validated, even if the object is changed later', async () => {
    const server = await downstream(ok('fine'));
    servers.push(server);
    const options: CircuitBreakerOptions = { window: { kind: 'consecutive', failures: 3 } };
    const rf = resilientFetch({ retry: false, circuitBreaker: options });
    options.failureRateThreshold = 7;
    expect(await (await rf(server.url)).text()).toBe('fine');
    expect(rf.breakers?.get(server.url).options.window).toEqual({ kind: 'consecutive', failures: 3 });
  });
});
