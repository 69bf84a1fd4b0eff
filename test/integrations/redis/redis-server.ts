// Starts a throwaway redis-server on 127.0.0.1 for the integration tests, from the Debian `redis-server`
// package (CI: apt-get install redis-server). Nothing is persisted (--save '' --appendonly no), so a
// restart loses every key, as a crash of an unpersisted Redis would. Slow answers are made with
// CLIENT PAUSE (Redis >= 6.2).
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis, type RedisOptions } from 'ioredis';
import { afterAll, afterEach, beforeAll } from 'vitest';
import { waitFor } from '../../helpers.js';

/** The redis-server binary, or undefined when Redis is not installed. */
export function findRedis(): string | undefined {
  const candidates = [process.env.REDIS_SERVER, '/usr/bin/redis-server', '/usr/local/bin/redis-server'];
  return candidates.find((path): path is string => path !== undefined && path !== '' && existsSync(path));
}

/**
 * The redis-server binary for a test file, or undefined after a warning naming the tests that are
 * skipped: tests of a real server skip only when the binary is missing, and say so.
 */
export function findRedisFor(tests: string): string | undefined {
  const bin = findRedis();
  if (bin === undefined) {
    console.warn(
      'test/integrations/redis: no redis-server binary found (looked in $REDIS_SERVER, /usr/bin, /usr/local/bin): ' +
        `${tests} are SKIPPED. Install redis-server to run them.`,
    );
  }
  return bin;
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

export interface RedisServer {
  readonly host: string;
  readonly port: number;
  /** True while the process runs. */
  readonly running: boolean;
  /** Kills the server at once (SIGKILL), as a crash would. */
  kill(): Promise<void>;
  /** Starts it again on the same port (empty: nothing was persisted). */
  restart(): Promise<void>;
  /** Stops it for good and removes its directory. */
  stop(): Promise<void>;
}

export async function startRedis(bin: string): Promise<RedisServer> {
  const dir = mkdtempSync(join(tmpdir(), 'breakwater-redis-'));
  const port = await freePort();
  let child: ChildProcess | null = null;

  const launch = async (): Promise<void> => {
    const proc = spawn(
      bin,
      [
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
        '--loglevel',
        'notice',
      ],
      { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    child = proc;
    let log = '';
    await new Promise<void>((resolve, reject) => {
      const onData = (chunk: Buffer) => {
        log += chunk.toString();
        if (log.includes('Ready to accept connections')) {
          proc.stdout?.off('data', onData);
          proc.stdout?.resume();
          proc.stderr?.resume();
          proc.off('exit', onExit);
          resolve();
        }
      };
      const onExit = (code: number | null) => reject(new Error(`redis-server exited (${code}):\n${log}`));
      proc.stdout?.on('data', onData);
      proc.once('exit', onExit);
    });
  };

  const halt = async (signal: NodeJS.Signals): Promise<void> => {
    const proc = child as ChildProcess | null;
    child = null;
    if (proc === null || proc.exitCode !== null || proc.signalCode !== null) return;
    const exited = new Promise((resolve) => proc.once('exit', resolve));
    proc.kill(signal);
    await exited;
  };

  await launch();
  return {
    host: '127.0.0.1',
    port,
    get running() {
      const proc = child as ChildProcess | null;
      return proc !== null && proc.exitCode === null && proc.signalCode === null;
    },
    kill: () => halt('SIGKILL'),
    restart: launch,
    stop: async () => {
      await halt('SIGTERM');
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * A client as an application would configure one for tests: reconnects quickly, and its 'error'
 * events (a killed server) are swallowed instead of printed.
 */
export function connect(server: RedisServer, options: RedisOptions = {}): Redis {
  const client = new Redis({
    host: server.host,
    port: server.port,
    retryStrategy: () => 20,
    maxRetriesPerRequest: 1,
    ...options,
  });
  client.on('error', () => {});
  return client;
}

/** Resolves once `client.status` is `status`, checking every few ms, or rejects after `withinMs`. */
export async function waitForStatus(client: Redis, status: string, withinMs = 5_000): Promise<void> {
  await until(() => client.status === status, withinMs, `client status ${status} (is ${client.status})`);
}

/** Polls `check` until it holds; rejects after `withinMs` (a generous bound for real servers, not a measurement). */
export function until(check: () => boolean, withinMs = 5_000, what = 'condition'): Promise<void> {
  return waitFor(check, what, { withinMs, everyMs: 5 });
}

export interface RedisSuite {
  readonly server: RedisServer;
  /** A client to inspect and steer the server with, open for the whole suite. */
  readonly admin: Redis;
  /** A new client (options as for `connect`), disconnected after the test. */
  client(options?: RedisOptions): Redis;
  /** Closes `x` after the test, before its clients disconnect. */
  closeAfter<T extends { close(): void }>(x: T): T;
  /** A name no other test of the suite has used. */
  unique(prefix: string): string;
}

/**
 * Registers the hooks of a suite run against one throwaway server: started before the suite and
 * stopped after it; what a test opened through the suite is closed after that test.
 */
export function redisSuite(bin: string): RedisSuite {
  let server: RedisServer | undefined;
  let admin: Redis | undefined;
  const clients: Redis[] = [];
  const closing: { close(): void }[] = [];
  let n = 0;
  beforeAll(async () => {
    server = await startRedis(bin);
    admin = connect(server);
  });
  afterAll(async () => {
    admin?.disconnect();
    await server?.stop();
  });
  afterEach(() => {
    for (const x of closing.splice(0)) x.close();
    for (const c of clients.splice(0)) c.disconnect();
  });
  return {
    get server() {
      return server!;
    },
    get admin() {
      return admin!;
    },
    client(options) {
      const c = connect(server!, options);
      clients.push(c);
      return c;
    },
    closeAfter(x) {
      closing.push(x);
      return x;
    },
    unique: (prefix) => `${prefix}-${++n}`,
  };
}
