import { type Context, type ExecuteOptions, Scope, type Task } from './context.js';
import { invalid } from './options.js';
import { Fail, type Outcome, toOutcome } from './outcome.js';
import { PROTOCOL } from './protocol.js';

/**
 * A compiled step: takes a scope, runs the work below it and resolves to the value or a Fail. Inner
 * runners never reject; the outermost one applies the public edge (throw, or build an Outcome).
 *
 * Runners chain with `.then` rather than `async` functions: on Node 20 an async frame costs about
 * twice a `.then` with two small closures, and the hot path pays it once per policy otherwise.
 *
 * A runner may take the caller's continuation `then` and apply it in its own last step instead of
 * resolving first: a wrapper around a gate segment then costs no promise of its own (see `fusable`).
 */
export type Runner = (scope: Scope, then?: Continue) => Promise<unknown>;

/** What a caller does with a result (a value or a Fail); may throw (the public edge does). */
export type Continue = (result: unknown) => unknown;

/** A runner, or the task itself (which may return a value, throw, or reject). */
export type Invoke = (scope: Scope) => unknown;

/** What the outermost runner turns a result into. */
export const INNER = 0;
/** `execute`: a Fail becomes a rejection. */
export const THROW = 1;
/** `executeOutcome`: everything becomes an Outcome. */
export const OUTCOME = 2;
export type Edge = typeof INNER | typeof THROW | typeof OUTCOME;

/** Applies the edge to a final result. Throws for THROW (callers are inside `.then` or async code). */
export function finish(result: unknown, edge: Edge): unknown {
  if (edge === INNER) return result;
  if (edge === OUTCOME) return toOutcome(result);
  if (result instanceof Fail) throw result.error;
  return result;
}

const FINISHERS: readonly Continue[] = [
  (result) => result,
  (result) => finish(result, THROW),
  (result) => finish(result, OUTCOME),
];

/** The continuation a runner applies when its caller gives none: the edge's. Shared, never allocated. */
export function finisher(edge: Edge): Continue {
  return FINISHERS[edge]!;
}

const FUSABLE: unique symbol = Symbol.for(`breakwater.protocol.${PROTOCOL}.fusable`) as never;

/**
 * Marks a runner that applies a caller's continuation in its own last step and never throws
 * synchronously: `run` then hands it the continuation instead of chaining one more promise.
 */
export function fusable(runner: Runner): Runner {
  (runner as Runner & { [FUSABLE]?: true })[FUSABLE] = true;
  return runner;
}

/**
 * A policy that decides synchronously around the call: admit or reject on the way in, record on the
 * way out (circuit breaker, bulkhead with a free slot, cooperative timeout). Consecutive gates of a
 * pipeline run around a single `.then`, so they cost a few calls, not a promise each.
 */
export interface Gate {
  readonly stage: 'gate';
  /** The token is a scope that replaces the current one for everything inside (timeouts). */
  readonly scoped: boolean;
  /**
   * Its asynchronous admissions settle on the scope's abort by themselves (a queued bulkhead or rate
   * limiter watches the signal). Otherwise the pipeline races the abort for it (see `admission`).
   */
  readonly watchesAbort?: boolean;
  /**
   * Admission. Returns a token passed back to `exit`, a Fail to reject, or (slow path only, e.g. a
   * queued bulkhead) a promise of either.
   */
  enter(scope: Scope): unknown;
  /** Called once per admitted call with the result below; returns the result to pass up. */
  exit(scope: Scope, token: unknown, result: unknown): unknown;
}

/**
 * A policy that must own the call's control flow (retry loops, fallbacks, races). `inner` is the
 * runner below it, or at the bottom of a pipeline `invoke`, which calls the task directly; use `run`
 * to call it whatever it returns.
 */
export interface Wrapper {
  readonly stage: 'wrapper';
  wrap(inner: Invoke, edge: Edge): Runner;
}

export type Stage = Gate | Wrapper;

/** Shared by every copy of the same protocol, so a pipeline of one copy takes the policies of another. */
export const STAGES: unique symbol = Symbol.for(`breakwater.protocol.${PROTOCOL}.stages`) as never;
/** Type-only marker: lets `pipeline()` infer each policy's Accepts/Adds (never set at run time). */
export declare const TYPES: unique symbol;

/** Anything that can run a task: a single policy or a pipeline. */
export interface Policy<Accepts = unknown, Adds = never> {
  /**
   * Runs `fn` under the policy. Rejects with the failure (or a rejection of the policy itself). The
   * second argument is the caller's signal, or `{ signal, key }`.
   */
  execute<T extends Accepts>(fn: Task<T>, options?: AbortSignal | ExecuteOptions): Promise<T | Adds>;
  /** Like `execute`, but resolves to an outcome instead of rejecting: the cheap path for shedding. */
  executeOutcome<T extends Accepts>(
    fn: Task<T>,
    options?: AbortSignal | ExecuteOptions,
  ): Promise<Outcome<T | Adds>>;
  /** @internal The steps this policy adds to a pipeline, outermost first. */
  readonly [STAGES]: readonly Stage[];
  /** @internal Type-only. */
  readonly [TYPES]?: { readonly accepts: Accepts; readonly adds: Adds };
}

/** Calls the task without a promise of its own. */
export const invoke: Invoke = (scope) => scope.fn(scope);

/**
 * Calls `inner` and passes its result (a value or a Fail, whatever form the call took: a value, a
 * throw, a promise, a rejection, a foreign thenable) to `then`. The returned promise rejects only if
 * `then` throws.
 */
export function run(inner: Invoke, scope: Scope, then: Continue): Promise<unknown> {
  if ((inner as { [FUSABLE]?: true })[FUSABLE] === true) return (inner as Runner)(scope, then);
  let pending: unknown;
  try {
    pending = inner(scope);
  } catch (error) {
    return resolveWith(then, new Fail(error));
  }
  if (pending instanceof Promise) return pending.then(then, (error) => then(new Fail(error)));
  if (isThenable(pending)) return Promise.resolve(pending).then(then, (error) => then(new Fail(error)));
  return resolveWith(then, pending);
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return (
    (typeof value === 'object' || typeof value === 'function') &&
    value !== null &&
    typeof (value as PromiseLike<unknown>).then === 'function'
  );
}

/** Applies `then` now, as a promise: a throw becomes a rejection. */
export function resolveWith(then: Continue, result: unknown): Promise<unknown> {
  try {
    return Promise.resolve(then(result));
  } catch (error) {
    return Promise.reject(error);
  }
}

/** Calls `inner` (a runner or `invoke`) and resolves to its value or Fail; never rejects. */
export function settle(inner: Invoke, scope: Scope): Promise<unknown> {
  return run(inner, scope, FINISHERS[INNER]!);
}

/** Unwinds gates [0, entered) with `result`, innermost first. */
function exitAll(gates: readonly Gate[], tokens: unknown[], entered: number, result: unknown): unknown {
  let r = result;
  for (let i = entered - 1; i >= 0; i--) r = gates[i]!.exit(tokens[2 * i + 1] as Scope, tokens[2 * i], r);
  return r;
}

/** Runs the gates (outermost first) around `inner`. */
function segment(gates: readonly Gate[], inner: Invoke, edge: Edge): Runner {
  if (gates.length === 1) return single(gates[0]!, inner, edge);
  const n = gates.length;
  const done = finisher(edge);
  // tokens[2i] is gate i's token, tokens[2i+1] the scope it entered with. Enters gates from `from`; on
  // a promise token (a queued gate), continues once it settles.
  const enter = (scope: Scope, tokens: unknown[], from: number, k: Continue): Promise<unknown> => {
    let current = scope;
    for (let i = from; i < n; i++) {
      const gate = gates[i]!;
      const token = gate.enter(current);
      if (token instanceof Promise) {
        const here = current;
        return admission(gate, here, token).then((settled) => admitted(here, tokens, i, settled, k));
      }
      if (token instanceof Fail) return resolveWith(k, exitAll(gates, tokens, i, token));
      tokens[2 * i] = token;
      tokens[2 * i + 1] = current;
      if (gate.scoped) current = token as Scope;
    }
    return run(inner, current, (result) => k(exitAll(gates, tokens, n, result)));
  };
  const admitted = (scope: Scope, tokens: unknown[], i: number, token: unknown, k: Continue): unknown => {
    if (token instanceof Fail) return k(exitAll(gates, tokens, i, token));
    tokens[2 * i] = token;
    tokens[2 * i + 1] = scope;
    return enter(gates[i]!.scoped ? (token as Scope) : scope, tokens, i + 1, k);
  };
  return fusable((scope, then) => enter(scope, new Array<unknown>(2 * n), 0, then ?? done));
}

function single(gate: Gate, inner: Invoke, edge: Edge): Runner {
  const scoped = gate.scoped;
  const done = finisher(edge);
  const proceed = (scope: Scope, token: unknown, k: Continue): Promise<unknown> =>
    run(inner, scoped ? (token as Scope) : scope, (result) => k(gate.exit(scope, token, result)));
  const afterWait = (scope: Scope, token: unknown, k: Continue): unknown =>
    token instanceof Fail ? k(token) : proceed(scope, token, k);
  return fusable((scope, then) => {
    const k = then ?? done;
    const token = gate.enter(scope);
    if (token instanceof Promise)
      return admission(gate, scope, token).then((settled) => afterWait(scope, settled, k));
    if (token instanceof Fail) return resolveWith(k, token);
    return proceed(scope, token, k);
  });
}

/**
 * Waits for a gate's asynchronous admission (a queued bulkhead, a rate limiter asking Redis). The
 * caller's abort (or an enclosing deadline) settles the wait at once, whether or not the gate watches
 * the signal itself; a token granted after that is handed straight back through `exit`, so the task
 * never runs for a caller that left and no slot or permit is kept.
 */
function admission(gate: Gate, scope: Scope, pending: Promise<unknown>): Promise<unknown> {
  if (gate.watchesAbort === true || !scope.abortable) return pending;
  const signal = scope.signal;
  let left = false;
  const giveBack = (token: unknown) => {
    if (!(token instanceof Fail)) gate.exit(scope, token, new Fail(signal.reason));
  };
  if (signal.aborted) {
    pending.then(giveBack);
    return Promise.resolve(new Fail(signal.reason));
  }
  return new Promise((resolve) => {
    const onAbort = () => {
      left = true;
      resolve(new Fail(signal.reason));
    };
    signal.addEventListener('abort', onAbort, { once: true });
    pending.then((token) => {
      signal.removeEventListener('abort', onAbort);
      if (left) giveBack(token);
      else resolve(token);
    });
  });
}

/**
 * Builds the runner for stages (outermost first): consecutive gates fuse into one segment, wrappers
 * wrap what is inside them. Only the outermost runner applies `edge`.
 */
export function compile(stages: readonly Stage[], edge: Edge): Runner {
  let inner: Invoke = invoke;
  let gates: Gate[] = [];
  for (let i = stages.length - 1; i >= 0; i--) {
    const stage = stages[i]!;
    if (stage.stage === 'gate') {
      gates.push(stage);
      continue;
    }
    if (gates.length > 0) {
      inner = segment(gates.reverse(), inner, INNER);
      gates = [];
    }
    inner = stage.wrap(inner, i === 0 ? edge : INNER);
  }
  if (gates.length > 0) return segment(gates.reverse(), inner, edge);
  if (inner === invoke) return (scope) => run(invoke, scope, finisher(edge));
  return inner as Runner;
}

/**
 * Shared execute/executeOutcome over compiled stages. Compiled lazily on first use so that policy
 * constructors stay cheap and subclasses finish initialising first.
 */
export abstract class Executor<Accepts = unknown, Adds = never> implements Policy<Accepts, Adds> {
  abstract readonly [STAGES]: readonly Stage[];
  #throwing: Runner | undefined;
  #outcome: Runner | undefined;

  execute<T extends Accepts>(fn: Task<T>, options?: AbortSignal | ExecuteOptions): Promise<T | Adds> {
    const scope = rootScope(fn as Task<unknown>, options);
    if (scope === null) return Promise.reject(badArguments(fn, options));
    if (scope.callerSignal?.aborted) return Promise.reject(scope.callerSignal.reason);
    const runner = (this.#throwing ??= compile(this[STAGES], THROW));
    return runner(scope) as Promise<T | Adds>;
  }

  executeOutcome<T extends Accepts>(
    fn: Task<T>,
    options?: AbortSignal | ExecuteOptions,
  ): Promise<Outcome<T | Adds>> {
    const scope = rootScope(fn as Task<unknown>, options);
    if (scope === null) return Promise.resolve({ ok: false, error: badArguments(fn, options) });
    if (scope.callerSignal?.aborted) return Promise.resolve({ ok: false, error: scope.callerSignal.reason });
    const runner = (this.#outcome ??= compile(this[STAGES], OUTCOME));
    return runner(scope) as Promise<Outcome<T | Adds>>;
  }
}

/**
 * The root scope of one execution, or null when the arguments are bad (`badArguments` says why).
 * `execute` never throws: bad arguments reject before any policy has seen the call, so no state is
 * left behind. `null` (a common RequestInit-style value) means absent, for the options as for their
 * signal and key.
 */
function rootScope(fn: Task<unknown>, options: unknown): Scope | null {
  if (typeof fn !== 'function') return null;
  if (options === undefined || options === null) return new Scope(fn, null, undefined);
  if (typeof options !== 'object') return null;
  // Duck-typed, so that signals from other realms and polyfills count.
  if (isSignal(options)) return new Scope(fn, null, options);
  const { signal, key } = options as { signal?: unknown; key?: unknown };
  if (signal !== undefined && signal !== null && !isSignal(signal)) return null;
  if (key !== undefined && key !== null && typeof key !== 'string') return null;
  return new Scope(
    fn,
    null,
    (signal ?? undefined) as AbortSignal | undefined,
    (key ?? undefined) as string | undefined,
  );
}

/** The TypeError for arguments `rootScope` refused. */
function badArguments(fn: unknown, options: unknown): Error {
  if (typeof fn !== 'function') return argumentError('execute(fn)', 'a function', fn);
  if (typeof options !== 'object' || options === null) {
    return argumentError('execute(fn, options)', 'an AbortSignal or { signal, key }', options);
  }
  const { signal, key } = options as { signal?: unknown; key?: unknown };
  if (signal !== undefined && signal !== null && !isSignal(signal as object)) {
    return argumentError('execute(fn, options).signal', 'an AbortSignal', signal);
  }
  return argumentError('execute(fn, options).key', 'a string', key);
}

function isSignal(value: object): value is AbortSignal {
  // A signal's `aborted` is a boolean; an options object has none.
  return (
    typeof (value as AbortSignal).aborted === 'boolean' &&
    typeof (value as AbortSignal).addEventListener === 'function'
  );
}

function argumentError(path: string, expected: string, received: unknown): Error {
  try {
    return invalid(path, expected, received);
  } catch (error) {
    return error as Error;
  }
}

export type { Context, ExecuteOptions, Task };
