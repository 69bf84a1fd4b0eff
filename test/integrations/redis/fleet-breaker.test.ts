import type { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { type CircuitBreakerOptions, type CircuitBreakerPolicy, circuitBreaker } from '../../../src/index.js';
import {
  type FleetApplyEvent,
  type FleetBreaker,
  type FleetBreakerOptions,
  type FleetTripEvent,
  fleetBreaker,
} from '../../../src/integrations/redis/index.js';
import { findRedisFor, redisSuite, until } from './redis-server.js';

const bin = findRedisFor('the fleet breaker tests');

interface Replica {
  readonly breaker: CircuitBreakerPolicy;
  readonly fleet: FleetBreaker;
  readonly applied: FleetApplyEvent[];
  readonly trips: FleetTripEvent[];
  /** Its subscriber connection, when it has one. */
  readonly subscriber: Redis | undefined;
}

/** How long a replica may take to hear a transition: generous, for a loaded CI machine. */
const BOUND_MS = 2_000;

describe.skipIf(bin === undefined)(
  `fleetBreaker against a real Redis${bin === undefined ? ' (SKIPPED: no redis-server)' : ''}`,
  () => {
    const redis = redisSuite(bin!);
    const client = () => redis.client();

    /** A replica: its own breaker, its own command client and subscriber connection. */
    async function replica(
      name: string,
      options: Partial<FleetBreakerOptions> & { pubsub?: boolean } = {},
      breakerOptions: CircuitBreakerOptions = {},
    ): Promise<Replica> {
      const breaker = circuitBreaker({ name, ...breakerOptions });
      const { pubsub = true, ...rest } = options;
      const c = client();
      const subscriber = pubsub ? client() : undefined;
      const fleet = fleetBreaker(breaker, {
        client: c,
        ...(subscriber === undefined ? {} : { subscriber }),
        syncIntervalMs: 50,
        redisTimeoutMs: 500,
        ...rest,
      });
      redis.closeAfter(fleet);
      const applied: FleetApplyEvent[] = [];
      const trips: FleetTripEvent[] = [];
      fleet.onApply((e) => applied.push(e));
      fleet.onTrip((e) => trips.push(e));
      await fleet.ready;
      return { breaker, fleet, applied, trips, subscriber };
    }
    const unique = () => redis.unique('circuit');

    it('replicas see each other open within a bounded delay, for the remaining break', async () => {
      const name = unique();
      const [a, b, c] = await Promise.all([replica(name), replica(name), replica(name)]);
      expect(a.fleet.snapshot().subscribed).toBe(true);
      a.breaker.open(5_000);
      await until(() => b.breaker.state === 'open' && c.breaker.state === 'open', BOUND_MS, 'peers open');
      expect(b.applied[0]).toMatchObject({ state: 'open', origin: a.fleet.replicaId, source: 'message' });
      // A duration, never a timestamp: the break a peer takes is at most the origin's.
      expect(b.breaker.snapshot().retryAfterMs).toBeLessThanOrEqual(5_000);
      expect(b.breaker.snapshot().retryAfterMs).toBeGreaterThan(0);
    });

    it('does not echo: a replica publishes only its own transitions and ignores its own messages', async () => {
      const name = unique();
      const [a, b] = await Promise.all([replica(name), replica(name)]);
      const observer = client();
      const messages: string[] = [];
      observer.on('message', (_channel: string, message: string) => messages.push(message));
      await observer.subscribe(a.fleet.channel);
      const transitions: string[] = [];
      a.breaker.onStateChange((t) => transitions.push(t.to));
      a.breaker.open(5_000);
      await until(() => b.breaker.state === 'open', BOUND_MS, 'peer open');
      await Promise.all([a.fleet.sync(), b.fleet.sync(), a.fleet.sync(), b.fleet.sync()]);
      expect(b.fleet.snapshot().published).toBe(0);
      expect(a.fleet.snapshot()).toMatchObject({ published: 1, applied: 0 });
      expect(a.fleet.snapshot().received).toBeGreaterThanOrEqual(1);
      // The origin heard its own message and did not apply it again.
      expect(transitions).toEqual(['open']);
      await until(() => messages.length >= 1, BOUND_MS, 'observer message');
      expect(messages).toHaveLength(1);
      expect(messages[0]!.split('|')[2]).toBe('open');
    });

    it('propagates a close, and an isolation until it is released', async () => {
      const name = unique();
      const [a, b] = await Promise.all([replica(name), replica(name)]);
      a.breaker.open(5_000);
      await until(() => b.breaker.state === 'open', BOUND_MS, 'peer open');
      a.breaker.close();
      await until(() => b.breaker.state === 'closed', BOUND_MS, 'peer closed');
      const release = a.breaker.isolate();
      await until(() => b.breaker.state === 'isolated', BOUND_MS, 'peer isolated');
      expect(b.fleet.snapshot().published).toBe(0);
      release();
      await until(() => b.breaker.state === 'closed', BOUND_MS, 'peer released');
    });

    it('releases a remote isolation whose origin stopped renewing its lease', async () => {
      const name = unique();
      const [a, b] = await Promise.all([
        replica(name, { isolationLeaseMs: 300 }),
        replica(name, { isolationLeaseMs: 300 }),
      ]);
      a.breaker.isolate();
      await until(() => b.breaker.state === 'isolated', BOUND_MS, 'peer isolated');
      // The origin goes away without a word (as a crashed process would).
      a.fleet.close();
      await until(() => b.breaker.state === 'closed', BOUND_MS + 300, 'lease expired');
      expect(a.breaker.state).toBe('isolated');
    });

    it('a late joiner catches up from the stored state, with the break Redis says is left', async () => {
      const name = unique();
      const a = await replica(name);
      a.breaker.open(5_000);
      await until(() => a.fleet.snapshot().published === 1, BOUND_MS, 'published');
      const late = await replica(name);
      expect(late.breaker.state).toBe('open');
      expect(late.applied[0]).toMatchObject({ state: 'open', source: 'catch-up' });
      expect(late.applied[0]!.remainingMs).toBeLessThanOrEqual(5_000);
      expect(late.breaker.snapshot().retryAfterMs).toBeLessThanOrEqual(5_000);
    });

    it('a replica without a subscriber learns transitions by polling the stored state', async () => {
      const name = unique();
      const [a, poller] = await Promise.all([replica(name), replica(name, { pubsub: false })]);
      a.breaker.open(5_000);
      await until(() => poller.breaker.state === 'open', BOUND_MS, 'poller open');
      expect(poller.applied[0]).toMatchObject({ state: 'open', source: 'catch-up' });
    });

    it('leaves disabled and metrics-only breakers alone (local operator modes win)', async () => {
      const name = unique();
      const [a, b] = await Promise.all([replica(name), replica(name)]);
      b.breaker.disable();
      a.breaker.open(5_000);
      await until(() => b.fleet.snapshot().received >= 1, BOUND_MS, 'message heard');
      expect(b.breaker.state).toBe('disabled');
    });

    it('converges when replicas publish conflicting transitions at the same moment', async () => {
      const name = unique();
      const [a, b] = await Promise.all([replica(name), replica(name)]);
      for (let round = 0; round < 20; round++) {
        // Both change state in the same tick: whichever Redis orders last must win on both.
        const [x, y] = round % 2 === 0 ? [a, b] : [b, a];
        x.breaker.open(5_000);
        x.breaker.close();
        y.breaker.open(5_000);
        await until(
          () => a.fleet.snapshot().publishing === 0 && b.fleet.snapshot().publishing === 0,
          BOUND_MS,
          'publishes done',
        );
        await Promise.all([a.fleet.sync(), b.fleet.sync()]);
        const stored = await redis.admin.hget(`breakwater:{cb:${name}}:meta`, 'state');
        await until(() => a.breaker.state === b.breaker.state, BOUND_MS, `round ${round} converged`);
        expect(a.breaker.state).toBe(stored);
      }
    });

    it("opens every replica on the fleet's failure rate when no replica alone has enough calls", async () => {
      const name = unique();
      // Alone, a replica needs 100 calls to judge; the fleet needs 30.
      const opts = { aggregate: { minimumCalls: 30, windowMs: 10_000 }, syncIntervalMs: 60_000 };
      const cb = { minimumCalls: 100, failureRateThreshold: 0.5 };
      const replicas = await Promise.all([
        replica(name, opts, cb),
        replica(name, opts, cb),
        replica(name, opts, cb),
      ]);
      for (const r of replicas) {
        for (let i = 0; i < 12; i++) {
          await r.breaker
            .executeOutcome(() => {
              if (i % 3 !== 0) throw new Error('down');
              return 'ok';
            })
            .then(() => undefined);
        }
        expect(r.breaker.state).toBe('closed');
        expect(r.fleet.snapshot().pending).toEqual({ calls: 12, failures: 8 });
      }
      // Each sync flushes its counts; the last one sees 36 calls, 67% failed.
      for (const r of replicas) await r.fleet.sync();
      await until(() => replicas.every((r) => r.breaker.state === 'open'), BOUND_MS, 'fleet open');
      const trips = replicas.flatMap((r) => r.trips);
      expect(trips).toHaveLength(1);
      expect(trips[0]).toMatchObject({ calls: 36, failures: 24 });
      const others = replicas.filter((r) => r.trips.length === 0);
      for (const r of others)
        expect(r.applied.at(-1)).toMatchObject({ state: 'open', reason: 'fleet-failure-rate' });
      // The transition cleared the fleet's window: a closed period starts from zero.
      expect(await redis.admin.exists(`breakwater:{cb:${name}}:window`)).toBe(0);
    });

    it('drops counts made under a fleet state the replica had not heard of yet', async () => {
      const name = unique();
      const opts = { aggregate: { minimumCalls: 1_000 }, syncIntervalMs: 60_000, pubsub: false };
      const [a, b] = await Promise.all([replica(name, opts), replica(name, opts)]);
      for (let i = 0; i < 5; i++) await b.breaker.executeOutcome(() => 'ok');
      // a opens and closes: the fleet moved on twice while b (no subscriber, no sync yet) counted.
      a.breaker.open(5_000);
      a.breaker.close();
      await until(() => a.fleet.snapshot().publishing === 0, BOUND_MS, 'published');
      expect(b.breaker.state).toBe('closed');
      await b.fleet.sync();
      expect(b.fleet.snapshot().fleet).toMatchObject({ calls: 0 });
      // Once caught up, its counts count.
      for (let i = 0; i < 5; i++) await b.breaker.executeOutcome(() => 'ok');
      await b.fleet.sync();
      expect(b.fleet.snapshot().fleet).toMatchObject({ calls: 5 });
    });

    it('close() detaches: no listener, timer or subscription is left', async () => {
      const name = unique();
      const a = await replica(name);
      const sub = a.subscriber!;
      expect(sub.listenerCount('message')).toBe(1);
      a.fleet.close();
      expect(sub.listenerCount('message')).toBe(0);
      await until(() => a.fleet.snapshot().subscribed === false, BOUND_MS, 'unsubscribed');
      const [, subscribers] = (await redis.admin.pubsub('NUMSUB', a.fleet.channel)) as [string, number];
      expect(subscribers).toBe(0);
      // The breaker is the user's: it keeps working, detached.
      a.breaker.open(1_000);
      expect(a.fleet.snapshot().published).toBe(0);
    });
  },
);
