import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  BrokenCircuitError,
  circuitBreaker,
  type RetryPolicy,
  retry,
  TimeoutError,
} from '../../../src/index.js';
import {
  BW_ERR_PG_COMMIT_UNKNOWN,
  BW_ERR_PG_ROLLED_BACK,
  isPgOutage,
  isRetryablePgError,
  PgCommitUnknownError,
  PgRolledBackError,
  pgErrorCategory,
  resilientPool,
} from '../../../src/integrations/pg/index.js';
import { deferred, FakeClock, waitFor } from '../../helpers.js';
import { findPostgres, type Postgres, startPostgres } from './postgres.js';

const bin = findPostgres();
/** Advisory lock key of the commit gate (see the `gated` table). */
const GATE = 7;
if (bin === undefined) {
  console.warn(
    'test/integrations/pg: no PostgreSQL binary found (looked in $PG_BIN, /usr/lib/postgresql/*/bin, ' +
      '/usr/local/bin, /usr/bin): the PostgreSQL integration tests are SKIPPED. Install postgresql to run them.',
  );
}

describe('pg error classification', () => {
  const sqlError = (code: string) => Object.assign(new Error(`sqlstate ${code}`), { code });

  it('retries conflicts and transient unavailability, never query errors', () => {
    for (const code of ['40001', '40P01', '55P03', '57P01', '57P02', '57P03', '53300', '08006', '08001'])
      expect(isRetryablePgError(sqlError(code)), code).toBe(true);
    for (const code of ['42601', '42P01', '23505', '23503', '22P02', '28P01', '53100', '57014', 'XX000'])
      expect(isRetryablePgError(sqlError(code)), code).toBe(false);
  });

  it('sorts errors into categories', () => {
    expect(pgErrorCategory(sqlError('40001'))).toBe('conflict');
    expect(pgErrorCategory(sqlError('57P01'))).toBe('unavailable');
    expect(pgErrorCategory(sqlError('53200'))).toBe('unavailable');
    expect(pgErrorCategory(sqlError('08P01'))).toBe('connection');
    expect(pgErrorCategory(sqlError('57014'))).toBe('timeout');
    expect(pgErrorCategory(sqlError('23505'))).toBe('query');
    expect(pgErrorCategory(Object.assign(new Error('connect'), { code: 'ECONNREFUSED' }))).toBe('connection');
    expect(pgErrorCategory(new Error('Connection terminated unexpectedly'))).toBe('connection');
    expect(pgErrorCategory(TimeoutError.create(10, 't'))).toBe('timeout');
    expect(pgErrorCategory(new TypeError('bug'))).toBe('other');
  });

  it('treats a socket error as retryable only when the wrapper saw it before sending', () => {
    expect(isRetryablePgError(Object.assign(new Error('reset'), { code: 'ECONNRESET' }))).toBe(false);
    expect(isRetryablePgError(new Error('Connection terminated unexpectedly'))).toBe(false);
  });

  it('counts outages, not answers, against the breaker', () => {
    expect(isPgOutage(sqlError('57P01'))).toBe(true);
    expect(isPgOutage(sqlError('08006'))).toBe(true);
    expect(isPgOutage(TimeoutError.create(10, 't'))).toBe(true);
    expect(isPgOutage(sqlError('40001'))).toBe(false);
    expect(isPgOutage(sqlError('42601'))).toBe(false);
  });

  it('validates its options', () => {
    const pool = { connect: async () => ({}) as pg.PoolClient };
    expect(() => resilientPool(pool, { retires: 1 } as never)).toThrow(
      expect.objectContaining({ code: 'BW_ERR_INVALID_OPTION', option: 'resilientPool.retires' }),
    );
    expect(() => resilientPool({} as never)).toThrow(
      expect.objectContaining({
        name: 'TypeError',
        code: 'BW_ERR_INVALID_OPTION',
        option: 'resilientPool.pool',
      }),
    );
  });

  it('never retries an interrupted COMMIT by default, and sorts it by what interrupted it', () => {
    const lost = new PgCommitUnknownError(new Error('Connection terminated unexpectedly'));
    expect(lost).toMatchObject({ name: 'PgCommitUnknownError', code: BW_ERR_PG_COMMIT_UNKNOWN });
    expect(lost).toBeInstanceOf(Error);
    expect(pgErrorCategory(lost)).toBe('connection');
    expect(isRetryablePgError(lost)).toBe(false);
    expect(isPgOutage(lost)).toBe(true);
    const timedOut = new PgCommitUnknownError(TimeoutError.create(10, 't'));
    expect(pgErrorCategory(timedOut)).toBe('timeout');
    expect(isRetryablePgError(timedOut)).toBe(false);
    // As the pipeline's timeout reports it.
    expect(isRetryablePgError(TimeoutError.create(10, 't', timedOut))).toBe(false);
    expect(pgErrorCategory(new PgCommitUnknownError(new Error('user left')))).toBe('other');
    // Whatever cut the COMMIT off, even an error that is retryable before COMMIT.
    for (const code of ['40001', '57P01', '08006'])
      expect(isRetryablePgError(new PgCommitUnknownError(sqlError(code))), code).toBe(false);
  });

  it('lets a retry of your own leave an interrupted COMMIT alone, as docs/pg.md shows', async () => {
    for (const options of [{ handle: isRetryablePgError }, { ignore: PgCommitUnknownError }]) {
      let calls = 0;
      const mine = retry({ ...options, backoff: 0 });
      const error = await mine
        .execute(async () => {
          calls++;
          throw new PgCommitUnknownError(new Error('user left'));
        })
        .catch((e: unknown) => e);
      expect(error).toBeInstanceOf(PgCommitUnknownError);
      expect(calls).toBe(1);
    }
  });

  it('treats a rolled-back COMMIT as an answer of a healthy server, not retried', () => {
    const error = new PgRolledBackError();
    expect(error).toMatchObject({ name: 'PgRolledBackError', code: BW_ERR_PG_ROLLED_BACK });
    expect(pgErrorCategory(error)).toBe('query');
    expect(isRetryablePgError(error)).toBe(false);
    expect(isPgOutage(error)).toBe(false);
  });
});

describe.skipIf(bin === undefined)(
  `pg against a real PostgreSQL${bin === undefined ? ' (SKIPPED: no PostgreSQL binary found)' : ''}`,
  () => {
    let server: Postgres;
    let pool: pg.Pool;
    let admin: pg.Pool;

    beforeAll(async () => {
      server = await startPostgres(bin!);
      const config = { host: server.host, port: server.port, user: server.user, database: server.database };
      pool = new pg.Pool({ ...config, max: 5 });
      admin = new pg.Pool({ ...config, max: 2 });
      // Connections dropped after a cancel may still be closing when the server stops.
      pool.on('error', () => {});
      admin.on('error', () => {});
      await admin.query(`
        CREATE TABLE accounts (id int PRIMARY KEY, balance int NOT NULL);
        INSERT INTO accounts VALUES (1, 100), (2, 100);
        CREATE TABLE emails (address text PRIMARY KEY);
        CREATE SEQUENCE flaky_seq;
        CREATE SEQUENCE sleepy_seq;
        -- A deferred constraint trigger runs inside COMMIT: here it waits for an advisory lock that the
        -- test holds, so COMMIT is reliably in flight, for as long as the test wants.
        CREATE TABLE gated (id text PRIMARY KEY);
        CREATE FUNCTION wait_for_gate() RETURNS trigger LANGUAGE plpgsql AS $$
          BEGIN PERFORM pg_advisory_xact_lock(${GATE}); RETURN NULL; END $$;
        CREATE CONSTRAINT TRIGGER gate AFTER INSERT ON gated DEFERRABLE INITIALLY DEFERRED
          FOR EACH ROW EXECUTE FUNCTION wait_for_gate();
        -- Fails with a serialization failure while the sequence is at most $1, then returns it.
        CREATE FUNCTION flaky(fails int) RETURNS int LANGUAGE plpgsql AS $$
          DECLARE n int := nextval('flaky_seq');
          BEGIN
            IF n <= fails THEN RAISE EXCEPTION 'conflict %', n USING ERRCODE = '40001'; END IF;
            RETURN n;
          END $$;
      `);
    });

    afterAll(async () => {
      await pool?.end();
      await admin?.end();
      await server?.stop();
    });

    /** The backends running `text` now (other than the one asking). */
    async function running(text: string): Promise<number> {
      const { rows } = await admin.query(
        `SELECT count(*)::int AS n FROM pg_stat_activity
          WHERE state = 'active' AND query = $1 AND pid <> pg_backend_pid()`,
        [text],
      );
      return rows[0].n as number;
    }
    /** Whether backend `pid` is running COMMIT and waiting for a lock (the commit-time gate). */
    async function commitWaiting(pid: number): Promise<boolean> {
      const { rows } = await admin.query(
        `SELECT count(*)::int AS n FROM pg_stat_activity
          WHERE pid = $1 AND state = 'active' AND query = 'COMMIT' AND wait_event_type = 'Lock'`,
        [pid],
      );
      return rows[0].n === 1;
    }
    async function gatedRows(id: string): Promise<number> {
      const { rows } = await admin.query('SELECT count(*)::int AS n FROM gated WHERE id = $1', [id]);
      return rows[0].n as number;
    }
    /** Holds the advisory lock that every COMMIT of a transaction that wrote to `gated` waits for. */
    async function closeGate(): Promise<{ open(): Promise<void> }> {
      const holder = await admin.connect();
      await holder.query(`SELECT pg_advisory_lock(${GATE})`);
      return {
        open: async () => {
          await holder.query(`SELECT pg_advisory_unlock(${GATE})`);
          holder.release();
        },
      };
    }
    const retryOf = (db: { pipeline: { policies: readonly unknown[] } }) =>
      db.pipeline.policies.find((p) => (p as { kind?: string }).kind === 'retry') as RetryPolicy;

    it('runs a query and returns its result', async () => {
      const db = resilientPool(pool);
      const result = await db.query<{ sum: number }>('SELECT $1::int + $2::int AS sum', [2, 3]);
      expect(result.rows).toEqual([{ sum: 5 }]);
    });

    it('retries a serialization failure (SQLSTATE 40001) until the statement succeeds', async () => {
      await admin.query(`SELECT setval('flaky_seq', 1, false)`);
      const db = resilientPool(pool, { retry: { backoff: 0 } });
      const result = await db.query<{ n: number }>('SELECT flaky(2) AS n');
      expect(result.rows[0]!.n).toBe(3);
      expect(retryOf(db).snapshot().retries).toBe(2);
    });

    it('does not retry a syntax error or a constraint violation, and the breaker counts them as answers', async () => {
      const breaker = circuitBreaker({ window: { kind: 'consecutive', failures: 1 }, handle: isPgOutage });
      const db = resilientPool(pool, { retry: { backoff: 0 }, circuitBreaker: breaker });
      await expect(db.query('SELEC 1')).rejects.toMatchObject({ code: '42601' });
      await db.query(`INSERT INTO emails VALUES ('a@example.com')`);
      await expect(db.query(`INSERT INTO emails VALUES ('a@example.com')`)).rejects.toMatchObject({
        code: '23505',
      });
      expect(retryOf(db).snapshot().retries).toBe(0);
      expect(breaker.state).toBe('closed');
    });

    it('reruns a whole transaction chosen as deadlock victim (40P01)', async () => {
      // A rerun without any backoff can grab its first row before the winner does and deadlock again:
      // a short pause lets the winner commit first.
      const db = resilientPool(pool, { retry: { backoff: 20, maxRetries: 5 } });
      const firstLocks = [deferred<void>(), deferred<void>()];
      const both = Promise.all(firstLocks.map((d) => d.promise));
      const attempts = [0, 0];
      // Each transaction locks one row, waits until the other holds its row, then wants the other's.
      const move = (index: number, from: number, to: number) =>
        db.transaction(async (client, { attempt }) => {
          attempts[index] = attempt;
          await client.query('UPDATE accounts SET balance = balance - 10 WHERE id = $1', [from]);
          if (attempt === 1) {
            firstLocks[index]!.resolve();
            await both;
          }
          await client.query('UPDATE accounts SET balance = balance + 10 WHERE id = $1', [to]);
        });
      await Promise.all([move(0, 1, 2), move(1, 2, 1)]);
      // One of them was the victim and ran again; both committed exactly once.
      expect(Math.min(...attempts)).toBe(1);
      expect(Math.max(...attempts)).toBeGreaterThanOrEqual(2);
      const { rows } = await admin.query('SELECT balance FROM accounts ORDER BY id');
      expect(rows).toEqual([{ balance: 100 }, { balance: 100 }]);
    });

    it('rolls a failed transaction back and does not retry a constraint violation', async () => {
      const db = resilientPool(pool, { retry: { backoff: 0 } });
      let runs = 0;
      const attempt = db.transaction(async (client) => {
        runs++;
        await client.query(`INSERT INTO emails VALUES ('b@example.com')`);
        await client.query(`INSERT INTO emails VALUES ('b@example.com')`);
      });
      await expect(attempt).rejects.toMatchObject({ code: '23505' });
      expect(runs).toBe(1);
      const { rows } = await admin.query(
        `SELECT count(*)::int AS n FROM emails WHERE address = 'b@example.com'`,
      );
      expect(rows[0].n).toBe(0);
    });

    it('cancels the running statement on the server when the caller aborts, and drops that connection', async () => {
      const db = resilientPool(pool);
      const caller = new AbortController();
      const sql = 'SELECT pg_sleep(30)';
      const call = db.query(sql, undefined, { signal: caller.signal }).catch((e: unknown) => e);
      await waitFor(async () => (await running(sql)) === 1, 'the statement to run on the server');
      const before = pool.totalCount;
      caller.abort(new Error('user left'));
      expect(await call).toMatchObject({ message: 'user left' });
      await waitFor(async () => (await running(sql)) === 0, 'the server to cancel the statement');
      await waitFor(() => pool.totalCount === before - 1, 'the cancelled connection to be dropped');
      // The pool is healthy afterwards.
      expect((await db.query('SELECT 1 AS one')).rows).toEqual([{ one: 1 }]);
    });

    it('turns a timeout into TimeoutError, cancels the statement, and counts it against the breaker', async () => {
      const clock = new FakeClock();
      const breaker = circuitBreaker({
        window: { kind: 'consecutive', failures: 1 },
        handle: isPgOutage,
        clock,
      });
      const db = resilientPool(pool, { clock, timeout: 1_000, retry: false, circuitBreaker: breaker });
      const sql = 'SELECT pg_sleep(31)';
      const call = db.query(sql).catch((e: unknown) => e);
      await waitFor(async () => (await running(sql)) === 1, 'the statement to run on the server');
      await clock.tick(1_000);
      expect(await call).toBeInstanceOf(TimeoutError);
      await waitFor(async () => (await running(sql)) === 0, 'the server to cancel the statement');
      expect(breaker.state).toBe('open');
      await expect(db.query('SELECT 1')).rejects.toBeInstanceOf(BrokenCircuitError);
    });

    it('never commits a transaction whose caller was told it was aborted', async () => {
      const db = resilientPool(pool, { cancel: false });
      const caller = new AbortController();
      const release = deferred<void>();
      const call = db
        .transaction(
          async (client) => {
            await client.query(`INSERT INTO emails VALUES ('c@example.com')`);
            await release.promise;
          },
          { signal: caller.signal },
        )
        .catch((e: unknown) => e);
      caller.abort(new Error('gone'));
      expect(await call).toMatchObject({ message: 'gone' });
      release.resolve();
      await waitFor(
        () => pool.idleCount === pool.totalCount,
        'the rolled-back connection to return to the pool',
      );
      const { rows } = await admin.query(
        `SELECT count(*)::int AS n FROM emails WHERE address = 'c@example.com'`,
      );
      expect(rows[0].n).toBe(0);
    });

    it('rejects a transaction that PostgreSQL rolled back at COMMIT because fn swallowed a statement error', async () => {
      const db = resilientPool(pool, { retry: { backoff: 0 } });
      let runs = 0;
      const call = db.transaction(async (client) => {
        runs++;
        await client.query(`INSERT INTO emails VALUES ('d@example.com')`);
        // The error is caught, but the transaction is aborted: the server answers COMMIT with ROLLBACK.
        await client.query('SELEC 1').catch(() => undefined);
        return 'done';
      });
      await expect(call).rejects.toMatchObject({ name: 'PgRolledBackError', code: BW_ERR_PG_ROLLED_BACK });
      expect(runs).toBe(1);
      const { rows } = await admin.query(
        `SELECT count(*)::int AS n FROM emails WHERE address = 'd@example.com'`,
      );
      expect(rows[0].n).toBe(0);
      // The connection is fine: it went back to the pool and serves the next call.
      expect((await db.query('SELECT 1 AS one')).rows).toEqual([{ one: 1 }]);
    });

    it('reports a COMMIT interrupted by the caller as of unknown outcome (here the cancel rolled it back)', async () => {
      const db = resilientPool(pool, { retry: { backoff: 0 } });
      const gate = await closeGate();
      try {
        const caller = new AbortController();
        let backend: number | undefined;
        const call = db
          .transaction(
            async (client) => {
              backend = (await client.query('SELECT pg_backend_pid() AS pid')).rows[0].pid;
              await client.query(`INSERT INTO gated VALUES ('by-caller')`);
            },
            { signal: caller.signal },
          )
          .catch((e: unknown) => e);
        await waitFor(
          async () => backend !== undefined && (await commitWaiting(backend)),
          'COMMIT to wait at the gate',
        );
        caller.abort(new Error('user left'));
        const error = await call;
        expect(error).toBeInstanceOf(PgCommitUnknownError);
        expect(error).toMatchObject({ code: BW_ERR_PG_COMMIT_UNKNOWN, cause: { message: 'user left' } });
        // The CancelRequest reached COMMIT while its deferred trigger waited: the transaction was rolled back.
        await waitFor(async () => !(await commitWaiting(backend!)), 'the cancel to end the waiting COMMIT');
      } finally {
        await gate.open();
      }
      expect(await gatedRows('by-caller')).toBe(0);
      expect(retryOf(db).snapshot().retries).toBe(0);
    });

    it('reports a COMMIT interrupted by the timeout as of unknown outcome, does not retry it, and it may commit', async () => {
      const clock = new FakeClock();
      const db = resilientPool(pool, { clock, timeout: 1_000, cancel: false, retry: { backoff: 0 } });
      let runs = 0;
      const gate = await closeGate();
      let error: unknown;
      try {
        let backend: number | undefined;
        const call = db
          .transaction(async (client) => {
            runs++;
            backend = (await client.query('SELECT pg_backend_pid() AS pid')).rows[0].pid;
            await client.query(`INSERT INTO gated VALUES ('by-timeout')`);
          })
          .catch((e: unknown) => e);
        await waitFor(
          async () => backend !== undefined && (await commitWaiting(backend)),
          'COMMIT to wait at the gate',
        );
        await clock.tick(1_000);
        error = await call;
      } finally {
        await gate.open();
      }
      expect(error).toBeInstanceOf(PgCommitUnknownError);
      expect((error as PgCommitUnknownError).cause).toBeInstanceOf(TimeoutError);
      expect(runs).toBe(1);
      expect(retryOf(db).snapshot().retries).toBe(0);
      // Nothing cancelled it: once the gate opens, the COMMIT the caller gave up on goes through.
      await waitFor(async () => (await gatedRows('by-timeout')) === 1, 'the abandoned COMMIT to commit');
      await waitFor(() => pool.idleCount === pool.totalCount, 'the connection to return to the pool');
    });

    it('reports a COMMIT whose backend was terminated (57P01) as of unknown outcome, and does not retry it', async () => {
      const db = resilientPool(pool, { retry: { backoff: 0 } });
      const gate = await closeGate();
      let error: unknown;
      try {
        let backend: number | undefined;
        const call = db
          .transaction(async (client) => {
            backend = (await client.query('SELECT pg_backend_pid() AS pid')).rows[0].pid;
            await client.query(`INSERT INTO gated VALUES ('by-terminate')`);
          })
          .catch((e: unknown) => e);
        await waitFor(
          async () => backend !== undefined && (await commitWaiting(backend)),
          'COMMIT to wait at the gate',
        );
        await admin.query('SELECT pg_terminate_backend($1)', [backend]);
        error = await call;
      } finally {
        await gate.open();
      }
      expect(error).toBeInstanceOf(PgCommitUnknownError);
      expect((error as PgCommitUnknownError).cause).toMatchObject({ code: '57P01' });
      expect(retryOf(db).snapshot().retries).toBe(0);
      // Terminated inside its commit-time trigger, before the commit record: rolled back.
      expect(await gatedRows('by-terminate')).toBe(0);
    });

    it('retries a statement whose backend was terminated by an administrator (57P01)', async () => {
      await admin.query(`SELECT setval('sleepy_seq', 1, false)`);
      const db = resilientPool(pool, { retry: { backoff: 0 } });
      // The first attempt sleeps (and is terminated), the next returns at once.
      const sql = `SELECT pg_sleep(CASE WHEN nextval('sleepy_seq') = 1 THEN 30 ELSE 0 END) AS slept`;
      const call = db.query(sql);
      await waitFor(async () => (await running(sql)) === 1, 'the first attempt to run on the server');
      await admin.query(
        `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE query = $1 AND pid <> pg_backend_pid()`,
        [sql],
      );
      await call;
      expect(retryOf(db).snapshot().retries).toBe(1);
    });

    it('retries connection failures before the query is sent, and the breaker opens on them', async () => {
      const dead = new pg.Pool({
        host: '127.0.0.1',
        port: 1,
        user: 'postgres',
        connectionTimeoutMillis: 1_000,
      });
      const breaker = circuitBreaker({ window: { kind: 'consecutive', failures: 3 }, handle: isPgOutage });
      const db = resilientPool(dead, { retry: { backoff: 0, maxRetries: 2 }, circuitBreaker: breaker });
      const error = await db.query('SELECT 1').catch((e: unknown) => e);
      expect(pgErrorCategory(error)).toBe('connection');
      expect(retryOf(db).snapshot().retries).toBe(2);
      expect(breaker.state).toBe('open');
      await expect(db.query('SELECT 1')).rejects.toBeInstanceOf(BrokenCircuitError);
      await dead.end();
    });

    it('accepts a retry policy of your own', async () => {
      await admin.query(`SELECT setval('flaky_seq', 1, false)`);
      const mine = retry({ maxRetries: 5, backoff: 0, handle: isRetryablePgError, name: 'mine' });
      const db = resilientPool(pool, { retry: mine });
      expect((await db.query<{ n: number }>('SELECT flaky(1) AS n')).rows[0]!.n).toBe(2);
      expect(mine.snapshot().retries).toBe(1);
    });
  },
);
