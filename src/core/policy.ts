import { compile, EDGE, type Part } from './compile.js';
import { type Context, type ExecuteOptions, Scope, type Task } from './context.js';
import { invalid } from './options.js';
import type { Outcome } from './outcome.js';
import { PROTOCOL } from './protocol.js';
import type { Stage } from './stage.js';

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
  /**
   * @internal The steps this policy adds to a pipeline, outermost first (`stagesOf()` reads them). Set by
   * every policy breakwater builds and by `definePolicy()`; optional in the type so that an object made
   * a policy at run time can declare its type.
   */
  readonly [STAGES]?: readonly Stage[];
  /** @internal Type-only. */
  readonly [TYPES]?: { readonly accepts: Accepts; readonly adds: Adds };
}

export abstract class Executor<Accepts = unknown, Adds = never> implements Policy<Accepts, Adds> {
  abstract readonly [STAGES]: readonly Stage[];
  /** Compiled on first use, so that constructors stay cheap and subclasses finish initialising first. */
  #part: Part | undefined;

  execute<T extends Accepts>(fn: Task<T>, options?: AbortSignal | ExecuteOptions): Promise<T | Adds> {
    const scope = rootScope(fn as Task<unknown>, options);
    if (scope === null) return Promise.reject(badArguments(fn, options));
    if (scope.callerSignal?.aborted) return Promise.reject(scope.callerSignal.reason);
    return (this.#part ??= compile(this[STAGES]))(scope, EDGE.throw) as Promise<T | Adds>;
  }

  executeOutcome<T extends Accepts>(
    fn: Task<T>,
    options?: AbortSignal | ExecuteOptions,
  ): Promise<Outcome<T | Adds>> {
    const scope = rootScope(fn as Task<unknown>, options);
    if (scope === null) return Promise.resolve({ ok: false, error: badArguments(fn, options) });
    if (scope.callerSignal?.aborted) return Promise.resolve({ ok: false, error: scope.callerSignal.reason });
    return (this.#part ??= compile(this[STAGES]))(scope, EDGE.outcome) as Promise<Outcome<T | Adds>>;
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

/**
 * A policy made of stages of your own, outermost first: gates and wrappers (see core/stage.ts and
 * docs/concepts.md). It runs alone or composes in `pipeline()` like any other. With `target`, that
 * object becomes the policy (its `execute` and `executeOutcome` are defined on it): a class of your own
 * can be a policy and keep its own methods.
 */
export function definePolicy<T extends object = object>(
  stages: Stage | readonly Stage[],
  target?: T,
): T & Policy {
  const list: readonly Stage[] = Object.freeze(Array.isArray(stages) ? [...stages] : [stages as Stage]);
  list.forEach((stage, i) => {
    const s = stage as Partial<Stage> | null;
    const kind = typeof s === 'object' && s !== null ? s.stage : undefined;
    const ok =
      kind === 'wrapper'
        ? typeof (s as { wrap?: unknown }).wrap === 'function'
        : (kind === 'gate' || kind === 'scope') &&
          typeof (s as { enter?: unknown }).enter === 'function' &&
          typeof (s as { exit?: unknown }).exit === 'function';
    if (!ok) {
      invalid(
        `definePolicy(stages)[${i}]`,
        "a gate or wrapper ({ stage: 'gate', enter, exit } or { stage: 'wrapper', wrap })",
        stage,
      );
    }
  });
  const policy = new Defined(list);
  const host = (target ?? {}) as T & Policy;
  Object.defineProperties(host, {
    [STAGES]: { value: list },
    execute: { value: policy.execute.bind(policy) },
    executeOutcome: { value: policy.executeOutcome.bind(policy) },
  });
  return host;
}

class Defined extends Executor {
  readonly [STAGES]: readonly Stage[];

  constructor(stages: readonly Stage[]) {
    super();
    this[STAGES] = stages;
  }
}

/** Whether `value` is a policy: one breakwater built, a pipeline, or one `definePolicy()` made. */
export function isPolicy(value: unknown): value is Policy {
  return typeof value === 'object' && value !== null && Array.isArray((value as Partial<Policy>)[STAGES]);
}

/** The stages a policy adds to a pipeline, outermost first: to compose other policies' stages in one of your own. */
export function stagesOf(policy: object): readonly Stage[] {
  if (!isPolicy(policy)) invalid('stagesOf(policy)', 'a breakwater policy or pipeline', policy);
  return policy[STAGES]!;
}
