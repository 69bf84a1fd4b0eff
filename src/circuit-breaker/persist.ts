import { invalid } from '../core/options.js';
import type { BreakerStateMachine } from './state-machine.js';
import type { CircuitBreakerState } from './types.js';

// Warm restarts: a breaker's state as plain data (durations, never clock values) and back.

export function exportState(sm: BreakerStateMachine, now: number): CircuitBreakerState {
  // A half-open circuit is saved as open with no break left: the restored one probes on its next call.
  const open = sm.state === 'open' || sm.state === 'half-open';
  return {
    version: 1,
    state: open ? 'open' : 'closed',
    openForMs: sm.state === 'open' ? Math.max(0, sm.openUntil - now) : 0,
    consecutiveOpens: sm.consecutiveOpens,
    lastBreakMs: sm.lastBreakMs,
    window: sm.window.export(now),
  };
}

/** Loads what exportState() produced, checked first: a bad state throws and changes nothing. */
export function importState(sm: BreakerStateMachine, state: CircuitBreakerState, now: number): void {
  const path = 'circuitBreaker.restore(state)';
  if (typeof state !== 'object' || state === null || state.version !== 1)
    invalid(path, 'a state from toJSON() (version 1)', state);
  if (state.state !== 'closed' && state.state !== 'open')
    invalid(`${path}.state`, '"closed" or "open"', state.state);
  for (const key of ['openForMs', 'consecutiveOpens', 'lastBreakMs'] as const) {
    const v = state[key];
    if (typeof v !== 'number' || !Number.isFinite(v) || v < 0)
      invalid(`${path}.${key}`, 'a finite number >= 0', v, 'range');
  }
  // Counts from a differently shaped window cannot be trusted: start that window empty.
  if (!sm.window.import(state.window, now)) sm.window.reset();
  sm.restore(state.state, now, state.openForMs, state.consecutiveOpens, state.lastBreakMs);
}
