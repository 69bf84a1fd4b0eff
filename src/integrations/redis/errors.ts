import { defineError, errorRow } from '../../extend.js';
import { BreakwaterError } from '../../index.js';

export const BW_ERR_REDIS_UNAVAILABLE = 'BW_ERR_REDIS_UNAVAILABLE';

/**
 * The client was not connected (reconnecting, closed or ended), so the command was not sent: sending
 * it would only park it in the client's offline queue. Counts as a failure of the Redis breaker.
 */
export class RedisUnavailableError extends BreakwaterError {
  /** The client's `status` when the command was refused. */
  readonly status: string;

  constructor(status: string) {
    super(`breakwater: Redis client is ${status}, command not sent`, BW_ERR_REDIS_UNAVAILABLE);
    this.status = status;
  }
}
defineError(RedisUnavailableError, errorRow(BW_ERR_REDIS_UNAVAILABLE, 'RedisUnavailableError'));
