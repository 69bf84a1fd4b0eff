import type { Clock } from '../core/clock.js';
import { COMMON_KEYS, type CommonOptions, resolveClock, resolveName } from '../core/common-options.js';
import { checkKeys, invalid, MAX_TIMER_MS, number, oneOf } from '../core/options.js';

export type TimeoutStrategy = 'aggressive' | 'cooperative';

export interface TimeoutOptions extends CommonOptions {
  /** Budget of one execution, in milliseconds. */
  durationMs: number;
  /**
   * `aggressive` (default): the call rejects with TimeoutError at the deadline even if the work ignores
   * its signal; the work is still aborted and anything inside keeps its slots until it really ends.
   * `cooperative`: the signal is aborted at the deadline and the call settles when the work does; a
   * failure after the deadline becomes TimeoutError, a success is returned. Cheaper, but a function
   * that ignores its signal is not bounded.
   */
  strategy?: TimeoutStrategy;
}

export interface ResolvedTimeoutOptions {
  readonly name: string;
  readonly durationMs: number;
  readonly strategy: TimeoutStrategy;
  readonly clock: Clock;
}

const KEYS = [...COMMON_KEYS, 'durationMs', 'strategy'];
// setTimeout clamps delays above 2^31-1 ms to 1 ms: refuse them rather than fire at once.

export function resolveTimeoutOptions(input: number | TimeoutOptions): ResolvedTimeoutOptions {
  const options: TimeoutOptions = typeof input === 'number' ? { durationMs: input } : input;
  checkKeys('timeout', options, KEYS);
  if (options?.durationMs === undefined) invalid('timeout.durationMs', 'a number of milliseconds', undefined);
  return Object.freeze({
    name: resolveName('timeout', options.name, 'timeout'),
    durationMs: number('timeout.durationMs', options.durationMs, 0, {
      min: 0,
      max: MAX_TIMER_MS,
      exclusiveMin: true,
    }),
    strategy: oneOf('timeout.strategy', options.strategy, 'aggressive', [
      'aggressive',
      'cooperative',
    ] as const),
    clock: resolveClock('timeout', options.clock),
  });
}
