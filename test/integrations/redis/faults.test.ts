import type { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  type CircuitBreakerPolicy,
  circuitBreaker,
  type Outcome,
  pipeline,
  RejectedError,
  retry,
} from '../../../src/index.js';
import {
  type FleetBreaker,
  fleetBreaker,
  type RedisRateLimiterPolicy,
  type RedisRetryBudget,
  redisRateLimiter,
  redisRetryBudget,
} from '../../../src/integrations/redis/index.js';
import { connect, findRedisFor, type RedisServer, startRedis, until, waitForStatus } from './redis-server.js';

const bin = findRedisFor('the Redis fault tests');

/** Generous bounds for real servers on a loaded CI machine (waits, not measurements). */
const BOUND_MS = 5_000;

interface Replica {
  readonly client: Redis;
  readonly subscriber: Redis;
  readonly breaker: CircuitBreakerPolicy;
  readonly fleet: FleetBreaker;
  readonly limiter: RedisRateLimiterPolicy;
  readonly budget: RedisRetryBudget;
  /** retry(budget) > rate limiter > breaker, as a service would protect a downstream. */
  call(): Promise<Outcome<string>>;
}

/** Rate-limit decisions Redis took (the others were degraded, local ones). */
function fromRedis(limiter: RedisRateLimiterPolicy): number {
  const s = limiter.snapshot();
  return s.admitted + s.rejected - s.degraded;
}

/** Commands ioredis holds while disconnected (private field, read to prove nothing piles up there). */
function offlineQueue(client: Redis): number {
  return (client as unknown as { offlineQueue: { length: number } }).offlineQueue.length;
}

describe.skipIf(bin === undefined)(
  `Redis faults${bin === undefined ? ' (SKIPPED: no redis-server)' : ''}`,
  () => {
    let server: RedisServer;
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => unhandled.push(reason);
    const cleanup: (() => void)[] = [];
    /** Every client a test opened, to wait for its end. */
    const clients: Redis[] = [];
    let n = 0;

    beforeAll(async () => {
      server = await startRedis(bin!);
    });
    afterAll(async () => {
      await server.stop();
    });
    beforeEach(() => {
      unhandled.length = 0;
      process.on('unhandledRejection', onUnhandled);
    });
    afterEach(async () => {
      for (const dispose of cleanup.splice(0)) dispose();
      if (!server.running) await server.restart();
      // Late rejections of abandoned Redis calls come when their client has ended (ioredis fails its
      // pending commands then); one more turn lets Node report any that nobody handled.
      await Promise.all(clients.splice(0).map((c) => waitForStatus(c, 'end', BOUND_MS)));
      await new Promise((resolve) => setImmediate(resolve));
      process.off('unhandledRejection', onUnhandled);
      expect(unhandled).toEqual([]);
    });

    function replica(name: string): Replica {
      const client = connect(server);
      const subscriber = connect(server);
      clients.push(client, subscriber);
      // Redis calls: 200 ms each at most; after 3 failures, Redis is left alone for 100 ms.
      const redis = { redisTimeoutMs: 200, redisBreaker: { breakDurationMs: 100 } };
      const breaker = circuitBreaker({ name, minimumCalls: 50 });
      const fleet = fleetBreaker(breaker, {
        client,
        subscriber,
        syncIntervalMs: 50,
        aggregate: true,
        ...redis,
      });
      const limiter = redisRateLimiter({
        client,
        name,
        ratePerSecond: 2_000,
        burst: 200,
        replicas: 2,
        heartbeatMs: 50,
        ...redis,
      });
      const budget = redisRetryBudget({ client, name, syncIntervalMs: 50, ...redis });
      // Our own rejections are not retried (a retry would wait out their Retry-After).
      const handle = (error: unknown) => !(error instanceof RejectedError);
      const policy = pipeline(retry({ maxRetries: 1, backoff: 0, budget, handle }), limiter, breaker);
      cleanup.push(() => {
        fleet.close();
        limiter.close();
        budget.close();
        client.disconnect();
        subscriber.disconnect();
      });
      return {
        client,
        subscriber,
        breaker,
        fleet,
        limiter,
        budget,
        call: () => policy.executeOutcome(() => 'ok'),
      };
    }

    /** Callers that call in a loop until stopped, counting what they get. */
    function load(replicas: readonly Replica[], callersPerReplica: number) {
      const counts = { ok: 0, rejected: 0, other: [] as unknown[] };
      let running = true;
      const callers = replicas.flatMap((r) =>
        Array.from({ length: callersPerReplica }, async () => {
          for (let i = 1; running; i++) {
            // Decisions taken locally settle in microtasks: yield now and then, as a server between
            // requests would, so timers and sockets (Redis's replies) get their turn.
            if (i % 20 === 0) await new Promise((resolve) => setImmediate(resolve));
            const outcome = await r.call();
            if (outcome.ok) counts.ok++;
            else if (outcome.error instanceof RejectedError) counts.rejected++;
            else counts.other.push(outcome.error);
          }
        }),
      );
      return {
        counts,
        total: () => counts.ok + counts.rejected + counts.other.length,
        stop: async () => {
          running = false;
          await Promise.all(callers);
        },
      };
    }

    it('kill Redis mid-run: calls go on with local decisions and nothing piles up; restart: replicas resync', async () => {
      const name = `faults-${++n}`;
      const [a, b] = [replica(name), replica(name)];
      await Promise.all([a.fleet.ready, b.fleet.ready, a.budget.ready, b.budget.ready]);
      const run = load([a, b], 4);

      await until(() => run.total() >= 200, BOUND_MS, 'calls with Redis up');
      expect(fromRedis(a.limiter)).toBeGreaterThan(0);

      await server.kill();
      await Promise.all([waitForStatus(a.client, 'reconnecting'), waitForStatus(b.client, 'reconnecting')]);
      const atKill = run.total();
      const degradedAtKill = a.limiter.snapshot().degraded;
      // A replica's breaker opens while Redis is away: the fleet cannot hear it yet.
      a.breaker.open(30_000);
      await until(() => run.total() >= atKill + 2_000, BOUND_MS, 'calls with Redis down');

      // Every call completed: a value, or a rejection of our own (rate limit, open circuit). No Redis
      // error ever reaches a caller.
      expect(run.counts.other).toEqual([]);
      expect(a.limiter.snapshot().degraded).toBeGreaterThan(degradedAtKill);
      // Its publish was refused, or sent while the client tried to reconnect and failed: either way
      // it is marked for the sync to retry.
      await until(() => a.fleet.snapshot().unpublished, BOUND_MS, 'open marked unpublished');
      // Nothing grows while Redis is down: the Redis breaker stops commands from being queued, and
      // local counts are two numbers each.
      for (const r of [a, b]) {
        expect(offlineQueue(r.client)).toBeLessThanOrEqual(5);
        expect(r.fleet.snapshot().pending).toEqual({
          calls: expect.any(Number),
          failures: expect.any(Number),
        });
      }

      await server.restart();
      // The fleet hears the open that happened during the outage, once the publish is retried.
      await until(() => b.breaker.state === 'open', BOUND_MS, 'b hears the open made during the outage');
      expect(a.fleet.snapshot().unpublished).toBe(false);
      // Admissions go back to Redis, and pub/sub works again in both directions.
      await until(() => b.limiter.snapshot().redis.state === 'closed', BOUND_MS, 'Redis breaker closed');
      const before = fromRedis(b.limiter);
      await until(() => fromRedis(b.limiter) > before, BOUND_MS, 'decisions from Redis');
      b.breaker.close();
      await until(() => a.breaker.state === 'closed', BOUND_MS, 'a hears the close');

      await run.stop();
      expect(run.counts.other).toEqual([]);
    });

    it('after Redis lost its data, open replicas publish their state again for late joiners', async () => {
      const name = `faults-${++n}`;
      const a = replica(name);
      await a.fleet.ready;
      a.breaker.open(30_000);
      await until(() => a.fleet.snapshot().published === 1, BOUND_MS, 'published');
      await server.kill();
      await server.restart();
      const late = replica(name);
      await until(() => late.breaker.state === 'open', BOUND_MS, 'late joiner open');
      expect(late.breaker.snapshot().retryAfterMs).toBeLessThanOrEqual(30_000);
      // The new epoch restarted the versions: the late joiner and the origin agree on it.
      await until(() => late.fleet.snapshot().epoch === a.fleet.snapshot().epoch, BOUND_MS, 'same epoch');
    });

    it('a slow Redis never delays a call through a breaker with fleet sync attached', async () => {
      const name = `faults-${++n}`;
      const a = replica(name);
      await a.fleet.ready;
      const admin = connect(server);
      clients.push(admin);
      cleanup.push(() => admin.disconnect());
      await admin.client('PAUSE', 1_000, 'ALL');
      let answered = false;
      const ping = admin.ping().then(() => {
        answered = true;
      });
      // The breaker itself never awaits Redis: calls complete while every Redis reply is held.
      for (let i = 0; i < 100; i++) expect(await a.breaker.execute(() => i)).toBe(i);
      a.breaker.open(5_000);
      expect(a.breaker.state).toBe('open');
      expect(answered).toBe(false);
      await ping;
      await until(() => a.fleet.snapshot().publishing === 0, BOUND_MS, 'publish settled');
    });
  },
);
