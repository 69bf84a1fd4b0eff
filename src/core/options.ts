import { BW_ERR_INVALID_OPTION } from './errors.js';

// Validation runs once, at construction. Messages name the option path, the allowed range and the
// value received, so a typo or a unit mistake fails loudly instead of misbehaving at 3 a.m.

export type InvalidOptionError = (RangeError | TypeError) & {
  code: typeof BW_ERR_INVALID_OPTION;
  option: string;
};

function show(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'function') return 'a function';
  if (Array.isArray(value)) return 'an array';
  if (value === null) return 'null';
  if (typeof value === 'object') return 'an object';
  return String(value);
}

function fail(kind: 'range' | 'type', path: string, expected: string, received: unknown): never {
  const message = `breakwater: option "${path}" must be ${expected}, received ${show(received)}`;
  const error = (kind === 'range' ? new RangeError(message) : new TypeError(message)) as InvalidOptionError;
  error.code = BW_ERR_INVALID_OPTION;
  error.option = path;
  throw error;
}

export { MAX_TIMER_MS } from './clock.js';

/** Rejects keys a policy does not know (a misspelt `maxRetry` must not silently mean "default"). */
export function checkKeys(path: string, options: unknown, allowed: readonly string[]): void {
  if (options === undefined) return;
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    fail('type', path, 'an options object', options);
  }
  for (const key of Object.keys(options)) {
    if (!allowed.includes(key)) {
      fail('type', `${path}.${key}`, `one of the known options (${allowed.join(', ')})`, 'an unknown option');
    }
  }
}

export interface NumberRange {
  min?: number;
  max?: number;
  /** The minimum itself is not allowed (e.g. a ratio in (0, 1]). */
  exclusiveMin?: boolean;
  /** The maximum itself is not allowed (e.g. an objective in (0, 1)). */
  exclusiveMax?: boolean;
  integer?: boolean;
  /** Infinity allowed (e.g. "no limit"). */
  infinite?: boolean;
}

function describe(range: NumberRange): string {
  const kind = range.integer ? 'an integer' : 'a number';
  const lo = range.min === undefined ? '-∞' : String(range.min);
  const hi = range.max === undefined ? (range.infinite ? 'Infinity' : '∞') : String(range.max);
  const open = range.exclusiveMin ? '(' : '[';
  const close = (range.infinite || range.max !== undefined) && !range.exclusiveMax ? ']' : ')';
  return `${kind} in ${open}${lo}, ${hi}${close}`;
}

export function number(path: string, value: unknown, fallback: number, range: NumberRange = {}): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || Number.isNaN(value)) fail('type', path, describe(range), value);
  if (value === Number.POSITIVE_INFINITY && range.infinite) return value;
  const ok =
    Number.isFinite(value) &&
    (!range.integer || Number.isInteger(value)) &&
    (range.min === undefined || (range.exclusiveMin ? value > range.min : value >= range.min)) &&
    (range.max === undefined || (range.exclusiveMax ? value < range.max : value <= range.max));
  if (!ok) fail('range', path, describe(range), value);
  return value;
}

export function boolean(path: string, value: unknown, fallback: boolean): boolean {
  if (value === undefined) return fallback;
  if (typeof value !== 'boolean') fail('type', path, 'a boolean', value);
  return value;
}

export function string(path: string, value: unknown, fallback: string): string {
  if (value === undefined) return fallback;
  if (typeof value !== 'string' || value.length === 0) fail('type', path, 'a non-empty string', value);
  return value;
}

export function oneOf<T extends string>(path: string, value: unknown, fallback: T, allowed: readonly T[]): T {
  if (value === undefined) return fallback;
  if (!allowed.includes(value as T))
    fail('range', path, `one of ${allowed.map((a) => `"${a}"`).join(', ')}`, value);
  return value as T;
}

export function func<F extends Function>(path: string, value: unknown, fallback: F): F;
export function func<F extends Function>(path: string, value: unknown, fallback?: F): F | undefined;
export function func<F extends Function>(path: string, value: unknown, fallback?: F): F | undefined {
  if (value === undefined) return fallback;
  if (typeof value !== 'function') fail('type', path, 'a function', value);
  return value as F;
}

/** Throws the typed option error for cases the helpers above do not cover. */
export function invalid(
  path: string,
  expected: string,
  received: unknown,
  kind: 'range' | 'type' = 'type',
): never {
  return fail(kind, path, expected, received);
}
