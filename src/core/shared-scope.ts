import { Scope, type Task } from './context.js';

/**
 * The scope of work shared by several callers: a coalesced execution or a batch. It is a root, so no
 * single caller's signal reaches it (one caller leaving must not cancel the others' work), and it
 * aborts only when its owner says so, once every caller has left.
 *
 * Its signal is created on first read, like any scope's: an AbortController costs about 4.7 us on
 * Node 20, more than the whole call, and most shared work finishes with its callers still waiting.
 * It has no deadline of its own: callers with different deadlines share it, and it ends when its last
 * caller leaves; timeouts placed inside the coalescing policy bound the work itself.
 */
export class SharedScope extends Scope {
  constructor(fn: Task<unknown>, key: string | undefined, attempt: number) {
    super(fn, null, undefined, key);
    this.attempt = attempt;
  }

  /** Inner policies (retry sleeps, queued bulkheads, aggressive timeouts) must listen: it can abort. */
  override get abortable(): boolean {
    return true;
  }

  abort(reason: unknown): void {
    if (this.callerSignal !== undefined) return;
    // The core reads a root's abort state from `callerSignal` (isAborted, abortReason, cancelled:
    // failures after every caller left are ignored by inner breakers). Set it before aborting, so
    // listeners that run during the abort already see the scope as aborted.
    if (this.ctrl !== null) {
      this.callerSignal = this.ctrl.signal;
      this.ctrl.abort(reason);
    } else {
      this.callerSignal = AbortSignal.abort(reason);
    }
  }
}
