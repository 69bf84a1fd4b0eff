// A pg Pool under breakwater: serialization failures and deadlocks are retried (whole transactions),
// syntax and constraint errors are not, and an aborted or timed-out statement is cancelled on the
// server. Run with `npx tsx examples/integrations/pg.ts`. It uses $DATABASE_URL when set; otherwise it
// starts a throwaway PostgreSQL from the local binaries (Debian: apt-get install postgresql) and
// removes it at the end.
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { pgErrorCategory, resilientPool } from '../../src/integrations/pg/index.js';
import { findPostgres, startPostgres } from '../../test/integrations/pg/postgres.js';

let stop = async () => {};
let config: pg.PoolConfig;
if (process.env.DATABASE_URL) {
  config = { connectionString: process.env.DATABASE_URL };
} else {
  const bin = findPostgres();
  if (bin === undefined) {
    console.log('Set DATABASE_URL, or install PostgreSQL (apt-get install postgresql) to run this example.');
    process.exit(0);
  }
  const server = await startPostgres(bin);
  stop = server.stop;
  config = { host: server.host, port: server.port, user: server.user, database: server.database };
}

const pool = new pg.Pool({ ...config, max: 4 });
// pg emits errors of idle connections on the pool (a server restart, say): without a listener they
// would crash the process. breakwater handles the errors of the calls themselves.
pool.on('error', (error) => console.warn('idle connection lost:', error.message));
const db = resilientPool(pool, {
  timeout: 3_000, // per attempt: connect + statement (or a whole transaction)
  retry: { maxRetries: 3 },
  circuitBreaker: { window: { kind: 'consecutive', failures: 5 } },
});

await pool.query(`
  DROP TABLE IF EXISTS example_accounts;
  CREATE TABLE example_accounts (id int PRIMARY KEY, balance int NOT NULL);
  INSERT INTO example_accounts VALUES (1, 100), (2, 100);
`);

// 1. A query, retried only when retrying is safe and useful.
const { rows } = await db.query<{ total: number }>('SELECT sum(balance)::int AS total FROM example_accounts');
console.log('total balance:', rows[0]?.total);

// 2. Two transfers that deadlock: PostgreSQL aborts one (40P01) and breakwater reruns it.
const transfer = (from: number, to: number) =>
  db.transaction(
    async (client, { attempt }) => {
      await client.query('UPDATE example_accounts SET balance = balance - 10 WHERE id = $1', [from]);
      await client.query('SELECT pg_sleep(0.1)');
      await client.query('UPDATE example_accounts SET balance = balance + 10 WHERE id = $1', [to]);
      return attempt;
    },
    { isolation: 'read committed' },
  );
console.log('transfer attempts:', await Promise.all([transfer(1, 2), transfer(2, 1)]));

// 3. A syntax error is not retried.
await db.query('SELEC 1').catch((e: unknown) => console.log('syntax error:', pgErrorCategory(e)));

// 4. A statement whose caller gives up is cancelled on the server, not just abandoned (the same
// happens when the pipeline's timeout passes: the call then rejects with TimeoutError).
const t0 = performance.now();
await db.query('SELECT pg_sleep(10)', undefined, { signal: AbortSignal.timeout(300) }).catch((e: unknown) => {
  const ms = Math.round(performance.now() - t0);
  console.log(`slow statement: ${(e as Error).name} after ${ms} ms`);
});
// The cancel request travels on its own connection: give the server a moment to act on it.
await sleep(100);
const { rows: still } = await pool.query(
  `SELECT count(*)::int AS n FROM pg_stat_activity WHERE query = 'SELECT pg_sleep(10)' AND state = 'active'`,
);
console.log('still running on the server:', still[0]?.n);

await pool.query('DROP TABLE example_accounts');
await pool.end();
await stop();
