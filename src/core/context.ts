import type { Clock } from './clock.js';
import type { DeadlineEntry, Lane } from './deadline-queue.js';
import { Fail } from './outcome.js';

/** What the protected function receives. */
export interface Context {
  /**
   * Aborts when the caller aborts or a deadline of an enclosing timeout passes. Created on first read:
   * a function that never reads it costs no AbortController.
   */
  readonly signal: AbortSignal;
  /** 1 for the first try, 2 for the first retry, and so on. */
  readonly attempt: number;
  /** Absolute deadline on the policy clock's timeline, or Infinity when no timeout encloses the call. */
  readonly deadline: number;
  /** Milliseconds left before the deadline (Infinity when none, never negative). */
  readonly remainingMs: number;
  /** The key given to `execute(fn, { key })`: what keyed policies (coalescing, keyed rate limits) group by. */
  readonly key: string | undefined;
}

/** The second argument of `execute`: a signal, or a signal and a key. */
export interface ExecuteOptions {
  signal?: AbortSignal | undefined;
  key?: string | undefined;
}

export type Task<T> = (context: Context) => T | PromiseLike<T>;

/** Receives the deadline of an armed scope. */
export interface DeadlineOwner {
  onDeadline(scope: AbortScope): void;
  /** Called when the scope's signal is first read, so cooperative timeouts can arm lazily. */
  onSignalRead(scope: AbortScope): void;
}

/**
 * The context of one execution (root) or of one retry attempt. It cannot abort by itself: its signal
 * is the caller's (root) or its parent's. Kept small on purpose: one is allocated per call.
 */
export class Scope implements Context {
  readonly fn: Task<unknown>;
  readonly parent: Scope | null;
  /** The caller's signal (a root); shared scopes set it when every caller has left. */
  callerSignal: AbortSignal | undefined;
  readonly key: string | undefined;
  attempt: number;
  deadline: number;
  ctrl: AbortController | null;

  constructor(fn: Task<unknown>, parent: Scope | null, callerSignal: AbortSignal | undefined, key?: string) {
    this.fn = fn;
    this.parent = parent;
    this.callerSignal = callerSignal;
    this.key = parent === null ? key : parent.key;
    this.attempt = parent === null ? 1 : parent.attempt;
    this.deadline = parent === null ? Number.POSITIVE_INFINITY : parent.deadline;
    this.ctrl = null;
  }

  get signal(): AbortSignal {
    if (this.ctrl !== null) return this.ctrl.signal;
    if (this.parent !== null) return this.parent.signal;
    if (this.callerSignal !== undefined) return this.callerSignal;
    // Nothing can abort this execution; still a fresh signal, never a shared one that would collect
    // listeners of careless callers.
    this.ctrl = new AbortController();
    return this.ctrl.signal;
  }

  get remainingMs(): number {
    const clock = this.clock;
    if (this.deadline === Number.POSITIVE_INFINITY || clock === null) return Number.POSITIVE_INFINITY;
    return Math.max(0, this.deadline - clock.now());
  }

  /** Clock of the nearest deadline. */
  get clock(): Clock | null {
    return this.parent === null ? null : this.parent.clock;
  }

  /** True when anything can abort this scope (a caller signal or an abortable ancestor). */
  get abortable(): boolean {
    return this.parent !== null ? this.parent.abortable : this.callerSignal !== undefined;
  }

  /**
   * True when the work was called off by someone who no longer wants the result: the caller aborted,
   * or one of our own policies cancelled it (a hedged attempt that lost). Such an outcome says nothing
   * about the downstream's health. A timeout of ours is not a cancellation: the downstream was slow.
   */
  cancelled(): boolean {
    let scope: Scope = this;
    while (scope.parent !== null) {
      // Only abort scopes have the field; a plain scope's read is undefined (failure paths only).
      if ((scope as Partial<AbortScope>).cancelledByPolicy === true) return true;
      scope = scope.parent;
    }
    return scope.callerSignal?.aborted === true;
  }

  /** True when this scope or any ancestor is aborted, without creating a signal. */
  isAborted(): boolean {
    return this.parent !== null ? this.parent.isAborted() : this.callerSignal?.aborted === true;
  }

  /** The reason of the nearest abort. */
  abortReason(): unknown {
    return this.parent !== null ? this.parent.abortReason() : this.callerSignal?.reason;
  }
}

/**
 * A scope that can abort on its own: a timeout's deadline or a hedged attempt that lost. It is also
 * the deadline-queue entry of its timeout, so arming allocates nothing more.
 */
export class AbortScope extends Scope implements DeadlineEntry {
  readonly #clock: Clock | null;
  owner: DeadlineOwner | null;
  /** The budget its owner gave it (a timeout's duration for this call), ms. */
  durationMs: number;
  /** Aggressive timeouts race the work: this resolves the caller's side early. */
  settle: ((result: Fail) => void) | null;
  aborted: boolean;
  /** A policy of ours aborted this scope because it no longer wants the result (see cancelled()). */
  cancelledByPolicy: boolean;
  reason: unknown;
  timedOut: boolean;
  closed: boolean;
  armed: boolean;
  linked: AbortSignal | null;
  prevEntry: DeadlineEntry | null;
  nextEntry: DeadlineEntry | null;
  lane: Lane | null;

  constructor(parent: Scope, deadline: number, clock: Clock | null, owner: DeadlineOwner | null) {
    super(parent.fn, parent, undefined);
    this.deadline = deadline;
    this.#clock = clock;
    this.owner = owner;
    this.durationMs = 0;
    this.settle = null;
    this.aborted = false;
    this.cancelledByPolicy = false;
    this.reason = undefined;
    this.timedOut = false;
    this.closed = false;
    this.armed = false;
    this.linked = null;
    this.prevEntry = null;
    this.nextEntry = null;
    this.lane = null;
  }

  override get signal(): AbortSignal {
    if (this.ctrl !== null) return this.ctrl.signal;
    const ctrl = new AbortController();
    this.ctrl = ctrl;
    if (this.aborted) {
      ctrl.abort(this.reason);
    } else if (!this.closed) {
      this.watchParent();
      this.owner?.onSignalRead(this);
    }
    return ctrl.signal;
  }

  override get clock(): Clock | null {
    return this.#clock ?? super.clock;
  }

  override get abortable(): boolean {
    return true;
  }

  override isAborted(): boolean {
    return this.aborted || super.isAborted();
  }

  override abortReason(): unknown {
    return this.aborted ? this.reason : super.abortReason();
  }

  /** Aborts because the result is no longer wanted: outcomes below are ignored, not failures. */
  cancel(reason: unknown): void {
    if (this.aborted) return;
    this.cancelledByPolicy = true;
    this.abort(reason);
  }

  /** Aborts this scope's signal (if created) and resolves a pending race with the reason. */
  abort(reason: unknown): void {
    if (this.aborted) return;
    this.aborted = true;
    this.reason = reason;
    this.#unlink();
    if (this.ctrl !== null) this.ctrl.abort(reason);
    const settle = this.settle;
    if (settle !== null) {
      this.settle = null;
      settle(new Fail(reason));
    }
  }

  /** Listens for the parent's abort (only where the parent can abort at all). */
  watchParent(): void {
    const parent = this.parent!;
    if (this.linked !== null || !parent.abortable) return;
    const signal = parent.signal;
    if (signal.aborted) {
      this.abort(signal.reason);
      return;
    }
    this.linked = signal;
    signal.addEventListener('abort', this, { once: true });
  }

  /** EventListener protocol: the parent signal aborted. An object listener avoids a closure per scope. */
  handleEvent(event: Event): void {
    this.linked = null;
    this.abort((event.target as AbortSignal).reason);
  }

  /** Ends the scope: no listener or deadline entry survives the call; its signal is never aborted after. */
  close(): void {
    this.closed = true;
    this.settle = null;
    this.#unlink();
    if (this.lane !== null) this.lane.remove(this);
  }

  onDeadline(): void {
    this.owner?.onDeadline(this);
  }

  #unlink(): void {
    if (this.linked !== null) {
      this.linked.removeEventListener('abort', this);
      this.linked = null;
    }
  }
}
