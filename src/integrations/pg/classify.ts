import { RejectedError, TimeoutError } from '../../index.js';
import { PgCommitUnknownError, PgRolledBackError } from './errors.js';

/**
 * What a failed database call says:
 * - `conflict`: the transaction lost to a concurrent one and was rolled back (40001 serialization
 *   failure, 40P01 deadlock, 55P03 lock not available): safe and useful to retry, the server is fine.
 * - `unavailable`: the server is shutting down, restarting, or out of resources (57P01-57P03,
 *   class 53, class 58): retry later; counts against the server's health.
 * - `connection`: the connection could not be made or was lost (class 08, socket errors, pool
 *   connect timeouts). Safe to retry when the query was never sent; otherwise only if idempotent.
 * - `timeout`: a statement timeout (57014) or one of our timeouts.
 * - `query`: the server judged the query (syntax 42xxx, constraints 23xxx, data 22xxx, ...): retrying
 *   gives the same answer, and the server is healthy.
 * - `other`: anything else (a bug, a rejection of ours).
 * A `PgCommitUnknownError` takes the category of what interrupted the COMMIT; a `PgRolledBackError` is
 * a `query` answer.
 */
export type PgErrorCategory = 'conflict' | 'unavailable' | 'connection' | 'timeout' | 'query' | 'other';

const CONFLICT = new Set(['40001', '40P01', '55P03']);
const UNAVAILABLE = new Set(['57P01', '57P02', '57P03']);
/** Unavailable codes worth retrying soon: the server restarts or has too many connections now. */
const TRANSIENT_UNAVAILABLE = new Set(['57P01', '57P02', '57P03', '53300']);
const SOCKET_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENETDOWN',
  'EAI_AGAIN',
]);
// pg reports these as plain Errors, without a code.
const CONNECTION_MESSAGES = [
  'Connection terminated',
  'timeout exceeded when trying to connect',
  'Client has encountered a connection error and is not queryable',
  'Client was closed and is not queryable',
  'Query read timeout',
];

function codeOf(error: unknown): string | undefined {
  const code = typeof error === 'object' && error !== null ? (error as { code?: unknown }).code : undefined;
  return typeof code === 'string' ? code : undefined;
}

/** Whether `code` is a SQLSTATE (five characters, digits and capitals). */
function isSqlState(code: string): boolean {
  return code.length === 5 && /^[0-9A-Z]{5}$/.test(code);
}

export function pgErrorCategory(error: unknown): PgErrorCategory {
  if (error instanceof PgCommitUnknownError) return pgErrorCategory(error.cause);
  if (error instanceof PgRolledBackError) return 'query';
  if (error instanceof TimeoutError) return 'timeout';
  if (error instanceof RejectedError) return 'other';
  const code = codeOf(error);
  if (code !== undefined && isSqlState(code)) {
    if (CONFLICT.has(code)) return 'conflict';
    if (code === '57014') return 'timeout';
    if (UNAVAILABLE.has(code) || code.startsWith('53') || code.startsWith('58')) return 'unavailable';
    if (code.startsWith('08')) return 'connection';
    return 'query';
  }
  if (code !== undefined && SOCKET_CODES.has(code)) return 'connection';
  const message = error instanceof Error ? error.message : '';
  if (CONNECTION_MESSAGES.some((m) => message.startsWith(m))) return 'connection';
  return 'other';
}

// Errors the wrapper saw happen before the query reached the server (or on an idempotent call):
// a connection failure is then safe to retry. Kept beside the error, not on it: user errors stay untouched.
const safeToRetry = new WeakSet<object>();

export function markRetryable(error: unknown): void {
  if (typeof error === 'object' && error !== null) safeToRetry.add(error);
}

/**
 * The default `handle` of the pg retry: conflicts, transient unavailability (57P01-57P03, 53300), and
 * connection failures that the wrapper saw happen before the query was sent (or on an idempotent
 * call). Syntax, constraint and data errors are never retried, nor is a COMMIT of unknown outcome
 * (unless the call was idempotent and its connection was lost).
 */
export function isRetryablePgError(error: unknown): boolean {
  // The transaction may have committed: running it again could apply it twice.
  if (error instanceof PgCommitUnknownError) return safeToRetry.has(error);
  const category = pgErrorCategory(error);
  if (category === 'conflict') return true;
  if (category === 'unavailable') return TRANSIENT_UNAVAILABLE.has(codeOf(error) ?? '');
  if (category === 'connection') {
    // A SQLSTATE of class 08 comes from the server refusing or losing the session, before any work.
    const code = codeOf(error);
    return (code !== undefined && isSqlState(code)) || safeToRetry.has(error as object);
  }
  return false;
}

/**
 * The default `handle` of the pg circuit breaker: failures that say the server is unhealthy
 * (connection, unavailable, timeout). Conflicts and query errors are answers of a healthy server.
 */
export function isPgOutage(error: unknown): boolean {
  const category = pgErrorCategory(error);
  return category === 'connection' || category === 'unavailable' || category === 'timeout';
}
