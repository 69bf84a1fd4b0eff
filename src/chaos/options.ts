import type { Clock, RandomSource } from '../core/clock.js';
import {
  COMMON_KEYS,
  type CommonOptions,
  resolveClock,
  resolveName,
  resolveRandom,
} from '../core/common-options.js';
import { boolean, checkKeys, number } from '../core/options.js';

export interface FaultOptions extends CommonOptions {
  /** Probability that a call gets the fault, in [0, 1]. Can be changed at run time with `setRate`. */
  rate: number;
  /** Start enabled (default true); switch at run time with `enable()` / `disable()`. */
  enabled?: boolean;
  /** Random source; pass `seededRandom(seed)` for repeatable runs. */
  random?: RandomSource;
}

export interface ResolvedFaultOptions {
  readonly name: string;
  readonly rate: number;
  readonly enabled: boolean;
  readonly random: RandomSource;
  readonly clock: Clock;
}

export const FAULT_KEYS = [...COMMON_KEYS, 'rate', 'enabled', 'random'];

export function resolveRate(path: string, value: unknown): number {
  return number(path, value, 0, { min: 0, max: 1 });
}

export function resolveFaultOptions(
  path: string,
  options: FaultOptions,
  extra: readonly string[],
): ResolvedFaultOptions {
  checkKeys(path, options, [...FAULT_KEYS, ...extra]);
  if (options?.rate === undefined) resolveRate(`${path}.rate`, Number.NaN);
  return {
    name: resolveName(path, options.name, path),
    rate: resolveRate(`${path}.rate`, options.rate),
    enabled: boolean(`${path}.enabled`, options.enabled, true),
    random: resolveRandom(path, options.random),
    clock: resolveClock(path, options.clock),
  };
}
