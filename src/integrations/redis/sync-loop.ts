import type { Clock, TimerHandle } from '../../extend.js';

/**
 * The background sync of a fleet component: runs `once` every `intervalMs` (counted from the end of
 * the last run) and on demand, one run at a time. A `sync()` during a run gets the next run, which sees
 * everything done until the call, never a second concurrent one. A run that throws becomes a process
 * warning: a bug of ours must not become an unhandled rejection in the user's process.
 */
export class SyncLoop {
  readonly #what: string;
  readonly #once: () => Promise<void>;
  readonly #clock: Clock;
  readonly #intervalMs: number;
  #timer: TimerHandle = undefined;
  #running: Promise<void> | null = null;
  #next: Promise<void> | null = null;
  #closed = false;
  readonly #tick = () => {
    this.#timer = undefined;
    void this.sync().then(this.#arm);
  };
  readonly #arm = (): void => {
    if (this.#closed || this.#timer !== undefined) return;
    this.#timer = this.#clock.setTimer(this.#tick, this.#intervalMs);
  };
  readonly #warn = (error: unknown): void => {
    const message = error instanceof Error ? error.message : String(error);
    process.emitWarning(`breakwater: ${this.#what} sync failed: ${message}`, { code: 'BW_REDIS_SYNC_ERROR' });
  };

  /** `what` names the component in warnings. */
  constructor(what: string, once: () => Promise<void>, clock: Clock, intervalMs: number) {
    this.#what = what;
    this.#once = once;
    this.#clock = clock;
    this.#intervalMs = intervalMs;
  }

  /** Syncs now, then every interval until `close()`; settles once the first sync is done. */
  start(): Promise<void> {
    return this.sync().then(this.#arm);
  }

  /** Syncs now, or right after the run in progress; never rejects. */
  sync(): Promise<void> {
    if (this.#closed) return Promise.resolve();
    const running = this.#running;
    if (running === null) return this.#run();
    this.#next ??= running.then(() => {
      this.#next = null;
      return this.#run();
    });
    return this.#next;
  }

  /** Stops the timer; later `sync()` calls do nothing. */
  close(): void {
    this.#closed = true;
    if (this.#timer !== undefined) this.#clock.clearTimer(this.#timer);
    this.#timer = undefined;
  }

  #run(): Promise<void> {
    const run: Promise<void> = this.#once()
      .catch(this.#warn)
      .finally(() => {
        if (this.#running === run) this.#running = null;
      });
    this.#running = run;
    return run;
  }
}
