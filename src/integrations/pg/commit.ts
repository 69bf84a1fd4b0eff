import type { PoolClient } from 'pg';
import { TimeoutError } from '../../core/errors.js';
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

/**
 * The `PgCommitUnknownError` behind `error`, if any: a timeout policy reports the failure of work it
 * timed out as a TimeoutError caused by it, which would hide that the COMMIT may have gone through.
 */
export function commitUnknownIn(error: unknown): PgCommitUnknownError | undefined {
  let current = error;
  // Bounded: one level per timeout policy around the call.
  for (let depth = 0; depth < 8 && current instanceof TimeoutError; depth++) current = current.cause;
  return current instanceof PgCommitUnknownError ? current : undefined;
}
