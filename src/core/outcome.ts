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
export class Fail {
  readonly error: unknown;
  pending: Promise<unknown> | undefined;

  constructor(error: unknown, pending?: Promise<unknown>) {
    this.error = error;
    this.pending = pending;
  }
}

export function toOutcome<T>(result: unknown): Outcome<T> {
  return result instanceof Fail ? { ok: false, error: result.error } : { ok: true, value: result as T };
}

/** Edge of `execute`: a Fail becomes a throw. */
export function unwrap(result: unknown): unknown {
  if (result instanceof Fail) throw result.error;
  return result;
}
