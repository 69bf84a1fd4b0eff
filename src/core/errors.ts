// Every error breakwater throws has a fixed `name` (its class), a stable `code` and keeps `cause`.
// `instanceof` works across duplicate installs (ESM + CJS copies, nested node_modules): each class
// brands its prototype with a `Symbol.for` key and checks the brand instead of the prototype chain.
// One table row per code (`ERRORS`) holds the name, brand and message builder; `defineError()` turns
// a row into its class's brand, `name`, lazy `message` and `instanceof`.

export const BW_ERR = 'BW_ERR';
export const BW_ERR_INVALID_OPTION = 'BW_ERR_INVALID_OPTION';
export const BW_ERR_TIMEOUT = 'BW_ERR_TIMEOUT';
export const BW_ERR_REJECTED = 'BW_ERR_REJECTED';
export const BW_ERR_CIRCUIT_OPEN = 'BW_ERR_CIRCUIT_OPEN';
export const BW_ERR_CIRCUIT_ISOLATED = 'BW_ERR_CIRCUIT_ISOLATED';
export const BW_ERR_BULKHEAD_REJECTED = 'BW_ERR_BULKHEAD_REJECTED';
export const BW_ERR_RATE_LIMITED = 'BW_ERR_RATE_LIMITED';
export const BW_ERR_THROTTLED = 'BW_ERR_THROTTLED';

export type CircuitStateName = 'closed' | 'open' | 'half-open' | 'isolated' | 'disabled' | 'metrics-only';
export type BulkheadRejectReason = 'full' | 'wait-timeout';

/** One error code: what its class is built from. */
export interface ErrorRow<Fields = never> {
  /** The stable `code`; also the row's key in `ERRORS`. */
  readonly code: string;
  /** The class name, which is its errors' `name` (for InvalidOptionError, the exported type's name). */
  readonly name: string;
  /** `Symbol.for('breakwater.error.<name>')`: the brand `instanceof` checks, the same in every copy. */
  readonly brand: symbol;
  /** Builds the message from the error's fields (absent where the message is given to the constructor). */
  readonly message: ((fields: Fields) => string) | undefined;
}

/** A row for a code; integrations define their errors' rows with it too. */
export function errorRow<Fields = never>(
  code: string,
  name: string,
  message?: (fields: Fields) => string,
): ErrorRow<Fields> {
  return Object.freeze({ code, name, brand: Symbol.for(`breakwater.error.${name}`), message });
}

function describeTimeout(e: { policy: string; timeoutMs: number }): string {
  return `${e.policy}: timed out after ${e.timeoutMs} ms`;
}

function describeCircuit(e: {
  policy: string;
  state: CircuitStateName;
  retryAfterMs?: number | undefined;
}): string {
  const after = e.retryAfterMs === undefined ? '' : `, retry after ${Math.ceil(e.retryAfterMs)} ms`;
  return `${e.policy}: circuit is ${e.state}${after}`;
}

function describeBulkhead(e: { policy: string; reason: BulkheadRejectReason }): string {
  return `${e.policy}: bulkhead rejected the call (${e.reason})`;
}

function describeRateLimit(e: { policy: string; retryAfterMs?: number | undefined }): string {
  return `${e.policy}: rate limit reached, retry after ${Math.ceil(e.retryAfterMs ?? 0)} ms`;
}

function describeThrottled(e: { policy: string; probability: number }): string {
  const share = Math.round(e.probability * 100);
  return `${e.policy}: throttled locally (rejecting ${share}% of calls while the backend rejects requests)`;
}

/**
 * Every code breakwater's core throws, keyed by code. `ERRORS[error.code].message(fields)` rebuilds a
 * message from an error's fields, e.g. after a structured clone (which keeps fields, not the message).
 */
export const ERRORS = {
  [BW_ERR]: errorRow(BW_ERR, 'BreakwaterError'),
  [BW_ERR_TIMEOUT]: errorRow(BW_ERR_TIMEOUT, 'TimeoutError', describeTimeout),
  [BW_ERR_REJECTED]: errorRow(BW_ERR_REJECTED, 'RejectedError'),
  [BW_ERR_CIRCUIT_OPEN]: errorRow(BW_ERR_CIRCUIT_OPEN, 'BrokenCircuitError', describeCircuit),
  [BW_ERR_CIRCUIT_ISOLATED]: errorRow(BW_ERR_CIRCUIT_ISOLATED, 'IsolatedCircuitError', describeCircuit),
  [BW_ERR_BULKHEAD_REJECTED]: errorRow(BW_ERR_BULKHEAD_REJECTED, 'BulkheadRejectedError', describeBulkhead),
  [BW_ERR_RATE_LIMITED]: errorRow(BW_ERR_RATE_LIMITED, 'RateLimitedError', describeRateLimit),
  [BW_ERR_THROTTLED]: errorRow(BW_ERR_THROTTLED, 'ThrottledError', describeThrottled),
  // Not a class: a native RangeError or TypeError with this code and `option` (see core/options.ts).
  [BW_ERR_INVALID_OPTION]: errorRow(BW_ERR_INVALID_OPTION, 'InvalidOptionError'),
} as const;

const ordinaryHasInstance = Function.prototype[Symbol.hasInstance];
// Prototypes `defineError()` named: below one of them, a user's subclass is named after itself.
const named = new WeakSet<object>();

/**
 * Gives a class its row's brand, `name`, derived `message` and brand-checking `instanceof`, and puts the
 * class's cheap constructor (see `Cheap`), if it has one, on the class prototype.
 */
export function defineError(
  cls: abstract new (...args: never[]) => Error,
  row: ErrorRow<never>,
  cheap?: { prototype: unknown },
): void {
  const { brand, message } = row;
  const proto = cls.prototype as object;
  if (cheap !== undefined) cheap.prototype = proto;
  Object.defineProperty(proto, brand, { value: true });
  Object.defineProperty(proto, 'name', { value: row.name, writable: true, configurable: true });
  named.add(proto);
  Object.defineProperty(cls, Symbol.hasInstance, {
    value(this: unknown, value: unknown): boolean {
      // Inherited by a user's subclass, which gets the ordinary prototype-chain check: an error of the
      // library's class is not an instance of the user's subclass.
      if (this !== cls) return ordinaryHasInstance.call(this, value);
      return (
        typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[brand] === true
      );
    },
  });
  if (message === undefined) return;
  // Errors built by `create()` have no own message: it is derived when read, so a rejection costs no
  // string building unless someone looks. Errors built with `new` own their message, which shadows this.
  Object.defineProperty(proto, 'message', {
    get(this: never) {
      return message(this);
    },
    set(this: object, value: unknown) {
      Object.defineProperty(this, 'message', { value, writable: true, configurable: true });
    },
    configurable: true,
  });
}

/**
 * What `create()` builds: an object on the class prototype that skips the Error constructor (on Node 20
 * `new Error()` costs microseconds with a stack, about 0.5 us even with `Error.stackTraceLimit = 0`).
 * It owns `name` and `code`, so they survive a structured clone, and an empty `stack`: Node's
 * unhandled-rejection and uncaught-exception printers treat an object with an own `stack` as an error
 * and print it through util.inspect (`Name: message` and its fields); without one they print only
 * `reason "Name"`. Each class has its own plain constructor function for it, rather than
 * `Object.create()` plus stores in a shared helper: a constructor's instances get in-object slots for
 * all its fields (Object.create gives four, then allocates a property array), and a helper shared by the
 * classes would make its stores polymorphic (measured: 2x the instructions per call with six classes).
 */
type Cheap<T> = { -readonly [K in keyof T]: T[K] };

/** Types a plain function as the constructor of `T`s; `defineError()` gives it the class prototype. */
function cheap<T, A extends unknown[]>(init: (this: Cheap<T>, ...args: A) => void): new (...args: A) => T {
  return init as unknown as new (
    ...args: A
  ) => T;
}

/**
 * Whether nobody can tell if the failed call took effect (a COMMIT whose answer never came): such an
 * error has `unknownOutcome: true`. Retry and hedging do not repeat the call unless their `handle` says
 * so, and a timeout passes the error on rather than wrapping it. Duck-typed, so errors of your own can
 * say it too.
 */
export function isUnknownOutcome(error: unknown): boolean {
  return (
    typeof error === 'object' &&
    error !== null &&
    (error as { unknownOutcome?: unknown }).unknownOutcome === true
  );
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
    if (!Object.hasOwn(new.target.prototype, 'name')) nameAfterClass(this, new.target);
  }

  /** `name`, `code`, `message` and the error's own fields; not `stack` or `cause`. */
  toJSON(): Record<string, unknown> {
    const json: Record<string, unknown> = { name: this.name, code: this.code, message: this.message };
    for (const key of Object.keys(this)) {
      if (key !== 'stack' && key !== 'cause' && !Object.hasOwn(json, key)) {
        json[key] = (this as unknown as Record<string, unknown>)[key];
      }
    }
    return json;
  }
}
defineError(BreakwaterError, ERRORS[BW_ERR]);

// A user's subclass that sets no name of its own (on an instance or a prototype between it and the
// library's class) is named after itself, as `class AppError extends Error` code expects.
function nameAfterClass(error: Error, target: { readonly name: string; readonly prototype: object }): void {
  let proto: object | null = target.prototype;
  while (proto !== null && !Object.hasOwn(proto, 'name'))
    proto = Object.getPrototypeOf(proto) as object | null;
  if (proto === null || !named.has(proto) || target.name === '') return;
  Object.defineProperty(error, 'name', { value: target.name, writable: true, configurable: true });
}

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
    return new CheapTimeout(timeoutMs, policy, cause);
  }
}
const CheapTimeout = cheap<TimeoutError, [number, string, unknown]>(function (timeoutMs, policy, cause) {
  this.name = 'TimeoutError';
  this.code = BW_ERR_TIMEOUT;
  this.stack = '';
  this.timeoutMs = timeoutMs;
  this.policy = policy;
  if (cause !== undefined) this.cause = cause;
});
defineError(TimeoutError, ERRORS[BW_ERR_TIMEOUT], CheapTimeout);

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
defineError(RejectedError, ERRORS[BW_ERR_REJECTED]);

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

  /** Per-call rejection: no stack trace (see `Cheap`); `cause` is the failure that opened the circuit. */
  static create(
    policy: string,
    state: CircuitStateName,
    retryAfterMs?: number,
    cause?: unknown,
  ): BrokenCircuitError {
    return new CheapBroken(policy, state, retryAfterMs, cause);
  }
}
const CheapBroken = cheap<BrokenCircuitError, [string, CircuitStateName, number | undefined, unknown]>(
  function (policy, state, retryAfterMs, cause) {
    this.name = 'BrokenCircuitError';
    this.code = state === 'isolated' ? BW_ERR_CIRCUIT_ISOLATED : BW_ERR_CIRCUIT_OPEN;
    this.stack = '';
    this.policy = policy;
    this.retryAfterMs = retryAfterMs;
    this.state = state;
    if (cause !== undefined) this.cause = cause;
  },
);
defineError(BrokenCircuitError, ERRORS[BW_ERR_CIRCUIT_OPEN], CheapBroken);

/** The circuit was isolated by hand: it stays open until every isolation handle is released. */
export class IsolatedCircuitError extends BrokenCircuitError {
  constructor(policy: string, options?: ErrorOptions) {
    super(policy, 'isolated', undefined, options);
  }

  static override create(policy: string): IsolatedCircuitError {
    return new CheapIsolated(policy);
  }
}
const CheapIsolated = cheap<IsolatedCircuitError, [string]>(function (policy) {
  this.name = 'IsolatedCircuitError';
  this.code = BW_ERR_CIRCUIT_ISOLATED;
  this.stack = '';
  this.policy = policy;
  this.retryAfterMs = undefined;
  this.state = 'isolated';
});
defineError(IsolatedCircuitError, ERRORS[BW_ERR_CIRCUIT_ISOLATED], CheapIsolated);

/** The bulkhead had no free slot and no queue space (`full`), or the call waited too long (`wait-timeout`). */
export class BulkheadRejectedError extends RejectedError {
  readonly reason: BulkheadRejectReason;

  constructor(policy: string, reason: BulkheadRejectReason, options?: ErrorOptions) {
    super(describeBulkhead({ policy, reason }), BW_ERR_BULKHEAD_REJECTED, policy, undefined, options);
    this.reason = reason;
  }

  static create(policy: string, reason: BulkheadRejectReason): BulkheadRejectedError {
    return new CheapBulkhead(policy, reason);
  }
}
const CheapBulkhead = cheap<BulkheadRejectedError, [string, BulkheadRejectReason]>(function (policy, reason) {
  this.name = 'BulkheadRejectedError';
  this.code = BW_ERR_BULKHEAD_REJECTED;
  this.stack = '';
  this.policy = policy;
  this.retryAfterMs = undefined;
  this.reason = reason;
});
defineError(BulkheadRejectedError, ERRORS[BW_ERR_BULKHEAD_REJECTED], CheapBulkhead);

/** A rate limiter had no permit for the call within its allowed wait. */
export class RateLimitedError extends RejectedError {
  constructor(policy: string, retryAfterMs: number, options?: ErrorOptions) {
    super(describeRateLimit({ policy, retryAfterMs }), BW_ERR_RATE_LIMITED, policy, retryAfterMs, options);
  }

  static create(policy: string, retryAfterMs: number): RateLimitedError {
    return new CheapRateLimited(policy, retryAfterMs);
  }
}
const CheapRateLimited = cheap<RateLimitedError, [string, number]>(function (policy, retryAfterMs) {
  this.name = 'RateLimitedError';
  this.code = BW_ERR_RATE_LIMITED;
  this.stack = '';
  this.policy = policy;
  this.retryAfterMs = retryAfterMs;
});
defineError(RateLimitedError, ERRORS[BW_ERR_RATE_LIMITED], CheapRateLimited);

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
    return new CheapThrottled(policy, probability);
  }
}
const CheapThrottled = cheap<ThrottledError, [string, number]>(function (policy, probability) {
  this.name = 'ThrottledError';
  this.code = BW_ERR_THROTTLED;
  this.stack = '';
  this.policy = policy;
  this.retryAfterMs = undefined;
  this.probability = probability;
});
defineError(ThrottledError, ERRORS[BW_ERR_THROTTLED], CheapThrottled);
