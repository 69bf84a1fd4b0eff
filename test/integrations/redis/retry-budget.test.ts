import { describe, expect, it } from 'vitest';
import { FakeClock, retry } from '../../../src/index.js';
import { type RedisRetryBudget, redisRetryBudget } from '../../../src/integrations/redis/index.js';
import { findRedisFor, freePort, redisSuite } from './redis-server.js';

const bin = findRedisFor('the shared retry budget tests');

function spend(budget: RedisRetryBudget, max = 1_000): number {
  let granted = 0;
  while (granted < max && budget.tryRetry()) granted++;
  return granted;
}

describe.skipIf(bin === undefined)(
  `redisRetryBudget against a real Redis${bin === undefined ? ' (SKIPPED: no redis-server)' : ''}`,
  () => {
    const redis = redisSuite(bin!);

    async function budget(
      options: Omit<Parameters<typeof redisRetryBudget>[0], 'client'>,
      port = redis.server.port,
    ) {
      const c = redis.client({ port });
      // Syncs only when a test says so (the period is as long as the window).
      const b = redisRetryBudget({ client: c, syncIntervalMs: options.windowMs ?? 10_000, ...options });
      redis.closeAfter(b);
      await b.ready;
      return b;
    }
    const unique = () => redis.unique('budget');

    it("lets a replica retry on the fleet's requests, sharing the slack among replicas", async () => {
      const name = unique();
      const a = await budget({ name, ratio: 0.5, minPerSecond: 0 });
      const b = await budget({ name, ratio: 0.5, minPerSecond: 0 });
      for (let i = 0; i < 40; i++) a.recordRequest();
      await a.sync();
      await b.sync();
      // Fleet: 40 requests x 0.5 = 20 retries, 2 replicas: b may spend 10 without any request of its own.
      expect(b.snapshot()).toMatchObject({ source: 'fleet', replicas: 2, requests: 40, retries: 0 });
      expect(spend(b)).toBe(10);
      expect(b.snapshot().denied).toBe(1);
      await b.sync();
      await a.sync();
      // 10 of the 20 spent: a gets half of the 10 left.
      expect(a.snapshot()).toMatchObject({ requests: 40, retries: 10 });
      expect(spend(a)).toBe(5);
    });

    it('earns retries from its own requests between syncs, at the ratio', async () => {
      const a = await budget({ name: unique(), ratio: 0.5, minPerSecond: 0 });
      expect(spend(a)).toBe(0);
      for (let i = 0; i < 6; i++) a.recordRequest();
      expect(spend(a)).toBe(3);
    });

    it('never calls Redis to decide a retry', async () => {
      const a = await budget({ name: unique(), ratio: 1, minPerSecond: 100 });
      await redis.admin.config('RESETSTAT');
      for (let i = 0; i < 200; i++) {
        a.recordRequest();
        a.tryRetry();
      }
      const info = await redis.admin.info('commandstats');
      expect(info).not.toMatch(/cmdstat_evalsha/);
      expect(info).not.toMatch(/cmdstat_eval:/);
    });

    it('works as the budget of a retry policy', async () => {
      const a = await budget({ name: unique(), ratio: 0, minPerSecond: 0 });
      let calls = 0;
      const policy = retry({ maxRetries: 3, budget: a, backoff: 0 });
      await expect(
        policy.execute(() => {
          calls++;
          throw new Error('down');
        }),
      ).rejects.toThrow('down');
      // No budget at all: the first failure is final.
      expect(calls).toBe(1);
      expect(a.snapshot().denied).toBe(1);
    });

    it('falls back to local decisions once the fleet totals are older than the window', async () => {
      const clock = new FakeClock(1_000_000);
      const port = await freePort(); // nothing listens there
      const a = await budget({ name: unique(), ratio: 0.5, minPerSecond: 0, clock, windowMs: 1_000 }, port);
      expect(a.snapshot()).toMatchObject({ source: 'local', fleetAgeMs: undefined });
      for (let i = 0; i < 4; i++) a.recordRequest();
      expect(spend(a)).toBe(2);
      // Unflushed counts are two numbers; they are dropped once older than the window.
      await a.sync();
      expect(a.snapshot().pending).toEqual({ requests: 4, retries: 2 });
      clock.advance(1_000);
      await a.sync();
      expect(a.snapshot().pending).toEqual({ requests: 0, retries: 0 });
    });
  },
);
