import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { type IncomingHttpHeaders, request } from 'node:http';
import { afterEach, beforeEach, vi } from 'vitest';
import {
  CALLBACK_ERROR_CHANNEL,
  type CallbackErrorEvent,
  resetCallbackWarnings,
} from '../../../src/core/report.js';

// Shared by the Express and Fastify tests: a client with an address of its choosing, and the reports
// of user callback errors.

export interface Answered {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
}

/**
 * A GET from a chosen loopback address (any 127.x.y.z is this host on Linux), so that one test can
 * play several clients; a fresh connection each time.
 */
export function getFrom(
  localAddress: string,
  url: string,
  headers: Record<string, string> = {},
): Promise<Answered> {
  return new Promise((resolve, reject) => {
    const req = request(url, { localAddress, headers, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        body += chunk;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

/**
 * Collects what breakwater reports on `breakwater:callback-error` during each test (and silences the
 * process warning that goes with it).
 */
export function captureReports(): { readonly events: CallbackErrorEvent[]; names(): string[][] } {
  const events: CallbackErrorEvent[] = [];
  const onReport = (event: unknown) => events.push(event as CallbackErrorEvent);
  beforeEach(() => {
    events.length = 0;
    vi.spyOn(process, 'emitWarning').mockImplementation(() => {});
    subscribe(CALLBACK_ERROR_CHANNEL, onReport);
  });
  afterEach(() => {
    unsubscribe(CALLBACK_ERROR_CHANNEL, onReport);
    vi.restoreAllMocks();
    resetCallbackWarnings();
  });
  return { events, names: () => events.map((e) => [e.callback, e.policy]) };
}
