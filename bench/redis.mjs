// breakwater/redis measurements: hot-path cost of fleet sync on a breaker, rate-limiter round trips
// against a local Redis (p50/p99), throughput of N replicas, and the degraded (Redis down) path.
//
//   npm run build && node bench/redis.mjs
//
// Starts its own redis-server (REDIS_SERVER, /usr/bin/redis-server or /usr/local/bin/redis-server) on a
// free port of 127.0.0.1 with nothing persisted, or uses REDIS_URL when set. Options (env):
// ITERATIONS (hot path, default 200000), ROUNDS (5), SAMPLES (round trips, 20000), SECONDS (throughput
// run per replica count, 2), REPLICAS (e.g. "1,2,4,8"), CALLERS (concurrent callers per replica, 16).
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { circuitBreaker, rateLimiter } from '../dist/esm/index.js';
import { fleetBreaker, redisRateLimiter } from '../dist/esm/integrations/redis/index.js';
import { loop, measure, table } from './harness.mjs';

const env = (name, fallback) => (process.env[name] ? Number(process.env[name]) : fallback);
const ITERATIONS = env('ITERATIONS', 200_000);
const ROUNDS = env('ROUNDS', 5);
const SAMPLES = env('SAMPLES', 20_000);
const SECONDS = env('SECONDS', 2);
const CALLERS = env('CALLERS', 16);
const REPLICAS = (process.env.REPLICAS ?? '1,2,4,8').split(',').map(Number);

function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

async function startRedis() {
  if (process.env.REDIS_URL) return { url: process.env.REDIS_URL, stop: async () => {} };
  const bin = [process.env.REDIS_SERVER, '/usr/bin/redis-server', '/usr/local/bin/redis-server'].find(
    (p) => p && existsSync(p),
  );
  if (!bin) throw new Error('no redis-server found: install it or set REDIS_URL');
  const dir = mkdtempSync(join(tmpdir(), 'breakwater-bench-redis-'));
  const port = await freePort();
  const args = [
    '--port',
    String(port),
    '--bind',
    '127.0.0.1',
    '--save',
    '',
    '--appendonly',
    'no',
    '--dir',
    dir,
  ];
  const child = spawn(bin, args, { stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise((resolve, reject) => {
    let log = '';
    child.stdout.on('data', (chunk) => {
      log += chunk;
      if (log.includes('Ready to accept connections')) resolve();
    });
    child.once('exit', (code) => reject(new Error(`redis-server exited (${code})\n${log}`)));
  });
  child.stdout.resume();
  return {
    url: `redis://127.0.0.1:${port}`,
    stop: async () => {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

function percentile(sorted, p) {
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))];
}

/** Latency of `n` sequential awaits of `call`, µs: p50, p99, p99.9, mean. */
async function roundTrips(call, n) {
  for (let i = 0; i < Math.min(2_000, n); i++) await call();
  const samples = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const start = process.hrtime.bigint();
    await call();
    samples[i] = Number(process.hrtime.bigint() - start) / 1_000;
  }
  samples.sort();
  const mean = samples.reduce((a, b) => a + b, 0) / n;
  return {
    p50: percentile(samples, 0.5),
    p99: percentile(samples, 0.99),
    p999: percentile(samples, 0.999),
    mean,
  };
}

const fmt = (us) => us.toFixed(0).padStart(6);

async function main() {
  const redis = await startRedis();
  const clients = [];
  const client = () => {
    const c = new Redis(redis.url, { maxRetriesPerRequest: 1 });
    c.on('error', () => {});
    clients.push(c);
    return c;
  };
  console.log(`node ${process.version}, ioredis, ${redis.url}\n`);

  // --- 1. Hot path: the same breaker configuration, with and without fleet sync --------------------
  const options = { window: { kind: 'count', size: 100 }, minimumCalls: 20 };
  const plain = circuitBreaker({ ...options, name: 'plain' });
  const synced = circuitBreaker({ ...options, name: 'synced' });
  const aggregated = circuitBreaker({ ...options, name: 'aggregated' });
  const f1 = fleetBreaker(synced, { client: client(), subscriber: client(), name: 'bench-synced' });
  const f2 = fleetBreaker(aggregated, {
    client: client(),
    subscriber: client(),
    name: 'bench-aggregated',
    aggregate: true,
  });
  await Promise.all([f1.ready, f2.ready]);
  const fn = () => 1;
  const raw = async () => fn();
  const results = await measure(
    [
      { group: 'baseline', name: 'raw `await fn()`', run: loop(raw) },
      { group: 'breaker', name: 'circuitBreaker, closed', run: loop(() => plain.execute(fn)) },
      { group: 'breaker', name: '+ fleetBreaker (state sync)', run: loop(() => synced.execute(fn)) },
      { group: 'breaker', name: '+ fleetBreaker (aggregate)', run: loop(() => aggregated.execute(fn)) },
    ],
    { iterations: ITERATIONS, rounds: ROUNDS },
  );
  console.log(
    `## Hot path (sequential await loop, ${ITERATIONS} calls, best of ${ROUNDS} interleaved rounds)\n`,
  );
  console.log(table(results, results[0].ns));
  // The loop never yields to timers, so the flush waits: the counts merge into two numbers meanwhile.
  console.log(
    `\n(aggregate, counts merged while the loop held the event loop: ${JSON.stringify(f2.snapshot().pending)})\n`,
  );
  f1.close();
  f2.close();

  // --- 2. Round trips ----------------------------------------------------------------------------------
  const c = client();
  await c.ping();
  const limiter = redisRateLimiter({
    client: c,
    name: 'bench-rt',
    ratePerSecond: 1e9,
    discoverReplicas: false,
  });
  await limiter.tryAcquire();
  const rows = [
    ['PING (ioredis, for reference)', await roundTrips(() => c.ping(), SAMPLES)],
    ['redisRateLimiter.tryAcquire()', await roundTrips(() => limiter.tryAcquire(), SAMPLES)],
    ['redisRateLimiter.execute(fn)', await roundTrips(() => limiter.execute(fn), SAMPLES)],
  ];
  console.log(`## Round trip against the local Redis (${SAMPLES} sequential calls, µs)\n`);
  console.log('| case | p50 | p99 | p99.9 | mean |');
  console.log('| --- | ---: | ---: | ---: | ---: |');
  for (const [name, r] of rows)
    console.log(`| ${name} | ${fmt(r.p50)} | ${fmt(r.p99)} | ${fmt(r.p999)} | ${fmt(r.mean)} |`);
  console.log(`\n(the limiter's snapshot: ${JSON.stringify(limiter.snapshot().redis)})\n`);

  // --- 3. Throughput of N replicas -----------------------------------------------------------------------
  console.log(
    `## Throughput: N replicas (own client and limiter each) x ${CALLERS} callers, ${SECONDS} s each\n`,
  );
  console.log('| replicas | decisions/s | admitted/s | limit/s | degraded |');
  console.log('| ---: | ---: | ---: | ---: | ---: |');
  for (const n of REPLICAS) {
    const name = `bench-tp-${n}`;
    const ratePerSecond = 5_000;
    const replicas = Array.from({ length: n }, () =>
      redisRateLimiter({ client: client(), name, ratePerSecond, burst: 100, discoverReplicas: false }),
    );
    await Promise.all(replicas.map((r) => r.tryAcquire()));
    let running = true;
    let decisions = 0;
    let admitted = 0;
    const start = process.hrtime.bigint();
    const callers = replicas.flatMap((r) =>
      Array.from({ length: CALLERS }, async () => {
        while (running) {
          const d = await r.tryAcquire();
          decisions++;
          if (d.source !== undefined) admitted++;
        }
      }),
    );
    await new Promise((resolve) => setTimeout(resolve, SECONDS * 1_000));
    running = false;
    await Promise.all(callers);
    const s = Number(process.hrtime.bigint() - start) / 1e9;
    const degraded = replicas.reduce((a, r) => a + r.snapshot().degraded, 0);
    console.log(
      `| ${n} | ${Math.round(decisions / s)} | ${Math.round(admitted / s)} | ${ratePerSecond} | ${degraded} |`,
    );
    for (const r of replicas) r.close();
  }

  // --- 4. Degraded path: Redis unreachable, its breaker open ---------------------------------------------
  const deadPort = await freePort();
  const dead = new Redis({
    host: '127.0.0.1',
    port: deadPort,
    retryStrategy: () => 1_000,
    maxRetriesPerRequest: 0,
  });
  dead.on('error', () => {});
  clients.push(dead);
  const degraded = redisRateLimiter({
    client: dead,
    name: 'bench-degraded',
    ratePerSecond: 1e9,
    discoverReplicas: false,
    redisBreaker: { breakDurationMs: 600_000 },
  });
  while (degraded.redisBreaker.state !== 'open') await degraded.tryAcquire();
  const local = rateLimiter({ ratePerSecond: 1e9 });
  const down = await measure(
    [
      { group: 'baseline', name: 'raw `await fn()`', run: loop(raw) },
      { group: 'local', name: 'rateLimiter (local)', run: loop(() => local.execute(fn)) },
      { group: 'redis down', name: 'redisRateLimiter, local share', run: loop(() => degraded.execute(fn)) },
    ],
    { iterations: ITERATIONS, rounds: ROUNDS },
  );
  console.log(`\n## Redis down (breaker open): decisions are local and synchronous\n`);
  console.log(table(down, down[0].ns));
  console.log(`\n(offline queue of the dead client: ${dead.offlineQueue.length} commands)`);
  degraded.close();

  for (const cl of clients) cl.disconnect();
  await redis.stop();
}

await main();
