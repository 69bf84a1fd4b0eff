import type { PoolClient } from 'pg';
import { pgErrorCategory } from './classify.js';
import { PgCommitUnknownError, PgRolledBackError } from './errors.js';

/**
 * Whether a failed COMMIT surely rolled the transaction back: the server answered with an ERROR. A
 * FATAL or PANIC, or a connection that broke or never answered, tells nothing about the outcome.
 * (`severity` is localised, hence also the category check: session-ending errors break the connection.)
 */
function rolledBack(error: unknown): boolean {
  const { code, severity } = (typeof error === 'object' && error !== null ? error : {}) as {
    code?: unknown;
    severity?: unknown;
  };
  if (typeof code !== 'string' || !/^[0-9A-Z]{5}$/.test(code)) return false;
  if (severity === 'FATAL' || severity === 'PANIC') return false;
  const category = pgErrorCategory(error);
  return category !== 'connection' && category !== 'unavailable';
}

/**
 * Sends COMMIT and says what became of the transaction: resolves once it is committed; rejects with
 * the server's error when that rolled it back (a serialization failure, a deferred constraint),
 * `PgRolledBackError` when the server answered ROLLBACK (the transaction had already failed), and
 * `PgCommitUnknownError` when no answer can tell.
 */
export async function commit(client: PoolClient): Promise<void> {
  let command: string | undefined;
  try {
    ({ command } = await client.query('COMMIT'));
  } catch (error) {
    throw rolledBack(error) ? error : new PgCommitUnknownError(error);
  }
  if (command === 'ROLLBACK') throw new PgRolledBackError();
}
