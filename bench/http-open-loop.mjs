// An open-loop load generator: requests leave at a fixed rate whatever the answers do, as traffic from
// many independent users does. autocannon is closed-loop (a connection sends its next request when the
// previous one is answered), so a service that sheds in 0.1 ms receives far more requests than one that
// hangs, and rates per request stop being comparable between variants; its rate options pace each
// connection per whole second, in bursts. Here each request's latency is measured from the time it was
// due to leave, not from when it left, so a generator that falls behind does not hide latency
// (coordinated omission).
import { createHistogram, performance } from 'node:perf_hooks';
import { Pool } from 'undici';

/**
 * @param {{ url: string, ratePerSecond: number, durationMs: number, timeoutMs?: number, connections?: number,
 *   onResult?: (dueAtMs: number, latencyMs: number, status: number) => void }} options
 *   `onResult` hears of every request: when it was due (performance.now() clock), its latency, and its
 *   status (0: no answer).
 * @returns {Promise<{ sent: number, statusCounts: Record<string, number>, errors: number, timeouts: number,
 *   latencyP50Ms: number, latencyP99Ms: number, latencyMaxMs: number, durationS: number }>}
 */
export async function openLoop({
  url,
  ratePerSecond,
  durationMs,
  timeoutMs = 10_000,
  connections = 4_096,
  onResult,
}) {
  const target = new URL(url);
  // Enough connections that requests never wait for a socket on our side: a hanging service must see
  // every request that is due (400 are outstanding after 2 s at 200 req/s).
  const pool = new Pool(target.origin, {
    connections,
    headersTimeout: timeoutMs,
    bodyTimeout: timeoutMs,
    keepAliveTimeout: 30_000,
  });
  const latency = createHistogram();
  const statusCounts = {};
  let errors = 0;
  let timeouts = 0;
  let inflight = 0;
  let sent = 0;
  const total = Math.max(1, Math.floor((durationMs * ratePerSecond) / 1_000));
  const intervalMs = 1_000 / ratePerSecond;
  let drained;
  const allDone = new Promise((resolve) => {
    drained = resolve;
  });

  const one = async (dueAt) => {
    inflight++;
    try {
      const { statusCode, body } = await pool.request({ path: target.pathname, method: 'GET' });
      await body.dump();
      statusCounts[statusCode] = (statusCounts[statusCode] ?? 0) + 1;
      const ms = performance.now() - dueAt;
      latency.record(Math.max(1, Math.round(ms * 1_000)));
      onResult?.(dueAt, ms, statusCode);
    } catch (error) {
      errors++;
      onResult?.(dueAt, performance.now() - dueAt, 0);
      if (error?.code === 'UND_ERR_HEADERS_TIMEOUT' || error?.code === 'UND_ERR_BODY_TIMEOUT') timeouts++;
    } finally {
      inflight--;
      if (sent === total && inflight === 0) drained();
    }
  };

  const start = performance.now();
  await new Promise((resolve) => {
    const tick = () => {
      const due = Math.min(total, Math.floor((performance.now() - start) / intervalMs) + 1);
      while (sent < due) {
        const dueAt = start + sent * intervalMs;
        sent++;
        one(dueAt);
      }
      if (sent === total) {
        clearInterval(timer);
        resolve();
      }
    };
    const timer = setInterval(tick, 1);
    tick();
  });
  if (inflight > 0) await allDone;
  const durationS = (performance.now() - start) / 1_000;
  await pool.destroy();
  const us = (v) => (latency.count === 0 ? 0 : v / 1_000);
  return {
    sent,
    statusCounts,
    errors,
    timeouts,
    latencyP50Ms: us(latency.percentile(50)),
    latencyP99Ms: us(latency.percentile(99)),
    latencyMaxMs: us(latency.max),
    durationS,
  };
}
