import type { Scope } from './context.js';
import type { Fail } from './outcome.js';
import { PROTOCOL } from './protocol.js';

// The contract between a policy and the pipeline that runs it. A policy is one or more stages; a
// pipeline compiles the stages of all its policies once (core/compile.ts) and runs them per call.
// Stages never throw and never reject: a failure travels as a `Fail` value, and only the public
// `execute` edge turns it into a rejection. The same contract is exported for policies of your own
// (`definePolicy`, docs/concepts.md).

/** What travels through a pipeline: the call's value, or a Fail. */
export type Result = unknown;

/**
 * Decides synchronously around the call: admits or rejects on the way in, records on the way out
 * (circuit breaker, bulkhead, rate limiter). Consecutive gates of a pipeline run around one promise.
 */
export interface Gate<Token = unknown> {
  readonly stage: 'gate';
  /**
   * Admission: a token handed back to `exit`, a Fail to refuse the call (nothing inside runs, `exit` is
   * not called), or, on a slow path only, a promise of either (a queued call). The pipeline settles a
   * pending admission at once when the call's signal aborts, unless `watchesAbort` says the gate does.
   */
  enter(scope: Scope): Token | Fail | Promise<Token | Fail>;
  /**
   * Called exactly once per admitted call with what came back from inside; returns what goes on out.
   * A gate that declares `recovers` may instead return a promise of the result, or a `Recovery` that
   * runs everything inside the gate again (retries).
   */
  exit(scope: Scope, token: Token, result: Result): Result | Recovery | Promise<Result>;
  /** Its asynchronous admissions settle on the scope's abort by themselves (they watch the signal). */
  readonly watchesAbort?: boolean;
  /** `exit` may answer later: with a promise or a `Recovery` instead of a result. */
  readonly recovers?: boolean;
}

/**
 * A gate whose token is the scope everything inside it runs in: a child with a deadline of its own
 * (timeouts), or the same scope when it adds nothing. Entering never waits.
 */
export interface ScopeGate<Child extends Scope = Scope> {
  readonly stage: 'scope';
  enter(scope: Scope): Child | Fail;
  exit(scope: Scope, child: Child, result: Result): Result;
  /**
   * The call settles as soon as the child aborts, even while the work inside goes on (an aggressive
   * timeout). What is outside sees a Fail whose `pending` settles when that work really ends, so slots
   * are held until then; what is inside exits when the work ends.
   */
  readonly races?: boolean;
}

/** Runs everything inside a stage: resolves to a value or a Fail, never rejects. */
export type Runner = (scope: Scope) => Promise<Result>;

/**
 * Owns the call's control flow (hedged attempts, shared work): given the runner of everything inside
 * it, returns the runner of itself.
 */
export interface Wrapper {
  readonly stage: 'wrapper';
  wrap(inner: Runner): Runner;
}

// biome-ignore lint/suspicious/noExplicitAny: a list of stages holds gates of every token type
export type Stage = Gate<any> | ScopeGate<any> | Wrapper;

class RecoveryClass {
  readonly run: (again: Runner) => Promise<Result>;

  constructor(run: (again: Runner) => Promise<Result>) {
    this.run = run;
  }
}

/**
 * Returned by a recovering gate's `exit` to run everything inside the gate again: `run` receives the
 * runner of the inside (call it with a new scope per attempt) and resolves to the final result. Shared
 * by every copy of the protocol in the process, as `Fail` is.
 */
export const Recovery: typeof RecoveryClass = ((globalThis as Record<symbol, unknown>)[
  Symbol.for(`breakwater.protocol.${PROTOCOL}.Recovery`)
] ??= RecoveryClass) as typeof RecoveryClass;
export type Recovery = RecoveryClass;
