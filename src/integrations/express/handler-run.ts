import { type TracingChannelSubscribers, tracingChannel } from 'node:diagnostics_channel';

// A middleware cannot see when the handlers after it end: Express's router keeps an async handler's
// promise to itself. Router 2.3 and later publish every layer it invokes on the `express.router.request`
// tracing channel: `start`, then `end` once a synchronous layer returned or `asyncEnd` once a returned
// promise settled. From those, a protection that answered at a deadline learns when the work it
// answered for really stops. An older router publishes nothing: `handlerRun()` then returns null.

/** The context the router publishes for one layer invocation (only what is read here). */
interface LayerCall {
  readonly req: object;
  readonly result?: unknown;
  readonly error?: unknown;
}

/** The layers of one request invoked since its (outermost) protection started, still running. */
export class HandlerRun {
  readonly #open = new Set<LayerCall>();
  #ended: (() => void) | null = null;
  #settled: Promise<void> | null = null;

  enter(call: LayerCall): void {
    this.#open.add(call);
  }

  leave(call: LayerCall): void {
    if (!this.#open.delete(call) || this.#open.size > 0) return;
    const ended = this.#ended;
    this.#ended = null;
    this.#settled = null;
    ended?.();
  }

  /** Settles once no layer of the request runs (at once when none does); never rejects. */
  settled(): Promise<void> {
    if (this.#open.size === 0) return Promise.resolve();
    this.#settled ??= new Promise<void>((resolve) => {
      this.#ended = resolve;
    });
    return this.#settled;
  }
}

const runs = new WeakMap<object, HandlerRun>();
/** The layer whose synchronous part runs right now (the last `start` not yet ended), or null. */
let current: LayerCall | null = null;

const subscribers: TracingChannelSubscribers<LayerCall> = {
  start(call) {
    runs.get(call.req)?.enter(call);
    current = call;
  },
  end(call) {
    if (current === call) current = null;
    // A synchronous layer ended with a result or a throw; a promise's end comes with asyncEnd.
    if ('result' in call || 'error' in call) runs.get(call.req)?.leave(call);
  },
  asyncStart() {},
  asyncEnd(call) {
    runs.get(call.req)?.leave(call);
  },
  error() {},
};

let subscribed = false;

/** Starts listening to the router (once per process): before the first request of a protected app. */
export function traceHandlers(): void {
  if (subscribed) return;
  subscribed = true;
  tracingChannel<LayerCall>('express.router.request').subscribe(subscribers);
}

/**
 * The run of `req`'s layers from the calling middleware on, shared by nested protections. Must be called
 * synchronously from the middleware (its own layer is the one running). Null when the router does not
 * trace.
 */
export function handlerRun(req: object): HandlerRun | null {
  const shared = runs.get(req);
  if (shared !== undefined) return shared;
  const call = current;
  if (call === null || call.req !== req) return null;
  const run = new HandlerRun();
  run.enter(call);
  runs.set(req, run);
  return run;
}
