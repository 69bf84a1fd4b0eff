import { type Disposer, Emitter, type Listener, type Subscribe } from '../core/events.js';
import { invalid } from '../core/options.js';
import type { PolicyEvent } from './events.js';
import {
  isObservable,
  isObservableGroup,
  type Observable,
  type ObservableGroup,
  type SnapshotBase,
} from './observable.js';

/** What a registry takes: a policy, a pipeline (each of its policies), or a group that follows its members. */
export type Registrable = Observable | ObservableGroup | { readonly policies: readonly unknown[] };

/**
 * The named policies of a process, for health endpoints, exporters and the dashboard. Registration is
 * explicit (a registry that picked up every policy created would grow with policies made per request),
 * and names are unique within a registry.
 */
export interface PolicyRegistry {
  /**
   * Adds policies: a pipeline adds each of its policies, a group (`breakwater/fetch`'s per-origin
   * breakers) its members while they live. Throws if another policy has the same name.
   */
  add(...policies: readonly Registrable[]): this;
  /** Removes the policy if it is the one registered under its name, and stops forwarding its events. */
  remove(policy: Observable): boolean;
  get(name: string): Observable | undefined;
  readonly policies: readonly Observable[];
  /** Every policy's snapshot, by name. */
  snapshots(): Record<string, SnapshotBase>;
  /**
   * Events of every registered policy. Policies report events only while someone listens, so the
   * registry subscribes to them only while it has listeners itself.
   */
  onEvent(listener: Listener<PolicyEvent>): Disposer;
  /**
   * A policy left the registry (its events are no longer forwarded). Exporters drop its series then:
   * a registry fed by short-lived policies (per-origin breakers) would otherwise keep every name seen.
   */
  readonly onRemove: Subscribe<Observable>;
}

export function policyRegistry(): PolicyRegistry {
  return new Registry();
}

class Registry implements PolicyRegistry {
  readonly #byName = new Map<string, Observable>();
  readonly #events = new Emitter<PolicyEvent>();
  /** Groups followed: their members come and go for as long as the registry lives. */
  readonly #groups = new Set<ObservableGroup>();
  readonly #forwarders = new Map<Observable, Disposer>();
  readonly #forward = (event: PolicyEvent) => this.#events.emit(event);
  readonly #removals = new Emitter<Observable>();
  readonly onRemove: Subscribe<Observable> = this.#removals.subscribe;

  get policies(): readonly Observable[] {
    return [...this.#byName.values()];
  }

  add(...policies: readonly Registrable[]): this {
    for (const item of policies as readonly unknown[]) {
      if (isObservableGroup(item)) {
        if (!this.#groups.has(item)) {
          this.#groups.add(item);
          item.observe(
            (member) => this.add(member),
            (member) => this.remove(member),
          );
        }
        continue;
      }
      const nested = (item as { policies?: unknown }).policies;
      if (!isObservable(item) && Array.isArray(nested)) {
        this.add(...(nested as Registrable[]));
        continue;
      }
      if (!isObservable(item)) invalid('registry.add(policy)', 'a breakwater policy or pipeline', item);
      const existing = this.#byName.get(item.name);
      if (existing === item) continue;
      if (existing !== undefined) {
        invalid('registry.add(policy).name', `a name not already registered ("${item.name}" is)`, item.name);
      }
      this.#byName.set(item.name, item);
      if (this.#events.active) this.#forwarders.set(item, item.onEvent(this.#forward));
    }
    return this;
  }

  remove(policy: Observable): boolean {
    if (this.#byName.get(policy.name) !== policy) return false;
    this.#byName.delete(policy.name);
    this.#forwarders.get(policy)?.();
    this.#forwarders.delete(policy);
    this.#removals.emit(policy);
    return true;
  }

  get(name: string): Observable | undefined {
    return this.#byName.get(name);
  }

  snapshots(): Record<string, SnapshotBase> {
    const out: Record<string, SnapshotBase> = {};
    for (const [name, policy] of this.#byName) out[name] = policy.snapshot();
    return out;
  }

  onEvent(listener: Listener<PolicyEvent>): Disposer {
    const first = !this.#events.active;
    const dispose = this.#events.subscribe(listener);
    if (first) for (const p of this.#byName.values()) this.#forwarders.set(p, p.onEvent(this.#forward));
    return () => {
      dispose();
      if (this.#events.active) return;
      for (const stop of this.#forwarders.values()) stop();
      this.#forwarders.clear();
    };
  }
}
