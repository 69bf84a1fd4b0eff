import type { Clock } from './clock.js';
import { resolveClock } from './common-options.js';
import { checkKeys, invalid, MAX_TIMER_MS, number } from './options.js';
import { RollingCounts } from './rolling-counts.js';

/**
 * Caps retries (and hedges) across every policy that shares it, so a downstream outage cannot turn
 * each client call into maxAttempts calls. Retry and hedging policies take it as `budget`.
 */
export interface RetryBudget {
  readonly kind: 'ratio' | 'token';
  /** An execution started (its first attempt). */
  recordRequest(): void;
  /** An attempt ended; `failed` when the policy judged it a failure. */
  recordOutcome(failed: boolean): void;
  /** Asks for one retry or hedge: true when the budget allows it (and spends it). */
  tryRetry(): boolean;
  snapshot(): RetryBudgetSnapshot;
}

export interface RetryBudgetSnapshot {
  readonly kind: 'ratio' | 'token';
  /** Retries the budget would allow right now. */
  readonly available: number;
  /** Ratio budget: first attempts and retries in the window. Token budget: the token count. */
  readonly requests?: number;
  readonly retries?: number;
  readonly tokens?: number;
  /** Retries refused since creation. */
  readonly denied: number;
}

export interface RatioBudgetOptions {
  /** Retries allowed per first attempt, over the window. Default 0.2 (at most 20% extra load). */
  ratio?: number;
  /** Retries always allowed per second, so quiet clients can still retry. Default 10. */
  minPerSecond?: number;
  /** Window over which requests and retries are counted, ms. Default 10 000. */
  windowMs?: number;
  clock?: Clock;
}

export interface TokenBudgetOptions {
  /** Token capacity; retries are allowed while more than half remain. Default 10. */
  maxTokens?: number;
  /** Tokens a successful attempt adds back (a failed one removes 1). Default 0.1. */
  tokenRatio?: number;
}

const BUCKETS = 10;
/** Counters of the ratio budget's window. */
const REQUESTS = 0;
const RETRIES = 1;

/**
 * Finagle-style budget: over a sliding window, retries <= ratio x first attempts + minPerSecond x
 * window seconds. The window is 10 buckets rotated lazily from the clock.
 */
export function retryBudget(options: RatioBudgetOptions = {}): RetryBudget {
  checkKeys('retryBudget', options, ['ratio', 'minPerSecond', 'windowMs', 'clock']);
  return new RatioBudget(
    number('retryBudget.ratio', options.ratio, 0.2, { min: 0 }),
    number('retryBudget.minPerSecond', options.minPerSecond, 10, { min: 0 }),
    number('retryBudget.windowMs', options.windowMs, 10_000, { min: BUCKETS, max: MAX_TIMER_MS }),
    resolveClock('retryBudget', options.clock),
  );
}

/**
 * gRPC-style throttle (gRFC A6): tokens start at maxTokens, each failed attempt removes one, each
 * success adds tokenRatio; retries are allowed while tokens > maxTokens / 2. No clock involved.
 */
export function tokenBudget(options: TokenBudgetOptions = {}): RetryBudget {
  checkKeys('tokenBudget', options, ['maxTokens', 'tokenRatio']);
  return new TokenBudget(
    number('tokenBudget.maxTokens', options.maxTokens, 10, { min: 1, max: 1_000_000 }),
    number('tokenBudget.tokenRatio', options.tokenRatio, 0.1, { min: 0, max: 1, exclusiveMin: true }),
  );
}

class RatioBudget implements RetryBudget {
  readonly kind = 'ratio';
  readonly #ratio: number;
  readonly #reserve: number;
  readonly #clock: Clock;
  readonly #window: RollingCounts;
  #denied = 0;

  constructor(ratio: number, minPerSecond: number, windowMs: number, clock: Clock) {
    this.#ratio = ratio;
    this.#reserve = (minPerSecond * windowMs) / 1000;
    this.#window = new RollingCounts(2, BUCKETS, windowMs / BUCKETS);
    this.#clock = clock;
  }

  #available(): number {
    const t = this.#window.totals;
    return Math.floor(this.#ratio * t[REQUESTS]! + this.#reserve - t[RETRIES]!);
  }

  recordRequest(): void {
    this.#window.advance(this.#clock.now());
    this.#window.add(REQUESTS);
  }

  recordOutcome(): void {}

  tryRetry(): boolean {
    this.#window.advance(this.#clock.now());
    if (this.#available() < 1) {
      this.#denied++;
      return false;
    }
    this.#window.add(RETRIES);
    return true;
  }

  snapshot(): RetryBudgetSnapshot {
    const w = this.#window;
    w.advance(this.#clock.now());
    return {
      kind: this.kind,
      available: Math.max(0, this.#available()),
      requests: w.totals[REQUESTS]!,
      retries: w.totals[RETRIES]!,
      denied: this.#denied,
    };
  }
}

class TokenBudget implements RetryBudget {
  readonly kind = 'token';
  readonly #max: number;
  readonly #ratio: number;
  #tokens: number;
  #denied = 0;

  constructor(max: number, ratio: number) {
    this.#max = max;
    this.#ratio = ratio;
    this.#tokens = max;
  }

  recordRequest(): void {}

  recordOutcome(failed: boolean): void {
    this.#tokens = failed ? Math.max(0, this.#tokens - 1) : Math.min(this.#max, this.#tokens + this.#ratio);
  }

  tryRetry(): boolean {
    if (this.#tokens > this.#max / 2) return true;
    this.#denied++;
    return false;
  }

  snapshot(): RetryBudgetSnapshot {
    return {
      kind: this.kind,
      available: this.#tokens > this.#max / 2 ? Math.ceil(this.#tokens - this.#max / 2) : 0,
      tokens: this.#tokens,
      denied: this.#denied,
    };
  }
}

/** A budget option: undefined, or an object with the budget's methods (yours or breakwater's). */
export function resolveBudget(path: string, value: unknown): RetryBudget | undefined {
  if (value === undefined) return undefined;
  const b = value as Partial<RetryBudget> | null;
  if (
    typeof b !== 'object' ||
    b === null ||
    typeof b.tryRetry !== 'function' ||
    typeof b.recordRequest !== 'function'
  ) {
    invalid(path, 'a RetryBudget (retryBudget() or tokenBudget())', value);
  }
  return value as RetryBudget;
}
