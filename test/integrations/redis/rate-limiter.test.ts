import type { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { type PolicyEvent, pipeline, RateLimitedError, TimeoutError } from '../../../src/index.js';
import {
  type RedisErrorEvent,
  type RedisRateLimitPermit,
  redisRateLimiter,
} from '../../../src/integrations/redis/index.js';
import type { PolicyRejectEvent } from '../../../src/metrics/events.js';
import { findRedisFor, redisSuite, until } from './redis-server.js';

const bin = findRedisFor('the Redis rate limiter tests');

/** Redis's own clock, ms: the limiter's decisions are made on it. */
async function redisNow(client: Redis): Promise<number> {
  const [s, us] = await client.time();
  return Number(s) * 1_000 + Number(us) / 1_000;
}

describe.skipIf(bin === undefined)(
  `redisRateLimiter against a real Redis${bin === undefined ? ' (SKIPPED: no redis-server)' : ''}`,
  () => {
    const redis = redisSuite(bin!);
    const client = () => redis.client();
    function limiter(options: Omit<Parameters<typeof redisRateLimiter>[0], 'client'>, c = client()) {
      return redis.closeAfter(redisRateLimiter({ client: c, ...options }));
    }
    const unique = () => redis.unique('limit');

    it('grants the burst, then rejects with the time until the next permit', async () => {
      // One permit per 10 minutes after a burst of 5: no refill can happen during the test.
      const l = limiter({
        name: unique(),
        tokens: 1,
        intervalMs: 600_000,
        burst: 5,
        discoverReplicas: false,
      });
      const remaining: (number | undefined)[] = [];
      for (let i = 0; i < 5; i++) {
        const permit = (await l.tryAcquire()) as RedisRateLimitPermit;
        expect(permit.source).toBe('redis');
        remaining.push(permit.remaining);
      }
      expect(remaining).toEqual([4, 3, 2, 1, 0]);
      const rejected = await l.tryAcquire();
      expect(rejected).toBeInstanceOf(RateLimitedError);
      const { retryAfterMs } = rejected as RateLimitedError;
      expect(retryAfterMs).toBeGreaterThan(0);
      expect(retryAfterMs).toBeLessThanOrEqual(600_000);
      expect(l.snapshot()).toMatchObject({ admitted: 5, rejected: 1, degraded: 0 });
    });

    it('keeps one limit per key when keyed, and none of its state outlives the limit', async () => {
      const name = unique();
      const l = limiter({
        name,
        tokens: 1,
        intervalMs: 600_000,
        burst: 1,
        keyed: true,
        discoverReplicas: false,
      });
      expect(await l.tryAcquire('a')).toMatchObject({ key: 'a', source: 'redis' });
      expect(await l.tryAcquire('a')).toBeInstanceOf(RateLimitedError);
      expect(await l.tryAcquire('b')).toMatchObject({ key: 'b', source: 'redis' });
      // The key holds the next permit's time and expires when it is reached.
      const ttl = await redis.admin.pttl(`breakwater:rl:${name}:k:a`);
      expect(ttl).toBeGreaterThan(0);
      expect(ttl).toBeLessThanOrEqual(600_000);
    });

    it('uses the key given to execute() as a Policy, and composes in a pipeline', async () => {
      const l = limiter({
        name: unique(),
        tokens: 1,
        intervalMs: 600_000,
        burst: 1,
        keyed: true,
        discoverReplicas: false,
      });
      const p = pipeline(l);
      await expect(p.execute(() => 'ok', { key: 'k' })).resolves.toBe('ok');
      await expect(p.execute(() => 'ok', { key: 'k' })).rejects.toBeInstanceOf(RateLimitedError);
      const outcome = await p.executeOutcome(() => 'ok', { key: 'other' });
      expect(outcome).toEqual({ ok: true, value: 'ok' });
    });

    it('reports calls and rejections as events, with who decided', async () => {
      const name = unique();
      const l = limiter({
        name,
        tokens: 1,
        intervalMs: 600_000,
        burst: 1,
        discoverReplicas: false,
      });
      const events: PolicyEvent[] = [];
      const rejects: PolicyRejectEvent[] = [];
      l.onEvent((e) => events.push(e));
      l.onReject((e) => rejects.push(e));
      await l.execute(() => 'ok');
      await l.executeOutcome(() => 'never');
      const base = { policy: name, kind: 'redisRateLimiter' };
      expect(events).toEqual([
        { ...base, type: 'call', outcome: 'success', durationMs: expect.any(Number) },
        {
          ...base,
          type: 'reject',
          reason: 'rate-limited',
          // The one permit of a 10-minute interval was just taken.
          retryAfterMs: expect.closeTo(600_000, -4),
          key: undefined,
          source: 'redis',
        },
      ]);
      // One event object, delivered to the typed view and to onEvent.
      expect(rejects).toHaveLength(1);
      expect(rejects[0]).toBe(events[1]);
      expect(l.snapshot().kind).toBe('redisRateLimiter');
    });

    it('runs the script by its SHA and reloads it after SCRIPT FLUSH (NOSCRIPT falls back to EVAL)', async () => {
      const l = limiter({ name: unique(), ratePerSecond: 1_000, discoverReplicas: false });
      await redis.admin.script('FLUSH');
      await redis.admin.config('RESETSTAT');
      // Unknown script: EVALSHA fails with NOSCRIPT, EVAL runs and caches it; then EVALSHA alone.
      expect(await l.tryAcquire()).toMatchObject({ source: 'redis' });
      expect(await l.tryAcquire()).toMatchObject({ source: 'redis' });
      const info = await redis.admin.info('commandstats');
      expect(info).toMatch(/cmdstat_evalsha:calls=2,.*failed_calls=1/);
      expect(info).toMatch(/cmdstat_eval:calls=1,/);
      expect(l.snapshot().redis.failures).toBe(0);
    });

    it('keeps N replicas x M callers within the fleet-wide limit (GCRA bound, tolerance: 1 permit)', async () => {
      const name = unique();
      const ratePerSecond = 500;
      const burst = 20;
      const replicas = 4;
      const callers = 8;
      const attempts = 60;
      const fleet = Array.from({ length: replicas }, () =>
        limiter({ name, ratePerSecond, burst, discoverReplicas: false, redisTimeoutMs: 2_000 }),
      );
      const start = await redisNow(redis.admin);
      const results = await Promise.all(
        fleet.flatMap((l) =>
          Array.from({ length: callers }, async () => {
            let admitted = 0;
            for (let i = 0; i < attempts; i++) {
              const r = await l.tryAcquire();
              if (!(r instanceof RateLimitedError)) {
                expect(r.source).toBe('redis');
                admitted++;
              }
            }
            return admitted;
          }),
        ),
      );
      const end = await redisNow(redis.admin);
      const admitted = results.reduce((a, b) => a + b, 0);
      // Every decision was taken on Redis's clock within [start, end]: GCRA grants at most
      // burst + span x rate there. The tolerance of one permit covers the microsecond rounding of TIME.
      const bound = burst + ((end - start) / 1_000) * ratePerSecond;
      expect(admitted).toBeLessThanOrEqual(Math.floor(bound) + 1);
      expect(admitted).toBeGreaterThanOrEqual(burst);
      const degraded = fleet.reduce((a, l) => a + l.snapshot().degraded, 0);
      expect(degraded).toBe(0);
    });

    it('counts live replicas and sizes the local share by them', async () => {
      const name = unique();
      const a = limiter({ name, ratePerSecond: 100, burst: 100, heartbeatMs: 50 });
      const b = limiter({ name, ratePerSecond: 100, burst: 100, heartbeatMs: 50 });
      await until(
        () => a.snapshot().replicas === 2 && b.snapshot().replicas === 2,
        5_000,
        'two replicas counted',
      );
      expect(a.snapshot().replicasCounted).toBe(true);
      b.close();
      // b left the presence set: a counts itself alone at its next heartbeat.
      await until(() => a.snapshot().replicas === 1, 5_000, 'one replica counted');
    });

    describe('degraded decisions while Redis cannot answer', () => {
      // A port where nothing listens: the client never becomes ready.
      async function unreachable(): Promise<Redis> {
        const { freePort } = await import('./redis-server.js');
        const port = await freePort();
        return redis.client({ port });
      }

      it("'local-share' admits this replica's share of rate and burst", async () => {
        const c = await unreachable();
        // Fleet: 0.4/s, burst 8. Share of 4 replicas: 0.1/s, burst 2 (no refill within the test).
        const l = limiter(
          {
            name: unique(),
            ratePerSecond: 0.4,
            burst: 8,
            replicas: 4,
            discoverReplicas: false,
            redisBreaker: { breakDurationMs: 60_000 },
          },
          c,
        );
        const errors: RedisErrorEvent[] = [];
        l.onRedisError((e) => errors.push(e));
        const decisions = [];
        for (let i = 0; i < 10; i++) decisions.push(await l.tryAcquire());
        const granted = decisions.filter((d) => !(d instanceof RateLimitedError)) as RedisRateLimitPermit[];
        expect(granted.map((d) => d.source)).toEqual(['local-share', 'local-share']);
        const rejected = decisions.filter((d) => d instanceof RateLimitedError) as RateLimitedError[];
        expect(rejected).toHaveLength(8);
        // The local share refills one permit per 10 s.
        for (const r of rejected) expect(r.retryAfterMs).toBeLessThanOrEqual(10_000);
        expect(l.snapshot()).toMatchObject({ degraded: 10, admitted: 2, rejected: 8 });
        // The Redis breaker opened after its failures: later calls were refused without a command.
        expect(l.redisBreaker.state).toBe('open');
        expect(l.snapshot().redis.refused).toBeGreaterThan(0);
        expect(errors.length).toBeGreaterThan(0);
      });

      it("'fail-open' admits and 'fail-closed' rejects every call", async () => {
        const c = await unreachable();
        const open = limiter({ name: unique(), ratePerSecond: 1, degrade: 'fail-open' }, c);
        const closed = limiter({ name: unique(), ratePerSecond: 1, degrade: 'fail-closed' }, c);
        for (let i = 0; i < 5; i++) {
          expect(await open.tryAcquire()).toMatchObject({ source: 'fail-open', remaining: undefined });
          const r = await closed.tryAcquire();
          expect(r).toBeInstanceOf(RateLimitedError);
          expect((r as RateLimitedError).retryAfterMs).toBeGreaterThanOrEqual(1_000);
        }
        await expect(closed.execute(() => 'ran')).rejects.toBeInstanceOf(RateLimitedError);
        await expect(open.execute(() => 'ran')).resolves.toBe('ran');
      });
    });

    it('a paused Redis costs a call at most the Redis timeout: decided locally, TimeoutError observed', async () => {
      const l = limiter({ name: unique(), ratePerSecond: 100, redisTimeoutMs: 50, discoverReplicas: false });
      expect(await l.tryAcquire()).toMatchObject({ source: 'redis' });
      const errors: RedisErrorEvent[] = [];
      l.onRedisError((e) => errors.push(e));
      const probe = client();
      await probe.ping();
      // Every client's commands wait for 1 s; the pause is active once this reply arrives.
      await redis.admin.client('PAUSE', 1_000, 'ALL');
      let answered = false;
      const ping = probe.ping().then(() => {
        answered = true;
      });
      const value = await l.execute(() => 'done');
      expect(value).toBe('done');
      // The call ended while Redis still held every reply (the probe sent before it is unanswered).
      expect(answered).toBe(false);
      expect(errors).toHaveLength(1);
      expect(errors[0]!.operation).toBe('acquire');
      expect(errors[0]!.error).toBeInstanceOf(TimeoutError);
      expect((errors[0]!.error as TimeoutError).timeoutMs).toBe(50);
      expect(l.snapshot()).toMatchObject({ degraded: 1, redis: { timeouts: 1 } });
      // Redis answers again once the pause ends (UNPAUSE itself would wait for it).
      await ping;
    });

    it('a caller that aborts while Redis decides leaves at once, and the task never runs', async () => {
      const l = limiter({
        name: unique(),
        ratePerSecond: 100,
        redisTimeoutMs: 2_000,
        discoverReplicas: false,
      });
      expect(await l.tryAcquire()).toMatchObject({ source: 'redis' });
      const probe = client();
      await probe.ping();
      await redis.admin.client('PAUSE', 300, 'ALL');
      let answered = false;
      const ping = probe.ping().then(() => {
        answered = true;
      });
      const caller = new AbortController();
      const reason = new Error('caller left');
      setTimeout(() => caller.abort(reason), 10);
      let ran = 0;
      const outcome = await l.executeOutcome(() => {
        ran++;
        return 'ran';
      }, caller.signal);
      expect(outcome).toEqual({ ok: false, error: reason });
      // Settled by the abort, not by Redis's answer.
      expect(answered).toBe(false);
      await ping;
      // Redis has answered the pending acquire by now (replies come in order): still nothing ran.
      await l.tryAcquire();
      expect(ran).toBe(0);
    });
  },
);
