import type { Scope } from './context.js';
import type { List } from './list.js';
import { Fail } from './outcome.js';

/** What a waiter tells its policy when its caller aborts while it waits. */
export interface WaiterOwner<W extends Waiter> {
  onWaiterAborted(waiter: W, reason: unknown): void;
}

/**
 * A call waiting for something (a slot, a permit, shared work). It holds the caller's resolver (not
 * the task), so the call continues in its caller's own async context, and it is its own abort
 * listener: no closure per waiter. It is a node of a `List`, so leaving its queue is O(1). Policies
 * extend it with what they need to know about the wait.
 */
export class Waiter {
  readonly owner: WaiterOwner<never>;
  /** A Fail rejects the caller's promise (a public API like `batch.load`) instead of resolving to it. */
  readonly rejects: boolean;
  resolve: (value: unknown) => void = noop;
  reject: (error: unknown) => void = noop;
  signal: AbortSignal | null = null;
  prev: this | null = null;
  next: this | null = null;

  constructor(owner: WaiterOwner<never>, rejects = false) {
    this.owner = owner;
    this.rejects = rejects;
  }

  /** The caller's promise: settled by `deliver`. */
  promise(): Promise<unknown> {
    return new Promise((resolve, reject) => {
      this.resolve = resolve;
      this.reject = reject;
    });
  }

  /** Follows the caller's signal until the waiter is delivered or detached. */
  watch(signal: AbortSignal): void {
    this.signal = signal;
    signal.addEventListener('abort', this, ONCE);
  }

  /** Follows the scope's signal, only when the scope can abort at all (no signal is created otherwise). */
  watchScope(scope: Scope): void {
    if (scope.abortable) this.watch(scope.signal);
  }

  /** EventListener protocol: the caller aborted. */
  handleEvent(): void {
    const signal = this.signal;
    if (signal === null) return;
    this.signal = null;
    (this.owner as WaiterOwner<Waiter>).onWaiterAborted(this, signal.reason);
  }

  /** Stops listening: no listener survives the wait. */
  detach(): void {
    if (this.signal !== null) {
      this.signal.removeEventListener('abort', this);
      this.signal = null;
    }
  }

  /** Settles the caller with a value or a Fail, after detaching. */
  deliver(result: unknown): void {
    this.detach();
    if (this.rejects && result instanceof Fail) this.reject(result.error);
    else this.resolve(result);
  }
}

function noop(): void {}

/** Shared listener options: an object literal per call costs ~70 ns more on Node 20. */
const ONCE = Object.freeze({ once: true });

/** A caller waiting for one piece of shared work (a coalesced execution, a key of a batch). */
export class GroupWaiter<G> extends Waiter {
  readonly group: G;

  constructor(owner: WaiterOwner<GroupWaiter<G>>, group: G, rejects: boolean) {
    super(owner as WaiterOwner<never>, rejects);
    this.group = group;
  }
}

/** Delivers `result` to every waiter of `list`, emptying it. */
export function deliverAll<W extends Waiter>(list: List<W>, result: unknown): void {
  for (let w = list.shift(); w !== null; w = list.shift()) w.deliver(result);
}

/** A result as the promise a caller would have waited on: rejecting on failure when `rejects`. */
export function settled(result: unknown, rejects: boolean): Promise<unknown> {
  if (rejects && result instanceof Fail) return Promise.reject(result.error);
  return Promise.resolve(result);
}
