import { PROTOCOL } from './protocol.js';

/** What a non-throwing execution returns. */
export type Outcome<T> =
  | { readonly ok: true; readonly value: T }
  | { readonly ok: false; readonly error: unknown };

/**
 * Inside a pipeline a failed call travels as a `Fail` value rather than a rejected promise: returning
 * is far cheaper than throwing, and only the public `execute` edge turns it back into a throw.
 * `pending` is set when a call was abandoned (an aggressive timeout gave up on it) while its work is
 * still running, so that outer slots (a bulkhead permit) are held until that work really ends.
 */
class FailClass {
  readonly error: unknown;
  pending: Promise<unknown> | undefined;

  constructor(error: unknown, pending?: Promise<unknown>) {
    this.error = error;
    this.pending = pending;
  }
}

/**
 * One class for every copy of breakwater in the process (the ESM and CJS builds loaded together): stages
 * of one copy run inside a pipeline of another, and pass Fails across, so `instanceof Fail` must hold
 * between copies without a brand check on the hot path. Keyed by the stage protocol's version: copies
 * that do not share the protocol do not share the class (and `pipeline()` refuses their policies).
 */
export const Fail: typeof FailClass = ((globalThis as Record<symbol, unknown>)[
  Symbol.for(`breakwater.protocol.${PROTOCOL}.Fail`)
] ??= FailClass) as typeof FailClass;
export type Fail = FailClass;

export function toOutcome<T>(result: unknown): Outcome<T> {
  return result instanceof Fail ? { ok: false, error: result.error } : { ok: true, value: result as T };
}
