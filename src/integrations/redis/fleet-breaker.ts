import { randomUUID } from 'node:crypto';
import type { CircuitBreakerPolicy } from '../../circuit-breaker/index.js';
import type { Clock, Disposer, Subscribe } from '../../extend.js';
import { Emitter, MAX_TIMER_MS } from '../../extend.js';
import type { PolicyStateEvent } from '../../metrics/events.js';
import { type RedisCallStats, type RedisErrorEvent, RedisGuard } from './guard.js';
import {
  type FleetBreakerOptions,
  type RedisSubscriberLike,
  type ResolvedFleetBreakerOptions,
  resolveFleetBreakerOptions,
} from './options.js';
import { BREAKER_SYNC, PUBLISH, runScript } from './scripts.js';
import { SyncLoop } from './sync-loop.js';

/** A state as the fleet shares it: half-open is local (each replica probes for itself). */
export type FleetState = 'open' | 'closed' | 'isolated';

/** A fleet transition applied to the local breaker. */
export interface FleetApplyEvent {
  /** Name of the shared circuit. */
  readonly policy: string;
  readonly state: FleetState;
  /** Break (open) or lease (isolated) left when the message was sent or the state was read, ms. */
  readonly remainingMs: number;
  /** Id of the replica whose transition this was. */
  readonly origin: string;
  /** The origin's transition reason (`fleet-failure-rate` when the fleet's counts tripped it). */
  readonly reason: string;
  /** `message` (pub/sub) or `catch-up` (read from the stored state by the periodic sync). */
  readonly source: 'message' | 'catch-up';
}

/** The fleet's failure rate crossed the threshold: this replica opened its breaker (and published it). */
export interface FleetTripEvent {
  readonly policy: string;
  readonly calls: number;
  readonly failures: number;
  readonly failureRate: number;
}

export interface FleetBreakerSnapshot {
  readonly name: string;
  readonly channel: string;
  readonly replicaId: string;
  /** The local breaker's state. */
  readonly state: string;
  readonly subscribed: boolean;
  /** Latest fleet version known (epoch changes when Redis lost its data). */
  readonly epoch: string;
  readonly version: number;
  /** Own publishes in flight; a remote message heard meanwhile waits (at most one is kept). */
  readonly publishing: number;
  readonly stashed: boolean;
  /** A local transition the fleet has not heard of yet (its publish failed): retried by the sync. */
  readonly unpublished: boolean;
  readonly published: number;
  readonly received: number;
  readonly applied: number;
  /** Local counts waiting for the next flush (two counters, never a buffer). */
  readonly pending: { readonly calls: number; readonly failures: number };
  /** Fleet window as last read, and how long ago (ms); undefined without aggregation or before a read. */
  readonly fleet: { readonly calls: number; readonly failures: number; readonly ageMs: number } | undefined;
  readonly redis: RedisCallStats;
}

/** A breaker attached to its fleet. */
export interface FleetBreaker {
  readonly breaker: CircuitBreakerPolicy;
  readonly name: string;
  readonly channel: string;
  readonly replicaId: string;
  /** The breaker in front of Redis calls. */
  readonly redisBreaker: CircuitBreakerPolicy;
  /** Settles once the first subscription attempt and the first sync are done (whatever their outcome). */
  readonly ready: Promise<void>;
  /** Runs one sync now (read state, publish what is pending, flush counts); never rejects. */
  sync(): Promise<void>;
  snapshot(): FleetBreakerSnapshot;
  readonly onApply: Subscribe<FleetApplyEvent>;
  readonly onTrip: Subscribe<FleetTripEvent>;
  readonly onRedisError: Subscribe<RedisErrorEvent>;
  /**
   * Detaches: stops the sync, removes listeners, unsubscribes the channel and releases a remote
   * isolation. The breaker keeps its current state; the clients are left open.
   */
  close(): void;
}

/**
 * Shares a breaker's state with the other replicas through Redis: local transitions (open with the
 * break left, close, isolate) are published; a replica that hears one applies it for the remaining
 * time. Optionally aggregates call counts so the fleet opens on the fleet's failure rate. Nothing here
 * runs on the breaker's call path, except with `aggregate`: a listener on its `call` events (two
 * increments), which also makes the breaker time each call. See docs/distributed.md.
 */
export function fleetBreaker(breaker: CircuitBreakerPolicy, options: FleetBreakerOptions): FleetBreaker {
  return new FleetSync(breaker, resolveFleetBreakerOptions(breaker, options));
}

interface Message {
  readonly epoch: string;
  readonly ver: number;
  readonly state: FleetState;
  readonly ms: number;
  readonly origin: string;
  readonly reason: string;
}

function parseMessage(raw: string): Message | null {
  const parts = raw.split('|');
  if (parts.length !== 6) return null;
  const [epoch, ver, state, ms, origin, reason] = parts as [string, string, string, string, string, string];
  if (state !== 'open' && state !== 'closed' && state !== 'isolated') return null;
  const v = Number(ver);
  const d = Number(ms);
  if (!Number.isFinite(v) || !Number.isFinite(d)) return null;
  return { epoch, ver: v, state, ms: d, origin, reason };
}

class FleetSync implements FleetBreaker {
  readonly breaker: CircuitBreakerPolicy;
  readonly name: string;
  readonly channel: string;
  readonly replicaId: string;
  readonly redisBreaker: CircuitBreakerPolicy;
  readonly ready: Promise<void>;
  readonly onRedisError: Subscribe<RedisErrorEvent>;
  readonly #o: ResolvedFleetBreakerOptions;
  readonly #guard: RedisGuard;
  readonly #clock: Clock;
  readonly #keys: readonly [string, string];
  readonly #onApply = new Emitter<FleetApplyEvent>();
  readonly onApply = this.#onApply.subscribe;
  readonly #onTrip = new Emitter<FleetTripEvent>();
  readonly onTrip = this.#onTrip.subscribe;

  // Ordering: the latest (epoch, version) applied or published.
  #epoch = '';
  #ver = 0;
  #publishing = 0;
  #stash: Message | null = null;
  #unpublished = false;
  /** This replica isolated its breaker itself: it renews the lease. */
  #localIsolation = false;
  #leaseRenewedAt = 0;
  #remoteIsolation: Disposer | null = null;
  #remoteLeaseUntil = 0;
  /** Set while a remote state is applied: the transitions it causes are not published again (no echo). */
  #applying = false;
  /** Set while the fleet's failure rate opens the breaker, to publish that reason. */
  #tripping = false;

  #subscribed = false;
  #subscribing = false;
  #pendingCalls = 0;
  #pendingFailures = 0;
  #pendingSince = 0;
  #seen: CircuitBreakerPolicy['recorded'];
  #seenAt: number;
  #fleet: { calls: number; failures: number; at: number } | undefined = undefined;

  #published = 0;
  #received = 0;
  #applied = 0;
  readonly #sync: SyncLoop;
  #closed = false;
  readonly #disposers: Disposer[] = [];
  readonly #onMessage = (channel: string, raw: string) => this.#message(channel, raw);

  constructor(breaker: CircuitBreakerPolicy, options: ResolvedFleetBreakerOptions) {
    this.breaker = breaker;
    this.#o = options;
    this.name = options.name;
    this.channel = options.channel;
    this.replicaId = options.replicaId;
    this.#clock = options.clock;
    this.#guard = new RedisGuard(options.name, options);
    this.redisBreaker = this.#guard.breaker;
    this.onRedisError = this.#guard.onError;
    // One hash slot for both keys (Redis Cluster): the scripts touch them together.
    const tag = `${options.prefix}{cb:${options.name}}`;
    this.#keys = [`${tag}:meta`, `${tag}:window`];
    this.#disposers.push(breaker.onStateChange((t) => this.#onLocal(t)));
    // Aggregation costs nothing per call: the breaker keeps running totals of what its closed periods
    // recorded, and each sync takes the difference since the last one.
    this.#seen = breaker.recorded;
    this.#seenAt = this.#clock.now();
    if (options.subscriber !== undefined) options.subscriber.on('message', this.#onMessage);
    this.#sync = new SyncLoop('fleet breaker', () => this.#syncOnce(), this.#clock, options.syncIntervalMs);
    this.ready = this.#sync.start();
  }

  // --- Local transitions --------------------------------------------------------------------------

  #onLocal(t: PolicyStateEvent): void {
    // Counts belong to one closed period: every transition starts the fleet window over.
    this.#pendingCalls = this.#pendingFailures = 0;
    this.#seen = this.breaker.recorded;
    this.#seenAt = this.#clock.now();
    if (this.#applying || this.#closed) return;
    if (t.to === 'open') {
      this.#publish('open', t.breakMs ?? 0, this.#tripping ? 'fleet-failure-rate' : t.reason);
    } else if (t.to === 'isolated') {
      this.#localIsolation = true;
      this.#publish('isolated', this.#o.isolationLeaseMs, t.reason);
    } else if (t.to === 'closed' && (t.from === 'open' || t.from === 'half-open' || t.from === 'isolated')) {
      // Leaving disabled or metrics-only is a local mode change, not news for the fleet.
      this.#localIsolation = false;
      this.#publish('closed', 0, t.reason);
    }
  }

  #publish(state: FleetState, ms: number, reason: string): void {
    if (state === 'isolated') this.#leaseRenewedAt = this.#clock.now();
    const [meta, window] = this.#keys;
    const o = this.#o;
    // The epoch candidate is fresh each time: a Redis that lost its data must start a new epoch.
    const args = [
      o.channel,
      randomUUID(),
      state,
      Math.max(0, Math.ceil(ms)),
      o.replicaId,
      reason,
      o.stateTtlMs,
    ];
    const pending = this.#guard.run('publish', (client) => runScript(client, PUBLISH, [meta, window], args));
    if (!(pending instanceof Promise)) {
      this.#unpublished = true;
      return;
    }
    // A newer local state supersedes an older unpublished one: only the latest is ever retried.
    this.#unpublished = false;
    this.#publishing++;
    pending.then((outcome) => {
      this.#publishing--;
      if (outcome.ok && Array.isArray(outcome.value) && outcome.value.length === 2) {
        this.#published++;
        this.#see(String(outcome.value[0]), Number(outcome.value[1]));
      } else {
        this.#unpublished = true;
      }
      if (this.#publishing === 0 && this.#stash !== null) {
        const stash = this.#stash;
        this.#stash = null;
        if (this.#newer(stash)) this.#apply(stash, 'message');
      }
    });
  }

  /** What to publish for the breaker's current state, when the fleet missed it. */
  #republish(): void {
    const b = this.breaker;
    const state = b.state;
    this.#unpublished = false;
    if (state === 'open') {
      const ms = b.snapshot().retryAfterMs ?? 0;
      if (ms >= 1) this.#publish('open', ms, 'restored');
    } else if (state === 'isolated' && this.#localIsolation) {
      this.#publish('isolated', this.#o.isolationLeaseMs, 'manual');
    } else if (state === 'closed') {
      this.#publish('closed', 0, 'restored');
    }
  }

  // --- Remote transitions -------------------------------------------------------------------------

  #message(channel: string, raw: string): void {
    if (channel !== this.channel || this.#closed) return;
    const m = parseMessage(raw);
    if (m === null) return;
    this.#received++;
    if (m.origin === this.replicaId) {
      // Our own message: its version orders what we hear next, nothing to apply.
      this.#see(m.epoch, m.ver);
      return;
    }
    // While our own publish is in flight we cannot tell whether this message is older or newer than
    // ours: keep the latest (a message is a whole state) and decide once our version is known.
    if (this.#publishing > 0) {
      if (this.#stash === null || this.#stash.epoch !== m.epoch || m.ver > this.#stash.ver) this.#stash = m;
      return;
    }
    if (this.#newer(m)) this.#apply(m, 'message');
  }

  #newer(m: { epoch: string; ver: number }): boolean {
    return m.epoch !== this.#epoch || m.ver > this.#ver;
  }

  #see(epoch: string, ver: number): void {
    if (epoch !== this.#epoch) {
      this.#epoch = epoch;
      this.#ver = ver;
    } else if (ver > this.#ver) {
      this.#ver = ver;
    }
  }

  #apply(m: Message, source: 'message' | 'catch-up'): void {
    this.#see(m.epoch, m.ver);
    // A local transition the fleet has not heard of (its publish failed) is not undone by a close: it
    // is published again once Redis answers, and then wins. Opens and isolations still apply.
    if (this.#unpublished && m.state === 'closed') return;
    this.#unpublished = false;
    const b = this.breaker;
    // disabled and metrics-only are the local operator's decisions: the fleet does not override them.
    if (b.state === 'disabled' || b.state === 'metrics-only') return;
    this.#applying = true;
    try {
      if (m.state !== 'isolated') this.#releaseRemoteIsolation();
      if (m.state === 'open') {
        if (m.ms < 1) return;
        b.open(Math.min(MAX_TIMER_MS, m.ms));
      } else if (m.state === 'closed') {
        if (b.state === 'open' || b.state === 'half-open') b.close();
      } else {
        if (m.ms < 1) return;
        this.#remoteIsolation ??= b.isolate();
        this.#remoteLeaseUntil = this.#clock.now() + m.ms;
      }
    } finally {
      this.#applying = false;
    }
    this.#applied++;
    if (this.#onApply.active) {
      this.#onApply.emit({
        policy: this.name,
        state: m.state,
        remainingMs: m.ms,
        origin: m.origin,
        reason: m.reason,
        source,
      });
    }
  }

  #releaseRemoteIsolation(): void {
    const release = this.#remoteIsolation;
    if (release === null) return;
    this.#remoteIsolation = null;
    const applying = this.#applying;
    this.#applying = true;
    try {
      release();
    } finally {
      this.#applying = applying;
    }
  }

  // --- Aggregation --------------------------------------------------------------------------------

  /** Moves what the breaker recorded since the last look into the pending counts (closed periods only). */
  #collect(): void {
    const now = this.#clock.now();
    const recorded = this.breaker.recorded;
    const calls = recorded.calls - this.#seen.calls;
    const failures = recorded.failures - this.#seen.failures;
    if (calls > 0) {
      // The calls happened since the last look: date them from it, the conservative end for the window.
      this.#pendingSince =
        this.#pendingCalls === 0 ? this.#seenAt : Math.min(this.#pendingSince, this.#seenAt);
      this.#pendingCalls += calls;
      this.#pendingFailures += failures;
    }
    this.#seen = recorded;
    this.#seenAt = now;
  }

  #judge(calls: number, failures: number): void {
    const a = this.#o.aggregate!;
    if (this.breaker.state !== 'closed' || calls < a.minimumCalls || calls === 0) return;
    const failureRate = failures / calls;
    if (failureRate < a.failureRateThreshold) return;
    this.#tripping = true;
    try {
      this.breaker.open();
    } finally {
      this.#tripping = false;
    }
    if (this.#onTrip.active) this.#onTrip.emit({ policy: this.name, calls, failures, failureRate });
  }

  // --- Sync ---------------------------------------------------------------------------------------

  sync(): Promise<void> {
    return this.#sync.sync();
  }

  async #syncOnce(): Promise<void> {
    const now = this.#clock.now();
    if (this.#remoteIsolation !== null && now >= this.#remoteLeaseUntil) this.#releaseRemoteIsolation();
    await this.#subscribe();
    if (
      this.#localIsolation &&
      this.breaker.state === 'isolated' &&
      now - this.#leaseRenewedAt >= this.#o.isolationLeaseMs / 3
    ) {
      this.#publish('isolated', this.#o.isolationLeaseMs, 'manual');
    }
    if (this.#unpublished && this.#publishing === 0) this.#republish();
    await this.#read();
  }

  async #subscribe(): Promise<void> {
    const sub = this.#o.subscriber;
    if (sub === undefined || this.#subscribed || this.#subscribing) return;
    this.#subscribing = true;
    // The subscriber shares the guard (its timeout and breaker) with the command client.
    const pending = this.#guard.runOn('subscribe', sub.status, () => sub.subscribe(this.channel));
    if (pending instanceof Promise) {
      const outcome = await pending;
      // ioredis re-subscribes by itself after a reconnect; a failed attempt is retried by the next sync.
      if (outcome.ok) {
        this.#subscribed = true;
        if (this.#closed) this.#unsubscribe(sub);
      }
    }
    this.#subscribing = false;
  }

  /** Reads the stored state (catch-up), flushing and reading the fleet's counts when aggregating. */
  async #read(): Promise<void> {
    const a = this.#o.aggregate;
    if (a !== undefined) this.#collect();
    const calls = a === undefined ? 0 : this.#pendingCalls;
    const failures = a === undefined ? 0 : this.#pendingFailures;
    const since = this.#pendingSince;
    this.#pendingCalls = this.#pendingFailures = 0;
    const args = [
      a === undefined ? '0' : '1',
      a?.bucketMs ?? 0,
      a?.buckets ?? 0,
      calls,
      failures,
      this.#epoch,
      this.#ver,
    ];
    const [meta, window] = this.#keys;
    const pending = this.#guard.run('sync', (client) =>
      runScript(client, BREAKER_SYNC, [meta, window], args),
    );
    const outcome = pending instanceof Promise ? await pending : undefined;
    if (outcome === undefined || !outcome.ok || !Array.isArray(outcome.value) || outcome.value.length !== 8) {
      this.#restore(calls, failures, since);
      return;
    }
    if (this.#closed) return;
    const [epoch, ver, state, remaining, origin, reason, fleetCalls, fleetFailures] = outcome.value as [
      string,
      number,
      string,
      number,
      string,
      string,
      number,
      number,
    ];
    this.#catchUp(
      String(epoch),
      Number(ver),
      String(state),
      Number(remaining),
      String(origin),
      String(reason),
    );
    if (a !== undefined) {
      this.#fleet = { calls: Number(fleetCalls), failures: Number(fleetFailures), at: this.#clock.now() };
      this.#judge(this.#fleet.calls, this.#fleet.failures);
    }
  }

  /**
   * Counts that could not be flushed go back into the two counters (merged, never queued), unless
   * they are older than the fleet window: then they could only skew it, and are dropped.
   */
  #restore(calls: number, failures: number, since: number): void {
    const a = this.#o.aggregate;
    if (a === undefined || calls === 0) return;
    const now = this.#clock.now();
    if (now - since >= a.windowMs) return;
    if (this.#pendingCalls === 0) this.#pendingSince = since;
    else this.#pendingSince = Math.min(this.#pendingSince, since);
    this.#pendingCalls += calls;
    this.#pendingFailures += failures;
  }

  #catchUp(
    epoch: string,
    ver: number,
    state: string,
    remaining: number,
    origin: string,
    reason: string,
  ): void {
    if (epoch === '') {
      // No stored state. If we knew one, Redis lost its data (restart, failover, eviction): publish our
      // state again so that replicas joining now learn it; versions start over in a new epoch.
      if (this.#epoch !== '') {
        this.#epoch = '';
        this.#ver = 0;
        const s = this.breaker.state;
        if (s === 'open' || (s === 'isolated' && this.#localIsolation)) this.#unpublished = true;
      }
      if (this.#unpublished && this.#publishing === 0) this.#republish();
      return;
    }
    if (state !== 'open' && state !== 'closed' && state !== 'isolated') return;
    const m: Message = { epoch, ver, state, ms: remaining, origin, reason };
    if (this.#publishing > 0 || !this.#newer(m)) return;
    if (origin === this.replicaId || (state !== 'closed' && remaining < 1)) {
      // Ours, or a break or lease already over: only its version matters.
      this.#see(epoch, ver);
      return;
    }
    this.#apply(m, 'catch-up');
  }

  // --- Inspection and teardown ----------------------------------------------------------------------

  snapshot(): FleetBreakerSnapshot {
    if (this.#o.aggregate !== undefined) this.#collect();
    const fleet = this.#fleet;
    return {
      name: this.name,
      channel: this.channel,
      replicaId: this.replicaId,
      state: this.breaker.state,
      subscribed: this.#subscribed,
      epoch: this.#epoch,
      version: this.#ver,
      publishing: this.#publishing,
      stashed: this.#stash !== null,
      unpublished: this.#unpublished,
      published: this.#published,
      received: this.#received,
      applied: this.#applied,
      pending: { calls: this.#pendingCalls, failures: this.#pendingFailures },
      fleet:
        fleet === undefined
          ? undefined
          : { calls: fleet.calls, failures: fleet.failures, ageMs: this.#clock.now() - fleet.at },
      redis: this.#guard.stats(),
    };
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#sync.close();
    for (const dispose of this.#disposers) dispose();
    this.#disposers.length = 0;
    this.#releaseRemoteIsolation();
    const sub = this.#o.subscriber;
    if (sub !== undefined) {
      sub.off('message', this.#onMessage);
      if (this.#subscribed) this.#unsubscribe(sub);
    }
  }

  #unsubscribe(sub: RedisSubscriberLike): void {
    this.#subscribed = false;
    // Fire and forget, bounded by the timeout; the outcome never rejects.
    this.#guard.runOn('unsubscribe', sub.status, () => sub.unsubscribe(this.channel));
  }
}
