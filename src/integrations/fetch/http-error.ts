import { defineError, errorRow } from '../../extend.js';
import { BreakwaterError } from '../../index.js';

export const BW_ERR_HTTP_STATUS = 'BW_ERR_HTTP_STATUS';

/** What the fetch integration needs from a response: the global Response, undici's, or node-fetch's. */
export interface ResponseLike {
  readonly status: number;
  readonly statusText?: string;
  readonly url?: string;
  readonly headers: { get(name: string): string | null };
  readonly body: { cancel(reason?: unknown): Promise<void> } | null;
}

/**
 * A response whose status counts as a failure (5xx and 429 by default). Inside a pipeline it carries
 * the response so retries can honour `Retry-After` and release its body; inbound middleware uses it
 * (without a response) to tell circuit breakers that a route answered 5xx.
 */
export class HttpStatusError extends BreakwaterError {
  readonly status: number;
  /** How long the server asked us to wait (its `Retry-After` header), ms; undefined when it did not say. */
  readonly retryAfterMs: number | undefined;
  /** The failed response. Its body is cancelled when the call is retried, intact otherwise. */
  declare readonly response: Response | undefined;
  #discarded: Promise<void> | undefined;

  constructor(status: number, retryAfterMs?: number, response?: ResponseLike, message?: string) {
    super(
      message ?? `HTTP ${status}${response?.statusText ? ` ${response.statusText}` : ''}`,
      BW_ERR_HTTP_STATUS,
    );
    this.status = status;
    this.retryAfterMs = retryAfterMs;
    // Not enumerable: logging the error must not dump a whole Response.
    Object.defineProperty(this, 'response', { value: response, enumerable: false });
  }

  /** Cancels the response body (once), so the connection is freed before the next attempt. */
  discard(): Promise<void> {
    if (this.#discarded === undefined) {
      const body = (this.response as ResponseLike | undefined)?.body;
      // A body already read or locked cannot be cancelled; nothing is left to release then.
      this.#discarded = body == null ? Promise.resolve() : body.cancel().catch(() => undefined);
    }
    return this.#discarded;
  }
}
defineError(HttpStatusError, errorRow(BW_ERR_HTTP_STATUS, 'HttpStatusError'));
