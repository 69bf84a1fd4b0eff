import type { PolicyEvent, PolicyEventType, PolicyKind } from './events.js';

/** Counts of one circuit transition, `from` -> `to`. */
export interface TransitionTotal {
  readonly from: string;
  readonly to: string;
  count: number;
}

/**
 * Running totals of one policy's events, since the exporter started. Every map key comes from a bounded
 * set (outcomes, reasons, states, event types): never from a call's key.
 */
export interface PolicyTotals<X> {
  readonly policy: string;
  readonly kind: PolicyKind;
  success: number;
  failure: number;
  ignored: number;
  retries: number;
  timeouts: number;
  fallbacks: number;
  readonly rejections: Map<string, number>;
  readonly giveUps: Map<string, number>;
  /** Keyed by `from` + '\n' + `to`. */
  readonly transitions: Map<string, TransitionTotal>;
  /** Every event by type, `call` included (and types without a dedicated total: hedge, batch, hit...). */
  readonly events: Map<PolicyEventType, number>;
  /** Whatever the exporter attached to the policy (prebuilt label sets, instruments). */
  readonly extra: X;
}

function bump<K>(map: Map<K, number>, key: K): void {
  map.set(key, (map.get(key) ?? 0) + 1);
}

/**
 * Event totals per policy, shared by the exporters. Counting here costs a map lookup and an increment
 * per event; label sets are hashed only at scrape time, where prom-client and the OpenTelemetry SDK
 * would hash them on every increment.
 */
export class EventTotals<X = undefined> {
  // By kind, then name: two lookups with the event's own strings, no key built per event.
  readonly #byKind = new Map<PolicyKind, Map<string, PolicyTotals<X>>>();
  readonly #attach: (policy: string, kind: PolicyKind) => X;

  constructor(attach: (policy: string, kind: PolicyKind) => X) {
    this.#attach = attach;
  }

  /** The totals of a policy, created (zero) on first use. */
  of(policy: string, kind: PolicyKind): PolicyTotals<X> {
    let byName = this.#byKind.get(kind);
    if (byName === undefined) {
      byName = new Map();
      this.#byKind.set(kind, byName);
    }
    let totals = byName.get(policy);
    if (totals === undefined) {
      totals = {
        policy,
        kind,
        success: 0,
        failure: 0,
        ignored: 0,
        retries: 0,
        timeouts: 0,
        fallbacks: 0,
        rejections: new Map(),
        giveUps: new Map(),
        transitions: new Map(),
        events: new Map(),
        extra: this.#attach(policy, kind),
      };
      byName.set(policy, totals);
    }
    return totals;
  }

  /** Counts one event and returns the totals it went to. */
  record(event: PolicyEvent): PolicyTotals<X> {
    const totals = this.of(event.policy, event.kind);
    bump(totals.events, event.type);
    switch (event.type) {
      case 'call':
        totals[event.outcome]++;
        break;
      case 'reject':
        bump(totals.rejections, event.reason);
        break;
      case 'retry':
        totals.retries++;
        break;
      case 'give-up':
        bump(totals.giveUps, event.reason);
        break;
      case 'timeout':
        totals.timeouts++;
        break;
      case 'fallback':
        totals.fallbacks++;
        break;
      case 'state': {
        // Rare (a breaker changes state a few times an hour): building the key here is fine.
        const key = `${event.from}\n${event.to}`;
        const t = totals.transitions.get(key);
        if (t === undefined) totals.transitions.set(key, { from: event.from, to: event.to, count: 1 });
        else t.count++;
        break;
      }
    }
    return totals;
  }

  /**
   * Forgets a policy that left the registry and returns what was kept for it: with per-origin breakers,
   * thousands of names come and go while a hundred live.
   */
  delete(policy: string): PolicyTotals<X>[] {
    const removed: PolicyTotals<X>[] = [];
    for (const byName of this.#byKind.values()) {
      const totals = byName.get(policy);
      if (totals === undefined) continue;
      byName.delete(policy);
      removed.push(totals);
    }
    return removed;
  }

  *[Symbol.iterator](): IterableIterator<PolicyTotals<X>> {
    for (const byName of this.#byKind.values()) yield* byName.values();
  }
}
