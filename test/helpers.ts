import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { getEventListeners } from 'node:events';
import { FakeClock } from '../src/core/fake-clock.js';
import { CALLBACK_ERROR_CHANNEL, type CallbackErrorEvent } from '../src/core/report.js';

export { FakeClock };

/** A promise with its resolvers, for driving a task step by step. */
export function deferred<T = unknown>() {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

/** Listeners currently registered on a signal's 'abort' event. */
export function abortListeners(signal: AbortSignal): number {
  return getEventListeners(signal, 'abort').length;
}

/** Settles a promise into an inspectable record without letting it reject unhandled. */
export function track<T>(promise: Promise<T>) {
  const state: { settled: boolean; value?: T; error?: unknown; ok?: boolean } = { settled: false };
  promise.then(
    (value) => Object.assign(state, { settled: true, ok: true, value }),
    (error) => Object.assign(state, { settled: true, ok: false, error }),
  );
  return state;
}

/** Lets queued promise reactions run. */
export function flush(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/**
 * Waits until `check` holds (it may be async), polling every `everyMs`; rejects with `what` after
 * `withinMs`. Every wait in the suite is bounded: a broken behaviour fails with a message, not a hang
 * until the suite's timeout.
 */
export async function waitFor(
  check: () => boolean | Promise<boolean>,
  what: string,
  { withinMs = 5_000, everyMs = 10 }: { withinMs?: number; everyMs?: number } = {},
): Promise<void> {
  const giveUpAt = Date.now() + withinMs;
  for (;;) {
    if (await check()) return;
    if (Date.now() >= giveUpAt) throw new Error(`waited ${withinMs} ms for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, everyMs));
  }
}

/**
 * Collects what user callbacks throw (the `breakwater:callback-error` channel) until `stop()`; their
 * rate-limited process warnings are held back meanwhile.
 */
export function captureCallbackErrors(): CallbackErrorEvent[] & { stop(): void } {
  const seen = [] as unknown as CallbackErrorEvent[] & { stop(): void };
  const onMessage = (message: unknown) => seen.push(message as CallbackErrorEvent);
  const emitWarning = process.emitWarning;
  process.emitWarning = ((warning: string | Error, options?: { code?: string }) => {
    if (typeof options === 'object' && options?.code === 'BW_CALLBACK_ERROR') return;
    (emitWarning as (w: string | Error, o?: unknown) => void).call(process, warning, options);
  }) as typeof process.emitWarning;
  subscribe(CALLBACK_ERROR_CHANNEL, onMessage);
  let live = true;
  seen.stop = () => {
    if (!live) return;
    live = false;
    unsubscribe(CALLBACK_ERROR_CHANNEL, onMessage);
    process.emitWarning = emitWarning;
  };
  return seen;
}
