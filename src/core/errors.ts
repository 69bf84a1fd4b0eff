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
export const BW_ERR_THROTTLED = 'BW_ERR_THROTTLED';

function brand(
  cls: abstract new (...args: never[]) => Error,
  name: string,
  describe?: (e: never) => string,
): void {
  const key = Symbol.for(`breakwater.error.${name}`);
  const proto = cls.prototype as object;
  Object.defineProperty(proto, key, { value: true });
  Object.defineProperty(proto, 'name', { value: name, writable: true, configurable: true });
  Object.defineProperty(cls, Symbol.hasInstance, {
    value: (value: unknown) =>
      typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[key] === true,
  });
  if (describe !== undefined) {
    // Errors built by `create()` have no own message or stack: derive them on demand, so a rejection
    // costs no string building unless someone reads it. Errors built with `new` own both and shadow these.
    Object.defineProperty(proto, 'message', {
      get(this: never) {
        return describe(this);
      },
      configurable: true,
    });
    Object.defineProperty(proto, 'cause', {
      get(this: Record<symbol, unknown>) {
        return this[CAUSE];
      },
      configurable: true,
    });
    Object.defineProperty(proto, 'stack', {
      get(this: Error) {
        return `${this.name}: ${this.message}\n    (created without a stack trace: per-call rejections skip it)`;
      },
      configurable: true,
    });
  }
}

/**
 * Builds a per-call error without running the Error constructor. On Node 20 `new Error()` costs about
 * 0.5 us even with `Error.stackTraceLimit = 0` (and toggling that limit costs several us more), while a
 * rejection under overload must be as cheap as the call it replaces. The result inherits from the class
 * prototype, so `instanceof`, `name`, `code`, `message`, `cause` and the class fields all work; it has
 * no native error internals (util.types.isNativeError() is false) and its `stack` is one line.
 */
function cheap<T extends Error>(cls: abstract new (...args: never[]) => T, cause: unknown): T {
  const error = Object.create(cls.prototype) as T;
  // Read through the prototype's `cause` getter: a symbol key stays out of JSON and Object.keys like
  // a native cause, without the cost of defineProperty on every rejection.
  if (cause !== undefined) (error as unknown as Record<symbol, unknown>)[CAUSE] = cause;
  return error;
}

const CAUSE = Symbol('breakwater.cause');

type Writable<T> = { -readonly [K in keyof T]: T[K] };

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
    super(describeTimeout({ timeoutMs, policy }), BW_ERR_TIMEOUT, options);
    this.timeoutMs = timeoutMs;
    this.policy = policy;
  }

  /** Created at each deadline, so built without a stack trace (it would only show timer internals). */
  static create(timeoutMs: number, policy: string, cause?: unknown): TimeoutError {
    const e = cheap(TimeoutError, cause) as Writable<TimeoutError>;
    e.code = BW_ERR_TIMEOUT;
    e.timeoutMs = timeoutMs;
    e.policy = policy;
    return e;
  }
}
function describeTimeout(e: { timeoutMs: number; policy: string }): string {
  return `${e.policy}: timed out after ${e.timeoutMs} ms`;
}
brand(TimeoutError, 'TimeoutError', describeTimeout);

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
      describeCircuit({ policy, state, retryAfterMs }),
      state === 'isolated' ? BW_ERR_CIRCUIT_ISOLATED : BW_ERR_CIRCUIT_OPEN,
      policy,
      retryAfterMs,
      options,
    );
    this.state = state;
  }

  /** Per-call rejection: no stack trace (see `cheap`); `cause` is the failure that opened the circuit. */
  static create(
    policy: string,
    state: CircuitStateName,
    retryAfterMs?: number,
    cause?: unknown,
  ): BrokenCircuitError {
    const e = cheap(BrokenCircuitError, cause) as Writable<BrokenCircuitError>;
    e.code = BW_ERR_CIRCUIT_OPEN;
    e.policy = policy;
    e.retryAfterMs = retryAfterMs;
    e.state = state;
    return e;
  }
}
function describeCircuit(e: {
  policy: string;
  state: CircuitStateName;
  retryAfterMs: number | undefined;
}): string {
  const after = e.retryAfterMs === undefined ? '' : `, retry after ${Math.ceil(e.retryAfterMs)} ms`;
  return `${e.policy}: circuit is ${e.state}${after}`;
}
brand(BrokenCircuitError, 'BrokenCircuitError', describeCircuit);

/** The circuit was isolated by hand: it stays open until every isolation handle is released. */
export class IsolatedCircuitError extends BrokenCircuitError {
  constructor(policy: string, options?: ErrorOptions) {
    super(policy, 'isolated', undefined, options);
  }

  static override create(policy: string): IsolatedCircuitError {
    const e = cheap(IsolatedCircuitError, undefined) as Writable<IsolatedCircuitError>;
    e.code = BW_ERR_CIRCUIT_ISOLATED;
    e.policy = policy;
    e.retryAfterMs = undefined;
    e.state = 'isolated';
    return e;
  }
}
brand(IsolatedCircuitError, 'IsolatedCircuitError', describeCircuit);

export type BulkheadRejectReason = 'full' | 'wait-timeout';

/** The bulkhead had no free slot and no queue space (`full`), or the call waited too long (`wait-timeout`). */
export class BulkheadRejectedError extends RejectedError {
  readonly reason: BulkheadRejectReason;

  constructor(policy: string, reason: BulkheadRejectReason, options?: ErrorOptions) {
    super(describeBulkhead({ policy, reason }), BW_ERR_BULKHEAD_REJECTED, policy, undefined, options);
    this.reason = reason;
  }

  static create(policy: string, reason: BulkheadRejectReason): BulkheadRejectedError {
    const e = cheap(BulkheadRejectedError, undefined) as Writable<BulkheadRejectedError>;
    e.code = BW_ERR_BULKHEAD_REJECTED;
    e.policy = policy;
    e.retryAfterMs = undefined;
    e.reason = reason;
    return e;
  }
}
function describeBulkhead(e: { policy: string; reason: BulkheadRejectReason }): string {
  return `${e.policy}: bulkhead rejected the call (${e.reason})`;
}
brand(BulkheadRejectedError, 'BulkheadRejectedError', describeBulkhead);

/** A rate limiter had no permit for the call within its allowed wait. */
export class RateLimitedError extends RejectedError {
  constructor(policy: string, retryAfterMs: number, options?: ErrorOptions) {
    super(describeRateLimit({ policy, retryAfterMs }), BW_ERR_RATE_LIMITED, policy, retryAfterMs, options);
  }

  static create(policy: string, retryAfterMs: number): RateLimitedError {
    const e = cheap(RateLimitedError, undefined) as Writable<RateLimitedError>;
    e.code = BW_ERR_RATE_LIMITED;
    e.policy = policy;
    e.retryAfterMs = retryAfterMs;
    return e;
  }
}
function describeRateLimit(e: { policy: string; retryAfterMs: number | undefined }): string {
  return `${e.policy}: rate limit reached, retry after ${Math.ceil(e.retryAfterMs ?? 0)} ms`;
}
brand(RateLimitedError, 'RateLimitedError', describeRateLimit);

/**
 * Client-side adaptive throttling refused the call locally: the backend has recently been rejecting
 * requests, so a share of calls is dropped before it is sent (see docs/adaptive.md).
 */
export class ThrottledError extends RejectedError {
  /** The local rejection probability when the call was refused, in (0, 1). */
  readonly probability: number;

  constructor(policy: string, probability: number, options?: ErrorOptions) {
    super(describeThrottled({ policy, probability }), BW_ERR_THROTTLED, policy, undefined, options);
    this.probability = probability;
  }

  static create(policy: string, probability: number): ThrottledError {
    const e = cheap(ThrottledError, undefined) as Writable<ThrottledError>;
    e.code = BW_ERR_THROTTLED;
    e.policy = policy;
    e.retryAfterMs = undefined;
    e.probability = probability;
    return e;
  }
}
function describeThrottled(e: { policy: string; probability: number }): string {
  const share = Math.round(e.probability * 100);
  return `${e.policy}: throttled locally (rejecting ${share}% of calls while the backend rejects requests)`;
}
brand(ThrottledError, 'ThrottledError', describeThrottled);
