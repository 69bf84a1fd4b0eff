import type { Disposer, Subscribe } from '../core/events.js';
import type { PolicyEvent, PolicyKind } from './events.js';

/** What every policy snapshot has; each policy adds its own figures. */
export interface SnapshotBase {
  readonly kind: PolicyKind;
  readonly name: string;
}

/** A policy that can be listed in a registry, scraped by exporters and shown on the dashboard. */
export interface Observable {
  readonly kind: PolicyKind;
  readonly name: string;
  snapshot(): SnapshotBase;
  /** Every event of the policy, in the uniform shape metrics sinks consume. */
  readonly onEvent: Subscribe<PolicyEvent>;
}

/**
 * Policies that come and go (the per-origin breakers of `breakwater/fetch`): a registry given the group
 * lists its members while they live. `observe` calls `added` for every current member at once and for
 * each new one, and `removed` for each that goes.
 */
export interface ObservableGroup {
  observe(added: (member: Observable) => void, removed: (member: Observable) => void): Disposer;
}

export function isObservableGroup(value: unknown): value is ObservableGroup {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as Partial<ObservableGroup>).observe === 'function'
  );
}

export function isObservable(value: unknown): value is Observable {
  const v = value as Partial<Observable> | null;
  return (
    typeof v === 'object' &&
    v !== null &&
    typeof v.name === 'string' &&
    typeof v.kind === 'string' &&
    typeof v.snapshot === 'function' &&
    typeof v.onEvent === 'function'
  );
}
