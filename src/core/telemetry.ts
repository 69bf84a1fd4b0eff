import { type Channel, channel as createChannel } from 'node:diagnostics_channel';
import type { PolicyEvent, PolicyEventType, PolicyKind } from '../metrics/events.js';
import { Emitter } from './events.js';

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

  /** Publishes an event built by the caller (who checked `wants` first). */
  emit(event: PolicyEvent): void {
    this.emitter.emit(event);
    const c = this.#channels[event.type];
    if (c?.hasSubscribers) c.publish(event);
  }
}
