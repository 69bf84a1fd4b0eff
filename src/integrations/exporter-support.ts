import { invalid } from '../extend.js';
import type { BulkheadSnapshot, CircuitSnapshot, CircuitStateName, SloSnapshot } from '../index.js';
import type { SnapshotBase } from '../metrics/observable.js';
import type { PolicyRegistry } from '../metrics/registry.js';

/**
 * Every circuit state, so that a state gauge reports 0 for the states a breaker is not in: a series
 * that vanished would leave the last 1 standing in a dashboard until it went stale.
 */
export const CIRCUIT_STATES: readonly CircuitStateName[] = Object.freeze([
  'closed',
  'open',
  'half-open',
  'isolated',
  'disabled',
  'metrics-only',
]);

/**
 * Kinds whose call durations an exporter records, or undefined for every kind. Recording a duration
 * costs the metrics library about a microsecond per call and policy; in a pipeline the durations of
 * nested policies nearly coincide, so recording only the outermost kind is often enough.
 */
export function kindSet(path: string, value: unknown): ReadonlySet<string> | undefined {
  if (value === undefined) return undefined;
  if (!Array.isArray(value) || value.some((k) => typeof k !== 'string' || k === '')) {
    invalid(path, "an array of policy kinds (e.g. ['circuitBreaker'])", value);
  }
  return new Set(value as string[]);
}

export function checkRegistry(path: string, value: unknown): PolicyRegistry {
  const r = value as Partial<PolicyRegistry> | null;
  if (
    typeof r !== 'object' ||
    r === null ||
    typeof r.onEvent !== 'function' ||
    typeof r.onRemove !== 'function' ||
    !('policies' in r)
  ) {
    invalid(path, 'a PolicyRegistry (policyRegistry())', value);
  }
  return value as PolicyRegistry;
}

export function isCircuitSnapshot(s: SnapshotBase): s is CircuitSnapshot {
  return s.kind === 'circuitBreaker';
}

export function isBulkheadSnapshot(s: SnapshotBase): s is BulkheadSnapshot {
  return s.kind === 'bulkhead';
}

export function isSloSnapshot(s: SnapshotBase): s is SloSnapshot {
  return s.kind === 'slo';
}
