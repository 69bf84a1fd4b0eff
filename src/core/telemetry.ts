import { type Channel, channel as createChannel } from 'node:diagnostics_channel';
import type { PolicyEvent, PolicyEventType, PolicyKind } from '../metrics/events.js';
import type { Verdict } from './classify.js';
import type { Scope } from './context.js';
import { Emitter } from './events.js';
import { Fail } from './outcome.js';

export type CallOutcome = 'success' | 'failure' | 'ignored';

// Indexed by Verdict: SUCCESS = 0, FAILURE = 1, IGNORED = 2.
const OUTCOMES: readonly CallOutcome[] = ['success', 'failure', 'ignored'];

/** The outcome of a call a policy classified. */
export function outcomeOf(verdict: Verdict): CallOutcome {
  return OUTCOMES[verdict]!;
}

/** The outcome of a call a policy does not classify: a failure after the caller left is ignored. */
export function resultOutcome(result: unknown, scope: Scope): CallOutcome {
  if (!(result instanceof Fail)) return 'success';
  return scope.cancelled() ? 'ignored' : 'failure';
}

const channels = new Map<string, Channel>();

/** `breakwater:<kind>:<type>`, e.g. `breakwater:circuit-breaker:state`. Created once per name. */
export function channelName(kind: PolicyKind, type: PolicyEventType): string {
  return `breakwater:${kind}:${type}`;
}

function channel(kind: PolicyKind, type: PolicyEventType): Channel {
  const name = channelName(kind, type);
  let c = channels.get(name);
  if (c === undefined) {
    c = createChannel(name);
    channels.set(name, c);
  }
  return c;
}

/**
 * The uniform event stream of one policy: `onEvent` listeners and the diagnostics channels of its kind.
 * Emit sites ask `wants(type)` first, so with no listener and no channel subscriber no event object is
 * built and no duration is measured.
 */
export class Telemetry {
  readonly kind: PolicyKind;
  readonly policy: string;
  readonly emitter = new Emitter<PolicyEvent>();
  readonly #channels: Partial<Record<PolicyEventType, Channel>> = {};

  constructor(kind: PolicyKind, policy: string, types: readonly PolicyEventType[]) {
    this.kind = kind;
    this.policy = policy;
    for (const type of types) this.#channels[type] = channel(kind, type);
  }

  wants(type: PolicyEventType): boolean {
    return this.emitter.active || this.#channels[type]?.hasSubscribers === true;
  }

  /** Publishes the end of one execution (the caller checked `wants('call')` first). */
  call(outcome: CallOutcome, durationMs: number): void {
    this.emit({ type: 'call', policy: this.policy, kind: this.kind, outcome, durationMs });
  }

  /** Publishes an event built by the caller (who checked `wants` first). */
  emit(event: PolicyEvent): void {
    this.emitter.emit(event);
    const c = this.#channels[event.type];
    if (c?.hasSubscribers) c.publish(event);
  }
}
