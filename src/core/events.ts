import { reportCallbackError, reportRejection } from './report.js';

/** Removes the listener it was returned for. Calling it twice is harmless. */
export type Disposer = () => void;
export type Listener<T> = (event: T) => void;
/** Subscribes a listener; the returned function unsubscribes it. */
export type Subscribe<T> = (listener: Listener<T>) => Disposer;

/**
 * A typed event. Listeners are kept as none / one / array so that an emit site guarded by `active`
 * costs one comparison when nobody listens, and payloads are built only for listeners.
 */
export class Emitter<T> {
  #listeners: Listener<T> | Listener<T>[] | undefined = undefined;

  get active(): boolean {
    return this.#listeners !== undefined;
  }

  readonly subscribe: Subscribe<T> = (listener) => {
    if (typeof listener !== 'function')
      throw new TypeError('breakwater: an event listener must be a function');
    const current = this.#listeners;
    if (current === undefined) this.#listeners = listener;
    else if (typeof current === 'function') this.#listeners = [current, listener];
    else this.#listeners = [...current, listener];
    let live = true;
    return () => {
      if (!live) return;
      live = false;
      this.#remove(listener);
    };
  };

  /** Calls every listener; a listener that throws or rejects is reported (see core/report.ts), never fails the call. */
  emit(event: T): void {
    const current = this.#listeners;
    if (current === undefined) return;
    if (typeof current === 'function') {
      call(current, event);
      return;
    }
    // Copy-on-write arrays: a listener that unsubscribes during emit does not disturb this loop.
    for (const listener of current) call(listener, event);
  }

  #remove(listener: Listener<T>): void {
    const current = this.#listeners;
    if (current === listener) {
      this.#listeners = undefined;
    } else if (Array.isArray(current)) {
      const i = current.indexOf(listener);
      if (i === -1) return;
      const rest = current.filter((_, j) => j !== i);
      this.#listeners = rest.length === 1 ? rest[0] : rest;
    }
  }
}

// A listener that throws, or returns a promise that rejects (an `async` listener), is reported the same
// way and never fails the call nor crashes the process.
function call<T>(listener: Listener<T>, event: T): void {
  let returned: unknown;
  try {
    returned = listener(event);
  } catch (error) {
    reportCallbackError('event listener', policyOf(event), error);
    return;
  }
  if (returned !== undefined) reportRejection(returned, 'event listener', policyOf(event));
}

function policyOf(event: unknown): string {
  const policy =
    typeof event === 'object' && event !== null ? (event as { policy?: unknown }).policy : undefined;
  return typeof policy === 'string' ? policy : '(unnamed)';
}
