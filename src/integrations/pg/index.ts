import type { Pool, PoolClient, QueryConfig, QueryResult, QueryResultRow } from 'pg';
import { type CircuitBreakerOptions, circuitBreaker } from '../../circuit-breaker/index.js';
import type { Context, Policy, Scope } from '../../extend.js';
import { invalid } from '../../extend.js';
import { type Pipeline, pipeline } from '../../pipeline.js';
import { exponential, type RetryOptions, type RetryPolicy, retry } from '../../retry/index.js';
import { buildBulkhead, buildTimeout, isPolicy } from '../policy-options.js';
import { sendCancelRequest } from './cancel.js';
import { isPgOutage, isRetryablePgError, markRetryable, pgErrorCategory } from './classify.js';
import { commit } from './commit.js';
import { PgCommitUnknownError } from './errors.js';
import { type ResilientPoolOptions, type ResolvedPoolOptions, resolvePoolOptions } from './options.js';

export { sendCancelRequest } from './cancel.js';
export { isPgOutage, isRetryablePgError, type PgErrorCategory, pgErrorCategory } from './classify.js';
export {
  BW_ERR_PG_COMMIT_UNKNOWN,
  BW_ERR_PG_ROLLED_BACK,
  PgCommitUnknownError,
  PgRolledBackError,
} from './errors.js';
export type { ResilientPoolOptions } from './options.js';

/** The pool to protect: a `pg.Pool` (only `connect()` is used). */
export type PoolLike = Pick<Pool, 'connect'>;

export interface PgCallOptions {
  /** Aborts the call: a waiting connect is given up, a running statement is cancelled on the server. */
  signal?: AbortSignal | undefined;
  /** Key passed to the policies (`context.key`). */
  key?: string | undefined;
  /** This statement may be retried after a connection was lost mid-query. Default: the pool option. */
  idempotent?: boolean | undefined;
}

export type IsolationLevel = 'read committed' | 'repeatable read' | 'serializable';

export interface TransactionOptions extends PgCallOptions {
  /** Default: the server's (`read committed` unless configured). */
  isolation?: IsolationLevel | undefined;
  readOnly?: boolean | undefined;
}

export interface ResilientPool {
  /**
   * `pool.query(text, values)` under the policies: retried on conflicts and transient failures, the
   * statement cancelled on the server when the signal or a timeout aborts it.
   */
  query<R extends QueryResultRow = QueryResultRow>(
    text: string | QueryConfig,
    values?: readonly unknown[],
    options?: PgCallOptions,
  ): Promise<QueryResult<R>>;
  /**
   * Runs `fn` in a transaction (BEGIN ... COMMIT, ROLLBACK on failure) on one connection; a
   * serialization failure or deadlock reruns the whole function. `fn` must be safe to run again and
   * should use only `client` for the transaction's statements. Rejects with `PgRolledBackError` when
   * the server answers COMMIT with ROLLBACK (`fn` caught a statement's error), and with
   * `PgCommitUnknownError` when the call is aborted or the connection lost while COMMIT runs.
   */
  transaction<T>(
    fn: (client: PoolClient, context: Context) => Promise<T>,
    options?: TransactionOptions,
  ): Promise<T>;
  /** Outermost first: policy, retry, circuit breaker, bulkhead, timeout. */
  readonly pipeline: Pipeline;
}

/** A failure that leaves the connection unusable: destroy it rather than return it to the pool. */
function breaksConnection(error: unknown): boolean {
  const category = pgErrorCategory(error);
  return category === 'connection' || category === 'unavailable';
}

/** Gets a connection; a caller that aborts stops waiting (the connection, once made, goes back). */
function acquire(pool: PoolLike, signal: AbortSignal | undefined): Promise<PoolClient> {
  if (signal === undefined) return pool.connect().catch(connectFailed);
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    pool.connect().then(
      (client) => {
        signal.removeEventListener('abort', onAbort);
        if (signal.aborted) client.release();
        else resolve(client);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        markRetryable(error);
        reject(error);
      },
    );
  });
}

/** Nothing was sent yet: a connection failure here is always safe to retry. */
function connectFailed(error: unknown): never {
  markRetryable(error);
  throw error;
}

/** What `settleOn` shares with the work: whether the call was aborted, whether COMMIT was sent. */
interface CallState {
  aborted: boolean;
  committing: boolean;
}

/**
 * Settles with `work` or, first, with the signal's reason (wrapped in `PgCommitUnknownError` once
 * COMMIT was sent: it may still commit, or the cancel may roll it back); when the signal wins, the
 * server is asked to cancel. The connection is released once the work really ends, and destroyed if a
 * cancel was sent (a late cancel must not hit the next user's statement) or the failure broke it.
 */
function settleOn<T>(
  client: PoolClient,
  work: Promise<T>,
  signal: AbortSignal | undefined,
  cancel: boolean,
  state: CallState,
): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    let cancelled = false;
    const onAbort = () => {
      state.aborted = true;
      if (cancel) cancelled = sendCancelRequest(client);
      reject(state.committing ? new PgCommitUnknownError(signal!.reason) : signal!.reason);
    };
    if (signal !== undefined) signal.addEventListener('abort', onAbort, { once: true });
    work.then(
      (value) => {
        signal?.removeEventListener('abort', onAbort);
        client.release(cancelled);
        resolve(value);
      },
      (error: unknown) => {
        signal?.removeEventListener('abort', onAbort);
        client.release(cancelled || breaksConnection(error));
        reject(error);
      },
    );
  });
}

function signalOf(ctx: Context): AbortSignal | undefined {
  // A signal nothing can abort would cost an AbortController per call for nothing.
  return (ctx as Scope).abortable ? ctx.signal : undefined;
}

function beginStatement(options: TransactionOptions | undefined): string {
  let sql = 'BEGIN';
  if (options?.isolation !== undefined) {
    const level = options.isolation.toUpperCase();
    if (level !== 'READ COMMITTED' && level !== 'REPEATABLE READ' && level !== 'SERIALIZABLE') {
      invalid(
        'transaction.isolation',
        '"read committed", "repeatable read" or "serializable"',
        options.isolation,
        'range',
      );
    }
    sql += ` ISOLATION LEVEL ${level}`;
  }
  if (options?.readOnly === true) sql += ' READ ONLY';
  return sql;
}

function buildRetry(o: ResolvedPoolOptions): RetryPolicy | null {
  if (o.retry === false) return null;
  if (isPolicy(o.retry)) return o.retry as RetryPolicy;
  const given = o.retry as RetryOptions;
  const options: RetryOptions = {
    name: `${o.name}:retry`,
    clock: o.clock,
    handle: isRetryablePgError,
    backoff: exponential({ initialMs: 20 }),
    ...given,
  };
  if (given.maxAttempts === undefined && given.maxRetries === undefined) options.maxRetries = 3;
  return retry(options);
}

function buildPipeline(o: ResolvedPoolOptions): Pipeline {
  const list: Policy[] = [];
  if (o.policy !== undefined) list.push(o.policy);
  const r = buildRetry(o);
  if (r !== null) list.push(r);
  if (o.circuitBreaker !== false) {
    list.push(
      isPolicy(o.circuitBreaker)
        ? o.circuitBreaker
        : circuitBreaker({
            name: `${o.name}:circuit-breaker`,
            clock: o.clock,
            handle: isPgOutage,
            ...(o.circuitBreaker as CircuitBreakerOptions),
          }),
    );
  }
  const b = buildBulkhead('resilientPool.bulkhead', o.name, o.clock, o.bulkhead);
  if (b !== null) list.push(b);
  // Cooperative: the wrapper settles as soon as the signal aborts, and cancels the statement.
  const t = buildTimeout('resilientPool.timeout', o.name, o.clock, o.timeout);
  if (t !== null) list.push(t);
  return pipeline(...list);
}

/**
 * Protects a `pg` Pool: see docs/pg.md. Only types are imported from pg; pass your own Pool.
 */
export function resilientPool(pool: PoolLike, options?: ResilientPoolOptions): ResilientPool {
  if (typeof (pool as Partial<PoolLike> | null)?.connect !== 'function') {
    invalid('resilientPool.pool', 'a pg Pool (an object with connect())', pool);
  }
  const o = resolvePoolOptions(options);
  const policy = buildPipeline(o);

  const query = <R extends QueryResultRow>(
    text: string | QueryConfig,
    values?: readonly unknown[],
    call?: PgCallOptions,
  ): Promise<QueryResult<R>> => {
    const idempotent = call?.idempotent ?? o.idempotent;
    const attempt = async (ctx: Context): Promise<QueryResult<R>> => {
      const signal = signalOf(ctx);
      const client = await acquire(pool, signal);
      const work = values === undefined ? client.query<R>(text) : client.query<R>(text, values as unknown[]);
      try {
        return await settleOn(client, work, signal, o.cancel, { aborted: false, committing: false });
      } catch (error) {
        // Sent, then the connection failed: the statement may have run. Retry only if that is harmless.
        if (idempotent) markRetryable(error);
        throw error;
      }
    };
    return policy.execute(attempt, { signal: call?.signal, key: call?.key });
  };

  const transaction = <T>(
    fn: (client: PoolClient, context: Context) => Promise<T>,
    call?: TransactionOptions,
  ): Promise<T> => {
    const begin = beginStatement(call);
    const idempotent = call?.idempotent ?? o.idempotent;
    const attempt = async (ctx: Context): Promise<T> => {
      const signal = signalOf(ctx);
      const client = await acquire(pool, signal);
      const state: CallState = { aborted: false, committing: false };
      const work = (async () => {
        await client.query(begin);
        let value: T;
        try {
          value = await fn(client, ctx);
          // Never commit work whose caller has been told it failed.
          if (state.aborted) throw signal?.reason;
        } catch (error) {
          if (!breaksConnection(error)) await client.query('ROLLBACK').catch(() => undefined);
          throw error;
        }
        state.committing = true;
        await commit(client);
        return value;
      })();
      try {
        return await settleOn(client, work, signal, o.cancel, state);
      } catch (error) {
        // A connection lost before COMMIT was sent rolled the transaction back: safe to run again.
        if (!state.committing || idempotent) markRetryable(error);
        throw error;
      }
    };
    return policy.execute(attempt, { signal: call?.signal, key: call?.key });
  };

  return Object.freeze({ query, transaction, pipeline: policy }) as ResilientPool;
}
