import { defineError, errorRow } from '../../extend.js';
import { BreakwaterError } from '../../index.js';

export const BW_ERR_PG_ROLLED_BACK = 'BW_ERR_PG_ROLLED_BACK';
export const BW_ERR_PG_COMMIT_UNKNOWN = 'BW_ERR_PG_COMMIT_UNKNOWN';

/**
 * PostgreSQL answered COMMIT with ROLLBACK: a statement of the transaction failed and `fn` caught its
 * error, which left the transaction aborted. Nothing was committed; the server and the connection are
 * fine. Not retried: the statement would most likely fail again.
 */
export class PgRolledBackError extends BreakwaterError {
  constructor() {
    super(
      'breakwater: PostgreSQL rolled the transaction back at COMMIT (a statement failed and its error was caught)',
      BW_ERR_PG_ROLLED_BACK,
    );
  }
}
defineError(PgRolledBackError, errorRow(BW_ERR_PG_ROLLED_BACK, 'PgRolledBackError'));

/**
 * COMMIT was sent but its answer never arrived: the call was aborted (caller's signal or timeout, the
 * `cause`) or the connection was lost. The transaction may have been committed or rolled back; only a
 * query can tell. Never retried by default: a retry could apply the transaction twice.
 */
export class PgCommitUnknownError extends BreakwaterError {
  /** See `isUnknownOutcome()`: a plain `retry()` or `hedge()` does not repeat it. */
  readonly unknownOutcome = true;

  constructor(cause: unknown) {
    super(
      `breakwater: COMMIT was interrupted (${describe(cause)}): the transaction may or may not have been committed`,
      BW_ERR_PG_COMMIT_UNKNOWN,
      { cause },
    );
  }
}
defineError(PgCommitUnknownError, errorRow(BW_ERR_PG_COMMIT_UNKNOWN, 'PgCommitUnknownError'));

function describe(cause: unknown): string {
  return cause instanceof Error ? cause.message : String(cause);
}
