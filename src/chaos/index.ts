import type { Context, Scope } from '../core/context.js';
import type { Subscribe } from '../core/events.js';
import { func, invalid, MAX_TIMER_MS, number } from '../core/options.js';
import { Fail } from '../core/outcome.js';
import { Executor, type Policy, STAGES } from '../core/policy.js';
import { reportCallbackError } from '../core/report.js';
import type { Gate, Result, Stage } from '../core/stage.js';
import { EventStream } from '../metrics/event-stream.js';
import type { FaultEvent, PolicyFaultEvent } from '../metrics/events.js';
import type { Observable, SnapshotBase } from '../metrics/observable.js';
import { type FaultOptions, type ResolvedFaultOptions, resolveFaultOptions, resolveRate } from './options.js';

export type { FaultOptions } from './options.js';

export type FaultKind = PolicyFaultEvent['fault'];

export interface FaultSnapshot extends SnapshotBase {
  readonly kind: FaultPolicy['kind'];
  readonly fault: FaultKind;
  readonly enabled: boolean;
  readonly rate: number;
  /** Totals since creation. */
  readonly calls: number;
  readonly injected: number;
}

/** A fault-injection policy. It composes in pipelines like any policy; put it innermost to act as the downstream. */
export interface FaultPolicy extends Policy, Observable {
  /** The factory that built it. */
  readonly kind: 'injectError' | 'injectLatency' | 'injectResult' | 'injectBehavior';
  readonly name: string;
  readonly fault: FaultKind;
  readonly enabled: boolean;
  readonly rate: number;
  enable(): void;
  disable(): void;
  /** Changes the probability at run time, in [0, 1]. */
  setRate(rate: number): void;
  snapshot(): FaultSnapshot;
  /** Every event of the policy: `fault`. */
  readonly onEvent: Subscribe<FaultEvent>;
  /** A fault was injected: the `fault` events. */
  readonly onFault: Subscribe<PolicyFaultEvent>;
}

/** The stage of a fault: `fires()` says whether this call gets it. */
type Build = (fault: Fault) => Stage;

class Fault extends Executor implements FaultPolicy {
  readonly kind: FaultPolicy['kind'];
  readonly name: string;
  readonly fault: FaultKind;
  readonly [STAGES]: readonly Stage[];
  readonly #options: ResolvedFaultOptions;
  #enabled: boolean;
  #rate: number;
  #calls = 0;
  #injected = 0;
  readonly #events: EventStream<FaultEvent>;
  readonly onEvent: Subscribe<FaultEvent>;
  readonly onFault: Subscribe<PolicyFaultEvent>;

  constructor(kind: FaultPolicy['kind'], fault: FaultKind, options: ResolvedFaultOptions, build: Build) {
    super();
    this.kind = kind;
    this.fault = fault;
    this.name = options.name;
    this.#options = options;
    this[STAGES] = [build(this)];
    this.#enabled = options.enabled;
    this.#rate = options.rate;
    const events = new EventStream<FaultEvent>(kind, options.name, ['fault']);
    this.#events = events;
    this.onEvent = events.onEvent;
    this.onFault = events.on('fault');
  }

  get enabled(): boolean {
    return this.#enabled;
  }

  get rate(): number {
    return this.#rate;
  }

  enable(): void {
    this.#enabled = true;
  }

  disable(): void {
    this.#enabled = false;
  }

  setRate(rate: number): void {
    this.#rate = resolveRate(`${this.name}.setRate(rate)`, rate);
  }

  snapshot(): FaultSnapshot {
    return {
      kind: this.kind,
      name: this.name,
      fault: this.fault,
      enabled: this.#enabled,
      rate: this.#rate,
      calls: this.#calls,
      injected: this.#injected,
    };
  }

  /** Whether this call gets the fault; counts and reports it. */
  fires(): boolean {
    this.#calls++;
    // A disabled fault draws no random number, so switching it off does not shift a seeded sequence.
    if (!this.#enabled || !(this.#options.random() < this.#rate)) return false;
    this.#injected++;
    if (this.#events.wants('fault'))
      this.#events.emit({ type: 'fault', policy: this.name, kind: this.kind, fault: this.fault });
    return true;
  }

  /** A factory of the fault (error, result or latency function) threw: report it, inject nothing. */
  failed(error: unknown): void {
    reportCallbackError(`${this.fault} fault`, this.name, error);
  }
}

/** A fault decided on the way in: `inject` answers the call's admission (a Fail, or a wait). */
function faultGate(
  fault: Fault,
  inject: (scope: Scope) => 0 | Fail | Promise<0 | Fail>,
  watchesAbort = false,
): Gate<0> {
  return {
    stage: 'gate',
    watchesAbort,
    enter: (scope) => {
      if (!fault.fires()) return 0;
      try {
        return inject(scope);
      } catch (error) {
        fault.failed(error);
        return 0;
      }
    },
    exit: (_scope, _token, result) => result,
  };
}

/** Fails a share of calls with `error` (an Error, or a function of the context building one) without calling the task. */
export function injectError(
  options: FaultOptions & { error: Error | ((context: Context) => Error) },
): FaultPolicy {
  const resolved = resolveFaultOptions('injectError', options, ['error']);
  const error = options.error;
  if (!(error instanceof Error) && typeof error !== 'function')
    invalid('injectError.error', 'an Error or a function returning one', error);
  const make = typeof error === 'function' ? error : () => error;
  return new Fault('injectError', 'error', resolved, (fault) =>
    faultGate(fault, (scope) => new Fail(make(scope))),
  );
}

/** Replaces the task's result with `result` (a value, or a function of the context) for a share of calls. */
export function injectResult<T>(
  options: FaultOptions & { result: T | ((context: Context) => T) },
): FaultPolicy {
  const resolved = resolveFaultOptions('injectResult', options, ['result']);
  if (!('result' in (options ?? {}))) invalid('injectResult.result', 'a value or a function', undefined);
  const result = options.result;
  const make = typeof result === 'function' ? (result as (c: Context) => T) : () => result;
  // Answers without running what is inside, which no gate can do: the one fault that wraps.
  return new Fault('injectResult', 'result', resolved, (fault) => ({
    stage: 'wrapper',
    wrap: (inner) => (scope) => {
      if (!fault.fires()) return inner(scope);
      let value: Result;
      try {
        value = make(scope);
      } catch (error) {
        fault.failed(error);
        return inner(scope);
      }
      return Promise.resolve(value);
    },
  }));
}

/**
 * Delays a share of calls by `latencyMs` (a number, or a function of the context and the random source)
 * before running the task. The delay ends early, with the abort reason, when the call's signal aborts.
 */
export function injectLatency(
  options: FaultOptions & { latencyMs: number | ((context: Context, random: () => number) => number) },
): FaultPolicy {
  const resolved = resolveFaultOptions('injectLatency', options, ['latencyMs']);
  const latency = options.latencyMs;
  if (latency === undefined) invalid('injectLatency.latencyMs', 'a number of ms or a function', latency);
  const delayOf =
    typeof latency === 'function'
      ? latency
      : (
          (ms: number) => () =>
            ms
        )(number('injectLatency.latencyMs', latency, 0, { min: 0, max: MAX_TIMER_MS }));
  // The delay follows the call's signal itself.
  return new Fault('injectLatency', 'latency', resolved, (fault) =>
    faultGate(
      fault,
      (scope) =>
        delay(resolved, scope, Math.max(0, delayOf(scope, resolved.random))).then((aborted) =>
          aborted ? new Fail(scope.abortReason()) : 0,
        ),
      true,
    ),
  );
}

/** Runs `behavior` (e.g. kill a connection, fill a disk) before the task for a share of calls. */
export function injectBehavior(
  options: FaultOptions & { behavior: (context: Context) => unknown },
): FaultPolicy {
  const resolved = resolveFaultOptions('injectBehavior', options, ['behavior']);
  const behavior = func<(context: Context) => unknown>('injectBehavior.behavior', options?.behavior);
  if (behavior === undefined) invalid('injectBehavior.behavior', 'a function', undefined);
  // The behavior is the fault: its throw or rejection fails the call, as the downstream would.
  return new Fault('injectBehavior', 'custom', resolved, (fault) =>
    faultGate(fault, (scope) => {
      let done: unknown;
      try {
        done = behavior(scope);
      } catch (error) {
        return new Fail(error);
      }
      if (!(done instanceof Promise)) return 0;
      return done.then(
        () => 0 as const,
        (error) => new Fail(error),
      );
    }),
  );
}

/**
 * Waits `ms` on the policy clock; resolves true if the scope aborted first. The timer is ref'd, like a
 * retry's sleep: the caller is awaiting this call.
 */
function delay(options: ResolvedFaultOptions, scope: Scope, ms: number): Promise<boolean> {
  if (ms === 0) return Promise.resolve(scope.isAborted());
  const clock = options.clock;
  return new Promise((resolve) => {
    const signal = scope.abortable ? scope.signal : undefined;
    if (signal?.aborted) {
      resolve(true);
      return;
    }
    const onAbort = () => {
      clock.clearTimer(timer);
      resolve(true);
    };
    const timer = clock.setTimer(
      () => {
        signal?.removeEventListener('abort', onAbort);
        resolve(false);
      },
      ms,
      true,
    );
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
