import { AbortScope, type Scope } from './context.js';
import { Fail, toOutcome } from './outcome.js';
import { type Gate, Recovery, type Result, type Runner, type ScopeGate, type Stage } from './stage.js';

// The only place that knows how stages are fused and how a pipeline's result reaches its caller.
//
// Consecutive gates and scope gates form a segment that runs around a single promise: enter them all,
// call what is inside, exit them innermost first in one reaction. A recovering gate (retry, fallback)
// and a wrapper each sit between segments. Every part takes the continuation of what is outside it and
// applies it in its own last step, so nesting costs no promise per part; the outermost part's
// continuation is the edge (what `execute` or `executeOutcome` makes of the result). Parts run with
// `.then` rather than `async`: on Node 20 an async frame costs about twice a `.then` with two closures.

/** What the caller makes of a result; may throw (the `execute` edge does). */
export type Continue = (result: Result) => unknown;

const identity: Continue = (result) => result;

/** The edges, where a pipeline's result reaches its caller. Only the outermost part applies one. */
export const EDGE = Object.freeze({
  /** The result as it is (a value or a Fail). */
  inner: identity,
  /** `execute`: a Fail becomes a rejection. */
  throw: ((result) => {
    if (result instanceof Fail) throw result.error;
    return result;
  }) as Continue,
  /** `executeOutcome`: everything becomes an Outcome. */
  outcome: toOutcome as Continue,
});

/** A compiled part: runs everything inside it and applies `k` to the result in its own last step. */
export type Part = (scope: Scope, k: Continue) => Promise<unknown>;

/** The task itself, as the innermost part. */
const TASK: Part = (scope, k) => run(scope, k);

/** Compiles stages (outermost first) into the part that runs one call; the caller passes the edge. */
export function compile(stages: readonly Stage[]): Part {
  // Built from the inside out: `inner` runs everything below the stage being added.
  let inner = TASK;
  let gates: (Gate | ScopeGate)[] = [];
  const closeSegment = () => {
    if (gates.length === 0) return;
    inner = segment(gates.reverse(), inner);
    gates = [];
  };
  for (let i = stages.length - 1; i >= 0; i--) {
    const stage = stages[i]!;
    if (stage.stage === 'wrapper') {
      closeSegment();
      inner = wrapped(stage.wrap(runnerOf(inner)));
    } else if (stage.stage === 'gate' && stage.recovers === true) {
      closeSegment();
      inner = recovering(stage, inner);
    } else {
      gates.push(stage);
    }
  }
  closeSegment();
  return inner;
}

/** The task is called directly, not through its part: one call less per policy alone. */
function direct(part: Part): Part {
  return part === TASK ? run : part;
}

/** The runner of a part, for a wrapper: resolves to the part's result. */
function runnerOf(part: Part): Runner {
  return (scope) => part(scope, identity);
}

/** A wrapper's runner as a part. */
function wrapped(runner: Runner): Part {
  return (scope, k) => (k === identity ? runner(scope) : runner(scope).then(k));
}

/**
 * Calls the task and passes its result (a value or a Fail, whatever form the call took: a value, a
 * throw, a promise, a rejection, a foreign thenable) to `k`. The returned promise rejects only if `k`
 * throws.
 */
function run(scope: Scope, k: Continue): Promise<unknown> {
  let pending: unknown;
  try {
    pending = scope.fn(scope);
  } catch (error) {
    return resolveWith(k, new Fail(error));
  }
  if (pending instanceof Promise) return pending.then(k, (error) => k(new Fail(error)));
  if (isThenable(pending)) return Promise.resolve(pending).then(k, (error) => k(new Fail(error)));
  return resolveWith(k, pending);
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return (
    (typeof value === 'object' || typeof value === 'function') &&
    value !== null &&
    typeof (value as PromiseLike<unknown>).then === 'function'
  );
}

/** Applies `k` now, as a promise: a throw becomes a rejection. */
function resolveWith(k: Continue, result: Result): Promise<unknown> {
  try {
    return Promise.resolve(k(result));
  } catch (error) {
    return Promise.reject(error);
  }
}

/** One recovering gate (a retry, a fallback) around `inner`: its `exit` may answer later. */
function recovering(g: Gate, inside: Part): Part {
  const inner = direct(inside);
  const again = runnerOf(inner);
  return (scope, k) => {
    const token = g.enter(scope);
    if (typeof token === 'object' && token !== null) {
      if (token instanceof Promise) {
        return admission(g, scope, token).then((admitted) =>
          admitted instanceof Fail
            ? k(admitted)
            : inner(scope, (result) => recovered(g, scope, admitted, result, again, k)),
        );
      }
      if (token instanceof Fail) return resolveWith(k, token);
    }
    return inner(scope, (result) => recovered(g, scope, token, result, again, k));
  };
}

function recovered(
  g: Gate,
  scope: Scope,
  token: unknown,
  result: Result,
  again: Runner,
  k: Continue,
): unknown {
  const out = g.exit(scope, token, result);
  // Most results are not objects: skip the class checks for them.
  if (typeof out === 'object' && out !== null) {
    if (out instanceof Recovery) return out.run(again).then(k);
    if (out instanceof Promise) return out.then(k);
  }
  return k(out);
}

const GATE = 0;
const SCOPE = 1;
const RACING = 2;
/** What `racedAt` answers when no racing gate, or more than one, entered a child of its own. */
const NONE = -1;
const SEVERAL = -2;

/**
 * The part of consecutive gates (outermost first) around `inner`. Per call it holds one token per gate;
 * the scope a gate runs in is the token of the nearest scope gate outside it, or the scope the segment
 * was entered with.
 */
function segment(gates: readonly (Gate | ScopeGate)[], inside: Part): Part {
  const inner = direct(inside);
  const n = gates.length;
  const kinds = gates.map((g) => (g.stage === 'gate' ? GATE : g.races === true ? RACING : SCOPE));
  if (n === 1)
    return kinds[0] === RACING ? singleRace(gates[0] as ScopeGate, inner) : single(gates[0]!, inner);
  // Index of the nearest scope gate outside gate i, or -1.
  const scopeFrom: number[] = [];
  for (let i = 0, last = -1; i < n; i++) {
    scopeFrom.push(last);
    if (kinds[i] !== GATE) last = i;
  }
  const racing = kinds.includes(RACING);

  /** The scope gate i runs in. */
  const scopeOf = (i: number, base: Scope, tokens: unknown[]): Scope => {
    const m = scopeFrom[i]!;
    return m >= 0 ? (tokens[m] as Scope) : base;
  };

  /**
   * Exits gates from..to, innermost first. `pending`, while the work inside is still running (a racing
   * gate settled early), goes on every Fail passed out, so outer slots are held until the work ends.
   */
  const unwind = (
    from: number,
    to: number,
    base: Scope,
    tokens: unknown[],
    result: Result,
    pending?: Promise<unknown>,
  ): Result => {
    let r = result;
    for (let i = from; i >= to; i--) {
      const m = scopeFrom[i]!;
      r = (gates[i] as Gate).exit(m >= 0 ? (tokens[m] as Scope) : base, tokens[i], r);
      if (pending !== undefined && r instanceof Fail && r.pending === undefined) r.pending = pending;
    }
    return r;
  };

  /** Enters gates from `i` on, `current` being the scope gate i runs in. */
  const enter = (
    i: number,
    base: Scope,
    current: Scope,
    tokens: unknown[],
    k: Continue,
  ): Promise<unknown> => {
    for (; i < n; i++) {
      const gate = gates[i]!;
      const token = gate.enter(current);
      if (token instanceof Promise) {
        const at = i;
        const here = current;
        return admission(gate as Gate, here, token).then((admitted) => {
          if (admitted instanceof Fail) return k(unwind(at - 1, 0, base, tokens, admitted));
          tokens[at] = admitted;
          return enter(at + 1, base, here, tokens, k);
        });
      }
      if (token instanceof Fail) return resolveWith(k, unwind(i - 1, 0, base, tokens, token));
      tokens[i] = token;
      if (kinds[i] !== GATE) current = token as Scope;
    }
    if (racing) {
      const raced = racedAt(base, tokens);
      if (raced >= 0) return raceOne(raced, base, current, tokens, k);
      if (raced === SEVERAL)
        return new Race(racingChildren(base, tokens), base, tokens, unwind).start(inner, current, k);
    }
    return inner(current, (result) => k(unwind(n - 1, 0, base, tokens, result)));
  };

  /** Whether racing gate i entered a child of its own (one that can settle the call early). */
  const races = (i: number, base: Scope, tokens: unknown[]): boolean => {
    const child = tokens[i];
    return kinds[i] === RACING && child !== scopeOf(i, base, tokens) && child instanceof AbortScope;
  };

  /** The one racing gate of the call with a child of its own, NONE, or SEVERAL. */
  const racedAt = (base: Scope, tokens: unknown[]): number => {
    let found = NONE;
    for (let i = 0; i < n; i++) {
      if (!races(i, base, tokens)) continue;
      if (found !== NONE) return SEVERAL;
      found = i;
    }
    return found;
  };

  const racingChildren = (base: Scope, tokens: unknown[]): number[] => {
    const found: number[] = [];
    for (let i = 0; i < n; i++) if (races(i, base, tokens)) found.push(i);
    return found;
  };

  /**
   * The common race: one racing gate `r` (an aggressive timeout). When its child aborts, gates r..0 exit
   * at once and the call settles; the gates inside it exit when the work really ends, and that end is
   * the `pending` of what was passed out.
   */
  const raceOne = (
    r: number,
    base: Scope,
    current: Scope,
    tokens: unknown[],
    k: Continue,
  ): Promise<unknown> =>
    new Promise((resolve, reject) => {
      let ended: ((pending: unknown) => void) | null = null;
      const deliver = (out: Result) => {
        try {
          resolve(k(out));
        } catch (error) {
          reject(error);
        }
      };
      (tokens[r] as AbortScope).settle = (failure) => {
        const pending = new Promise((resolveEnd) => {
          ended = resolveEnd;
        });
        failure.pending = pending;
        deliver(unwind(r, 0, base, tokens, failure, pending));
      };
      inner(current, (result) => {
        if (ended === null) {
          deliver(unwind(n - 1, 0, base, tokens, result));
          return;
        }
        const out = unwind(n - 1, r + 1, base, tokens, result);
        ended(out instanceof Fail ? out.pending : undefined);
      });
    });

  return (scope, k) => enter(0, scope, scope, new Array(n), k);
}

/** One gate around `inner`, its token kept in the closure: no array per call. */
function single(gate: Gate | ScopeGate, inside: Part): Part {
  const inner = direct(inside);
  const g = gate as Gate;
  const scoped = gate.stage === 'scope';
  return (scope, k) => {
    const token = g.enter(scope);
    if (token instanceof Promise) {
      return admission(g, scope, token).then((admitted) =>
        admitted instanceof Fail ? k(admitted) : inner(scope, (result) => k(g.exit(scope, admitted, result))),
      );
    }
    if (token instanceof Fail) return resolveWith(k, token);
    return inner(scoped ? (token as Scope) : scope, (result) => k(g.exit(scope, token, result)));
  };
}

/** One racing scope gate (an aggressive timeout alone) around `inner`; see `raceOne`. */
function singleRace(g: ScopeGate, inside: Part): Part {
  const inner = direct(inside);
  return (scope, k) => {
    const child = g.enter(scope);
    if (child instanceof Fail) return resolveWith(k, child);
    if (child === scope || !(child instanceof AbortScope)) {
      return inner(child, (result) => k(g.exit(scope, child, result)));
    }
    return new Promise((resolve, reject) => {
      let ended: ((pending: unknown) => void) | null = null;
      const deliver = (result: Result) => {
        try {
          resolve(k(g.exit(scope, child, result)));
        } catch (error) {
          reject(error);
        }
      };
      // The child aborted before the work ended: settle now; outer slots wait for the work's end.
      child.settle = (failure) => {
        failure.pending = new Promise((resolveEnd) => {
          ended = resolveEnd;
        });
        deliver(failure);
      };
      inner(child, (result) => {
        if (ended === null) deliver(result);
        else ended(result instanceof Fail ? result.pending : undefined);
      });
    });
  };
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

type Unwind = (
  from: number,
  to: number,
  base: Scope,
  tokens: unknown[],
  result: Result,
  pending?: Promise<unknown>,
) => Result;

/**
 * A call with several racing gates (nested aggressive timeouts) that entered children of their own.
 * When one's child aborts, the gates from it outwards that have not exited yet exit at once with the
 * abort, and the first such exit settles the call; the gates inside exit when the work really ends,
 * and that end is the `pending` of everything passed out early.
 */
class Race {
  readonly #base: Scope;
  readonly #tokens: unknown[];
  readonly #unwind: Unwind;
  /** Gates above this index have not exited; everything from it outwards has. */
  #open = -1;
  #settle: ((out: Result) => void) | null = null;
  #ended: ((pending: unknown) => void) | null = null;
  #pending: Promise<unknown> | undefined = undefined;

  constructor(children: readonly number[], base: Scope, tokens: unknown[], unwind: Unwind) {
    this.#base = base;
    this.#tokens = tokens;
    this.#unwind = unwind;
    for (const i of children) (tokens[i] as AbortScope).settle = (failure) => this.#early(i, failure);
  }

  start(inner: Part, scope: Scope, k: Continue): Promise<unknown> {
    return new Promise((resolve, reject) => {
      this.#settle = (out) => {
        this.#settle = null;
        try {
          resolve(k(out));
        } catch (error) {
          reject(error);
        }
      };
      inner(scope, (result) => {
        const out = this.#unwind(this.#tokens.length - 1, this.#open + 1, this.#base, this.#tokens, result);
        if (this.#settle !== null) this.#settle(out);
        else this.#ended?.(out instanceof Fail ? out.pending : undefined);
      });
    });
  }

  /** Child `i` aborted: exit the gates from it outwards that have not exited yet. */
  #early(i: number, failure: Fail): void {
    if (i <= this.#open) return;
    this.#pending ??= new Promise((resolve) => {
      this.#ended = resolve;
    });
    failure.pending = this.#pending;
    const out = this.#unwind(i, this.#open + 1, this.#base, this.#tokens, failure, this.#pending);
    this.#open = i;
    this.#settle?.(out);
  }
}
