import { Fail } from './outcome.js';

/** A failed outcome as handed to user hooks: a thrown error, or a result classified as a failure. */
export type Failure<R = unknown> =
  | { readonly kind: 'error'; readonly error: unknown }
  | { readonly kind: 'result'; readonly result: R };

export function failureOf<R>(result: unknown): Failure<R> {
  return result instanceof Fail
    ? { kind: 'error', error: result.error }
    : { kind: 'result', result: result as R };
}
