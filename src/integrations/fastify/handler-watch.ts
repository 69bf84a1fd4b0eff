import type { FastifyRequest, RouteHandlerMethod } from 'fastify';

// Fastify awaits a handler's promise itself: a protection that answered at a deadline learns when the
// handler really stops by wrapping the route's handler (from the onRoute hook) and keeping what it
// returned. A handler that returns no promise is done when it returns.

const handlers = new WeakMap<FastifyRequest, PromiseLike<unknown>>();
const WATCHED: unique symbol = Symbol('breakwater.watchedHandler');

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return (
    (typeof value === 'object' || typeof value === 'function') &&
    value !== null &&
    typeof (value as PromiseLike<unknown>).then === 'function'
  );
}

/** The route handler, wrapped once (nested registrations see the wrapped one). */
export function watchHandler(handler: RouteHandlerMethod): RouteHandlerMethod {
  if ((handler as { [WATCHED]?: true })[WATCHED] === true) return handler;
  const watched = function (this: unknown, request: FastifyRequest, reply: unknown) {
    const result = (handler as (this: unknown, ...args: unknown[]) => unknown).call(this, request, reply);
    if (isThenable(result)) handlers.set(request, result);
    return result;
  } as unknown as RouteHandlerMethod;
  Object.defineProperty(watched, WATCHED, { value: true });
  return watched;
}

/** The promise the request's handler returned, or undefined (not started, or synchronous). */
export function runningHandler(request: FastifyRequest): PromiseLike<unknown> | undefined {
  return handlers.get(request);
}
