import { type Clock, type RandomSource, systemClock, systemRandom } from './clock.js';
import { invalid, string } from './options.js';

/** Options every policy takes. */
export interface CommonOptions {
  /** Names the policy in errors, events and metrics. */
  name?: string;
  /** Time source; inject a FakeClock in tests. Every policy of one pipeline should share one clock. */
  clock?: Clock;
}

export const COMMON_KEYS = ['name', 'clock'] as const;

export function resolveName(path: string, value: unknown, fallback: string): string {
  return string(`${path}.name`, value, fallback);
}

export function resolveClock(path: string, value: unknown): Clock {
  if (value === undefined) return systemClock;
  const clock = value as Partial<Clock>;
  if (
    typeof clock !== 'object' ||
    clock === null ||
    typeof clock.now !== 'function' ||
    typeof clock.setTimer !== 'function' ||
    typeof clock.clearTimer !== 'function'
  ) {
    invalid(`${path}.clock`, 'a Clock (now, setTimer, clearTimer)', value);
  }
  return value as Clock;
}

export function resolveRandom(path: string, value: unknown): RandomSource {
  if (value === undefined) return systemRandom;
  if (typeof value !== 'function') invalid(`${path}.random`, 'a function returning numbers in [0, 1)', value);
  return value as RandomSource;
}
