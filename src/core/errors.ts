// Every error breakwater throws has a fixed `name` (its class), a stable `code` and keeps `cause`.
// `instanceof` works across duplicate installs (ESM + CJS copies, nested node_modules): each class
// brands its prototype with a `Symbol.for` key and checks the brand instead of the prototype chain.

export const BW_ERR = 'BW_ERR';
export const BW_ERR_INVALID_OPTION = 'BW_ERR_INVALID_OPTION';
export const BW_ERR_TIMEOUT = 'BW_ERR_TIMEOUT';
export const BW_ERR_REJECTED = 'BW_ERR_REJECTED';
export const BW_ERR_CIRCUIT_OPEN = 'BW_ERR_CIRCUIT_OPEN';
export const BW_ERR_CIRCUIT_ISOLATED = 'BW_ERR_CIRCUIT_ISOLATED';
export const BW_ERR_BULKHEAD_REJECTED = 'BW_ERR_BULKHEAD_REJECTED';
export const BW_ERR_RATE_LIMITED = 'BW_ERR_RATE_LIMITED';

function brand(cls: abstract new (...args: never[]) => Error, name: string): void {
  const key = Symbol.for(`breakwater.error.${name}`);
  Object.defineProperty(cls.prototype, key, { value: true });
  Object.defineProperty(cls.prototype, 'name', { value: name, writable: true, configurable: true });
  Object.defineProperty(cls, Symbol.hasInstance, {
    value: (value: unknown) =>
      typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[key] === true,
  });
}

/** Builds an error without capturing a stack trace: used for rejections that happen per call under load. */
function withoutStack<T>(make: () => T): T {
  const limit = Error.stackTraceLimit;
  Error.stackTraceLimit = 0;
  try {
    return make();
  } finally {
    Error.stackTraceLimit = limit;
  }
}

export interface ErrorOptions {
  cause?: unknown;
}

/** Base class of every error breakwater throws. */
export class BreakwaterError extends Error {
  declare readonly name: string;
  readonly code: string;

  constructor(message: string, code: string = BW_ERR, options?: ErrorOptions) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
  }
}
brand(BreakwaterError, 'BreakwaterError');

/** A call ran past its deadline. The caller's own abort never produces this error. */
export class TimeoutError extends BreakwaterError {
  /** The budget that ran out, in milliseconds. */
  readonly timeoutMs: number;
  /** Name of the policy whose deadline passed. */
  readonly policy: string;

  constructor(timeoutMs: number, policy: string, options?: ErrorOptions) {
    super(`${policy}: timed out after ${timeoutMs} ms`, BW_ERR_TIMEOUT, options);
    this.timeoutMs = timeoutMs;
    this.policy = policy;
  }

  /** Created at each deadline, so built without a stack trace (it would only show timer internals). */
  static create(timeoutMs: number, policy: string, cause?: unknown): TimeoutError {
    return withoutStack(
      () => new TimeoutError(timeoutMs, policy, cause === undefined ? undefined : { cause }),
    );
  }
}
brand(TimeoutError, 'TimeoutError');

/**
 * A policy refused to run the call (open circuit, full bulkhead, rate limit). Rejections are load
 * shedding, not downstream failures: by default an outer circuit breaker ignores them.
 */
export class RejectedError extends BreakwaterError {
  /** Name of the rejecting policy. */
  readonly policy: string;
  /** Milliseconds until the call may be tried again, when the policy knows. */
  readonly retryAfterMs: number | undefined;

  constructor(message: string, code: string, policy: string, retryAfterMs?: number, options?: ErrorOptions) {
    super(message, code, options);
    this.policy = policy;
    this.retryAfterMs = retryAfterMs;
  }
}
brand(RejectedError, 'RejectedError');

export type CircuitStateName = 'closed' | 'open' | 'half-open' | 'isolated' | 'disabled' | 'metrics-only';

/** The circuit is open (or half-open with every probe taken): the call was not made. */
export class BrokenCircuitError extends RejectedError {
  /** The state the breaker was in when it rejected. */
  readonly state: CircuitStateName;

  constructor(policy: string, state: CircuitStateName, retryAfterMs?: number, options?: ErrorOptions) {
    super(
      `${policy}: circuit is ${state}${retryAfterMs === undefined ? '' : `, retry after ${Math.ceil(retryAfterMs)} ms`}`,
      state === 'isolated' ? BW_ERR_CIRCUIT_ISOLATED : BW_ERR_CIRCUIT_OPEN,
      policy,
      retryAfterMs,
      options,
    );
    this.state = state;
  }

  static create(
    policy: string,
    state: CircuitStateName,
    retryAfterMs?: number,
    cause?: unknown,
  ): BrokenCircuitError {
    return withoutStack(
      () => new BrokenCircuitError(policy, state, retryAfterMs, cause === undefined ? undefined : { cause }),
    );
  }
}
brand(BrokenCircuitError, 'BrokenCircuitError');

/** The circuit was isolated by hand: it stays open until every isolation handle is released. */
export class IsolatedCircuitError extends BrokenCircuitError {
  constructor(policy: string, options?: ErrorOptions) {
    super(policy, 'isolated', undefined, options);
  }

  static override create(policy: string): IsolatedCircuitError {
    return withoutStack(() => new IsolatedCircuitError(policy));
  }
}
brand(IsolatedCircuitError, 'IsolatedCircuitError');

export type BulkheadRejectReason = 'full' | 'wait-timeout';

/** The bulkhead had no free slot and no queue space (`full`), or the call waited too long (`wait-timeout`). */
export class BulkheadRejectedError extends RejectedError {
  readonly reason: BulkheadRejectReason;

  constructor(policy: string, reason: BulkheadRejectReason, options?: ErrorOptions) {
    super(
      `${policy}: bulkhead rejected the call (${reason})`,
      BW_ERR_BULKHEAD_REJECTED,
      policy,
      undefined,
      options,
    );
    this.reason = reason;
  }

  static create(policy: string, reason: BulkheadRejectReason): BulkheadRejectedError {
    return withoutStack(() => new BulkheadRejectedError(policy, reason));
  }
}
brand(BulkheadRejectedError, 'BulkheadRejectedError');

/** A rate limiter had no permit for the call within its allowed wait. */
export class RateLimitedError extends RejectedError {
  constructor(policy: string, retryAfterMs: number, options?: ErrorOptions) {
    super(
      `${policy}: rate limit reached, retry after ${Math.ceil(retryAfterMs)} ms`,
      BW_ERR_RATE_LIMITED,
      policy,
      retryAfterMs,
      options,
    );
  }

  static create(policy: string, retryAfterMs: number): RateLimitedError {
    return withoutStack(() => new RateLimitedError(policy, retryAfterMs));
  }
}
brand(RateLimitedError, 'RateLimitedError');
