// A flaky downstream on 127.0.0.1 and a client that calls it 40 times, bare and through
// retry + timeout. Run with `npm start`; it ends by itself in a few seconds.
import { once } from 'node:events';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exponential, pipeline, retry, TimeoutError, timeout } from '../src/index.js';

// Deterministic flakiness: every 3rd request fails with 503, every 5th hangs for 1 s.
let served = 0;
const server = createServer((_req, res) => {
  const n = ++served;
  if (n % 5 === 0) {
    const t = setTimeout(() => res.end('late'), 1_000);
    res.on('close', () => clearTimeout(t));
    return;
  }
  if (n % 3 === 0) {
    res.writeHead(503).end('busy');
    return;
  }
  res.end('ok');
});
server.listen(0, '127.0.0.1');
await once(server, 'listening');
const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;

class HttpError extends Error {
  constructor(readonly status: number) {
    super(`HTTP ${status}`);
  }
}

async function get(signal?: AbortSignal): Promise<string> {
  const res = await fetch(url, { signal: signal ?? null });
  if (!res.ok) {
    await res.body?.cancel();
    throw new HttpError(res.status);
  }
  return res.text();
}

const protectedCall = pipeline(
  retry({ maxRetries: 3, backoff: exponential({ initialMs: 20 }) }),
  timeout({ durationMs: 200 }),
);
let retries = 0;
(protectedCall.policies[0] as ReturnType<typeof retry>).onRetry(() => retries++);

async function run(label: string, call: () => Promise<string>) {
  const started = performance.now();
  const tally = { ok: 0, failed: 0, slowest: 0 };
  for (let i = 0; i < 20; i++) {
    const t0 = performance.now();
    try {
      await call();
      tally.ok++;
    } catch (error) {
      tally.failed++;
      if (!(error instanceof HttpError || error instanceof TimeoutError)) throw error;
    }
    tally.slowest = Math.max(tally.slowest, performance.now() - t0);
  }
  const total = performance.now() - started;
  console.log(
    `${label.padEnd(24)} ok ${String(tally.ok).padStart(2)}/20  failed ${String(tally.failed).padStart(2)}  ` +
      `slowest ${tally.slowest.toFixed(0).padStart(5)} ms  total ${total.toFixed(0).padStart(5)} ms`,
  );
}

console.log(`flaky server on ${url} (every 3rd request: 503, every 5th: hangs 1 s)\n`);
await run('bare fetch', () => get());
await run('retry + timeout(200 ms)', () => protectedCall.execute(({ signal }) => get(signal)));
console.log(
  `\n${retries} retries made by the protected client; no attempt waited on a hung request for more than 200 ms.`,
);
server.closeAllConnections();
server.close();
