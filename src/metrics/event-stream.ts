import { type Channel, channel as createChannel } from 'node:diagnostics_channel';
import type { Verdict } from '../core/classify.js';
import type { Scope } from '../core/context.js';
import { Emitter, type Listener, type Subscribe } from '../core/events.js';
import { Fail } from '../core/outcome.js';
import type { PolicyCallEvent, PolicyEvent, PolicyEventType, PolicyKind } from './events.js';

export type CallOutcome = PolicyCallEvent['outcome'];

// Indexed by Verdict: SUCCESS = 0, FAILURE = 1, IGNORED = 2.
const OUTCOMES: readonly CallOutcome[] = ['success', 'failure', 'ignored'];

/** The outcome of a call a policy classified. */
export function outcomeOf(verdict: Verdict): CallOutcome {
  return OUTCOMES[verdict]!;
}

/** What the caller got: a failure of work called off is ignored. */
export function resultOutcome(result: unknown, scope: Scope): CallOutcome {
  if (!(result instanceof Fail)) return 'success';
  return scope.cancelled() ? 'ignored' : 'failure';
}

const channels = new Map<string, Channel>();

/** `breakwater:<kind>:<type>`, e.g. `breakwater:circuitBreaker:state`. Created once per name. */
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

/** One event type's listeners and diagnostics channel. */
interface Lane<E> {
  readonly listeners: Emitter<E>;
  readonly channel: Channel;
  /** Listeners this type's events reach: its views' and `onEvent`'s. */
  wanted: number;
}

/**
 * The one event stream of a policy. Every event is built once, by an emit site that asks `wants(type)`
 * first, and goes to `onEvent`, to the typed views made with `on()`, and to the diagnostics channel of
 * its kind and type. With nobody listening to a type (no view, no `onEvent`, no channel subscriber),
 * no event of it is built and no duration is measured.
 */
export class EventStream<E extends PolicyEvent> {
  readonly kind: PolicyKind;
  readonly policy: string;
  readonly #all = new Emitter<E>();
  // A plain object, not a Map, and a count per lane: `wants()` runs on every call, and one property read
  // with a constant key plus one comparison is what it costs then (bench/instructions.sh).
  readonly #lanes: Partial<Record<PolicyEventType, Lane<E>>> = {};
  /** Every event of the policy. */
  readonly onEvent: Subscribe<E>;

  constructor(kind: PolicyKind, policy: string, types: readonly E['type'][]) {
    this.kind = kind;
    this.policy = policy;
    const lanes: Lane<E>[] = [];
    for (const type of types) {
      const lane: Lane<E> = { listeners: new Emitter<E>(), channel: channel(kind, type), wanted: 0 };
      this.#lanes[type] = lane;
      lanes.push(lane);
    }
    this.onEvent = counted(this.#all.subscribe, lanes);
  }

  /** Whether an event of `type` would reach anyone now: build it only then. */
  wants(type: E['type']): boolean {
    const lane = this.#lanes[type];
    return lane !== undefined && (lane.wanted > 0 || lane.channel.hasSubscribers);
  }

  /** Delivers an event built by the caller (who asked `wants` first). */
  emit(event: E): void {
    const lane = this.#lanes[event.type];
    if (lane !== undefined) {
      lane.listeners.emit(event);
      if (lane.channel.hasSubscribers) lane.channel.publish(event);
    }
    this.#all.emit(event);
  }

  /**
   * A typed view of the stream: events of `type` (that `filter` accepts), e.g. a breaker's `onOpen` is
   * the state events whose `to` is `'open'`.
   */
  on<T extends E['type']>(
    type: T,
    filter?: (event: Extract<E, { type: T }>) => boolean,
  ): Subscribe<Extract<E, { type: T }>> {
    const lane = this.#lanes[type];
    if (lane === undefined) throw new TypeError(`breakwater: no ${type} events on a ${this.kind}`);
    const subscribe = counted(lane.listeners.subscribe, [lane]);
    return (listener) => {
      if (typeof listener !== 'function')
        throw new TypeError('breakwater: an event listener must be a function');
      const deliver = (
        filter === undefined
          ? listener
          : (event: Extract<E, { type: T }>) => (filter(event) ? listener(event) : undefined)
      ) as Listener<E>;
      return subscribe(deliver);
    };
  }

  /** Publishes the end of one execution (the caller asked `wants('call')` first). */
  call(outcome: CallOutcome, durationMs: number, verdict?: CallOutcome): void {
    const event = { type: 'call', policy: this.policy, kind: this.kind, outcome, durationMs } as E;
    if (verdict !== undefined) (event as { verdict?: CallOutcome }).verdict = verdict;
    this.emit(event);
  }
}

/** `subscribe`, counting its listeners in `lanes` while they are subscribed. */
function counted<T>(subscribe: Subscribe<T>, lanes: readonly { wanted: number }[]): Subscribe<T> {
  return (listener) => {
    const dispose = subscribe(listener);
    for (const lane of lanes) lane.wanted++;
    let live = true;
    return () => {
      if (!live) return;
      live = false;
      dispose();
      for (const lane of lanes) lane.wanted--;
    };
  };
}
