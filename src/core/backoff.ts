import type { RandomSource } from './clock.js';
import type { Failure } from './failure.js';
import { checkKeys, number, oneOf } from './options.js';

/**
 * A delay curve between attempts. Immutable and stateless: the state that decorrelated jitter needs
 * (the previous delay) is passed in, so one backoff can serve any number of concurrent executions.
 */
export interface Backoff {
  /**
   * Delay before the next attempt, in ms. `attempt` is the attempt that just failed (1 for the first
   * call), `previousMs` the delay used before it (0 before the first retry), `capMs` the retry's
   * `maxDelayMs`, which every curve respects, `failure` what the attempt ended with.
   */
  delay(
    attempt: number,
    previousMs: number,
    random: RandomSource,
    capMs: number,
    failure: Failure<never>,
  ): number;
}

export type Jitter = 'none' | 'full' | 'equal' | 'decorrelated';

export interface ExponentialOptions {
  /** Delay before the first retry (before jitter), ms. Default 100. */
  initialMs?: number;
  /** Growth per attempt. Default 2. */
  factor?: number;
  /**
   * Default 'full'. Formulas (base b, factor f, attempt n, cap c, uniform random U):
   * none: min(c, b·f^(n-1)); full: U(0, min(c, b·f^(n-1))); equal: t/2 + U(0, t/2) with
   * t = min(c, b·f^(n-1)); decorrelated: min(c, U(b, 3·previous)), previous starting at b.
   */
  jitter?: Jitter;
}

/** The same delay every time. */
export function constant(delayMs: number): Backoff {
  const ms = number('constant.delayMs', delayMs, 0, { min: 0 });
  return Object.freeze({
    delay: (_a: number, _p: number, _r: RandomSource, cap: number) => Math.min(ms, cap),
  });
}

/** initialMs, initialMs + stepMs, initialMs + 2·stepMs, ... */
export function linear(options: { initialMs?: number; stepMs?: number } = {}): Backoff {
  checkKeys('linear', options, ['initialMs', 'stepMs']);
  const initial = number('linear.initialMs', options.initialMs, 100, { min: 0 });
  const step = number('linear.stepMs', options.stepMs, initial, { min: 0 });
  return Object.freeze({
    delay: (attempt: number, _p: number, _r: RandomSource, cap: number) =>
      Math.min(cap, initial + step * (attempt - 1)),
  });
}

/** Exponential growth with a choice of jitter (see `ExponentialOptions.jitter`). */
export function exponential(options: ExponentialOptions = {}): Backoff {
  checkKeys('exponential', options, ['initialMs', 'factor', 'jitter']);
  const base = number('exponential.initialMs', options.initialMs, 100, { min: 0 });
  const factor = number('exponential.factor', options.factor, 2, { min: 1 });
  const jitter = oneOf('exponential.jitter', options.jitter, 'full', [
    'none',
    'full',
    'equal',
    'decorrelated',
  ] as const);
  // Math.pow overflows to Infinity for large attempts; min() with the cap keeps the result finite.
  const ceiling = (attempt: number, cap: number) =>
    base === 0 ? 0 : Math.min(cap, base * factor ** (attempt - 1));
  let delay: Backoff['delay'];
  switch (jitter) {
    case 'none':
      delay = (attempt, _p, _r, cap) => ceiling(attempt, cap);
      break;
    case 'full':
      delay = (attempt, _p, random, cap) => random() * ceiling(attempt, cap);
      break;
    case 'equal':
      delay = (attempt, _p, random, cap) => {
        const t = ceiling(attempt, cap);
        return t / 2 + (random() * t) / 2;
      };
      break;
    case 'decorrelated':
      delay = (_a, previous, random, cap) => {
        const low = Math.min(base, cap);
        const high = Math.min(cap, Math.max(low, 3 * (previous > 0 ? previous : base)));
        return low + random() * (high - low);
      };
      break;
  }
  return Object.freeze({ delay });
}

export interface RetryDelayInfo<R = unknown> {
  /** The attempt that just failed (1 for the first call). */
  readonly attempt: number;
  readonly failure: Failure<R>;
  /** Delay used before the failed attempt (0 before the first retry). */
  readonly previousDelayMs: number;
}

/** A curve from a function. NaN or negative results mean no delay; the retry's cap still applies. */
export function custom<R = unknown>(fn: (info: RetryDelayInfo<R>) => number): Backoff {
  return Object.freeze({
    delay: (
      attempt: number,
      previousDelayMs: number,
      _r: RandomSource,
      cap: number,
      failure: Failure<never>,
    ) => {
      const ms = fn({ attempt, failure, previousDelayMs });
      return ms > 0 ? Math.min(ms, cap) : 0;
    },
  });
}
