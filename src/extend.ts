// breakwater/extend: what a policy or an integration of your own is built with, the same parts the
// built-in integrations use. The stage protocol itself (definePolicy, Gate, Wrapper, Fail, ...) is also
// exported from the main entry; this adds the kit around it: option validation, events, callback
// guards, error classes with brands. See docs/concepts.md ("Writing a policy").

export type { Clock, RandomSource, TimerHandle } from './core/clock.js';
export { MAX_TIMER_MS, systemClock } from './core/clock.js';
export type { CommonOptions } from './core/common-options.js';
export { COMMON_KEYS, resolveClock, resolveName, resolveRandom } from './core/common-options.js';
export type { Context, ExecuteOptions, Scope, Task } from './core/context.js';
export type { ErrorRow } from './core/errors.js';
export { defineError, errorRow } from './core/errors.js';
export type { Disposer, Listener, Subscribe } from './core/events.js';
export { Emitter } from './core/events.js';
export type { Failure } from './core/failure.js';
export { failureOf } from './core/failure.js';
export type { InvalidOptionError, NumberRange } from './core/options.js';
export { boolean, checkKeys, func, invalid, number, oneOf, string } from './core/options.js';
export type { Outcome } from './core/outcome.js';
export { Fail } from './core/outcome.js';
export type { Policy } from './core/policy.js';
export { definePolicy, isPolicy, stagesOf } from './core/policy.js';
export type { CallbackErrorEvent } from './core/report.js';
export {
  guarded,
  isFiniteNumber,
  isString,
  notPromise,
  reportCallbackError,
  reportRejection,
} from './core/report.js';
export { RollingCounts } from './core/rolling-counts.js';
export type { Gate, Result, Runner, ScopeGate, Stage, Wrapper } from './core/stage.js';
export { Recovery } from './core/stage.js';
export type { CallOutcome } from './metrics/event-stream.js';
export { EventStream, outcomeOf, resultOutcome } from './metrics/event-stream.js';
