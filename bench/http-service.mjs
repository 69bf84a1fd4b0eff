// Child process of bench/http.mjs: the service under test. Every inbound request makes one outbound
// `fetch` to the downstream and answers with what it got:
//
//   200  the downstream answered 2xx
//   502  the downstream answered 5xx or the fetch failed (an error)
//   504  our timeout gave up (an error)
//   503  + Retry-After: our own policies refused the call (open circuit, full bulkhead): shed, not an error
//
//   node bench/http-service.mjs <unprotected|protected> <downstream url>
//
// Variants:
// - unprotected: plain fetch, no timeout (what a service does before it adds any protection).
// - protected: PROTECTED_CONFIG of http-scenario.mjs, read inner to outer:
//   * timeout 200 ms per attempt, cooperative: fetch honours its signal, so the socket is really freed.
//     The healthy downstream answers in 5 ms; 200 ms is 40x that and well under the 2 s hang.
//   * bulkhead 32 in flight + 32 queued for at most 100 ms: the downstream gets at most 32 calls at
//     once. autocannon's 50 connections fit in slots + queue, so a healthy downstream sheds nothing;
//     the open-loop generator (200/s) piles up requests when the downstream hangs, and those shed.
//   * circuit breaker on the last 50 calls, >= 50 % failures after at least 20 calls, open 1 s, then 5
//     probes of which 3 must succeed: short enough to notice the recovery within a 3 s phase.
//   * retry: up to 2 retries of downstream 5xx and timeouts, exponential backoff from 20 ms (full
//     jitter), capped at 200 ms (an open circuit's Retry-After of ~1 s ends the retries), limited by a
//     retry budget of 10 % of first attempts + 5/s over 10 s so an outage is not multiplied by 3.
//   Calls go through executeOutcome(): a rejection builds no exception on the shedding path.
//
// IPC: sends { type: 'ready', port }; { type: 'start', at, phases } resets the counters and tags each
// request with the phase at its arrival; { type: 'report' } answers { type: 'report', perPhase, policies,
// transitions } (the protected pipeline's snapshots at the end, the circuit's state changes).
import { createServer } from 'node:http';
import { createHistogram, performance } from 'node:perf_hooks';
import { PROTECTED_CONFIG, phaseIndexAt } from './http-scenario.mjs';

const [variant, downstream] = process.argv.slice(2);
if (variant !== 'unprotected' && variant !== 'protected') throw new Error(`unknown variant ${variant}`);
if (downstream === undefined) throw new Error('usage: http-service.mjs <variant> <downstream url>');

/** A downstream 5xx: what retry and the breaker count as a failure. */
class DownstreamError extends Error {
  constructor(status) {
    super(`downstream answered ${status}`);
    this.name = 'DownstreamError';
    this.status = status;
  }
}

// --- per-phase accounting, by arrival time -------------------------------------------------------
let phases = [{ name: 'warm-up', durationMs: Number.POSITIVE_INFINITY }];
let startAt = Date.now();
let transitions = [];
let cpuAtStart = process.cpuUsage();
const newStats = () => ({ requests: 0, ok: 0, errors: 0, shed: 0, aborted: 0, latency: createHistogram() });
let stats = phases.map(newStats);

function track(res, i) {
  const s = stats[i];
  const began = performance.now();
  s.requests++;
  res.once('close', () => {
    if (stats[i] !== s) return; // a request of the warm-up finishing after the reset
    if (!res.writableFinished) {
      s.aborted++; // the client left first (end of the load run)
      return;
    }
    if (res.statusCode < 300) s.ok++;
    else if (res.statusCode === 503) s.shed++;
    else s.errors++;
    s.latency.record(Math.max(1, Math.round((performance.now() - began) * 1000)));
  });
}

function reply(res, status, body, headers) {
  if (res.destroyed) return;
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(body);
}

// --- the two variants ----------------------------------------------------------------------------
async function unprotected(res) {
  try {
    const r = await fetch(downstream);
    const body = await r.text();
    reply(res, r.ok ? 200 : 502, body);
  } catch {
    reply(res, 502, '{"error":"fetch failed"}');
  }
}

async function makeProtected() {
  const bw = await import('../dist/esm/index.js');
  const c = PROTECTED_CONFIG;
  const budget = bw.retryBudget(c.retry.budget);
  const breaker = bw.circuitBreaker(c.circuitBreaker);
  // When the circuit opened and closed, in ms since the schedule started: explains the per-phase rows.
  breaker.onStateChange((e) =>
    transitions.push({ atMs: Date.now() - startAt, from: e.from, to: e.to, reason: e.reason }),
  );
  const policy = bw.pipeline(
    bw.retry({
      maxRetries: c.retry.maxRetries,
      backoff: bw.exponential({ initialMs: c.retry.initialMs }),
      maxDelayMs: c.retry.maxDelayMs,
      budget,
      handle: [DownstreamError, bw.TimeoutError],
    }),
    breaker,
    bw.bulkhead(c.bulkhead),
    bw.timeout(c.timeout),
  );
  const call = async ({ signal }) => {
    const r = await fetch(downstream, { signal });
    const body = await r.text();
    if (r.status >= 500) throw new DownstreamError(r.status);
    return body;
  };
  const handler = async (res) => {
    const outcome = await policy.executeOutcome(call);
    if (outcome.ok) return reply(res, 200, outcome.value);
    const error = outcome.error;
    if (error instanceof bw.RejectedError) {
      const seconds = Math.max(1, Math.ceil((error.retryAfterMs ?? 1_000) / 1_000));
      return reply(res, 503, '{"error":"overloaded"}', { 'retry-after': String(seconds) });
    }
    if (error instanceof bw.TimeoutError) return reply(res, 504, '{"error":"timeout"}');
    return reply(res, 502, '{"error":"downstream failed"}');
  };
  handler.snapshots = () => [...policy.policies.map((p) => p.snapshot()), budget.snapshot()];
  handler.transitions = () => transitions;
  return handler;
}

const handle = variant === 'protected' ? await makeProtected() : unprotected;

const server = createServer((req, res) => {
  track(res, phaseIndexAt(phases, Date.now() - startAt));
  // Drain (GET: nothing) so keep-alive works, then answer.
  req.resume();
  handle(res).catch(() => reply(res, 500, '{"error":"internal"}'));
});
server.keepAliveTimeout = 30_000;

const summary = (h) => ({
  latencyP50Ms: h.count === 0 ? 0 : h.percentile(50) / 1000,
  latencyP99Ms: h.count === 0 ? 0 : h.percentile(99) / 1000,
  latencyMaxMs: h.count === 0 ? 0 : h.max / 1000,
});

process.on('message', (msg) => {
  if (msg.type === 'start') {
    phases = msg.phases;
    startAt = msg.at;
    stats = phases.map(newStats);
    transitions = [];
    cpuAtStart = process.cpuUsage();
    process.send({ type: 'started' });
  } else if (msg.type === 'report') {
    const perPhase = phases.map((p, i) => {
      const { latency, ...counts } = stats[i];
      return { phase: p.name, ...counts, ...summary(latency) };
    });
    process.send({
      type: 'report',
      perPhase,
      policies: handle.snapshots?.(),
      transitions: handle.transitions?.(),
      // CPU of the whole service process since 'start': what each inbound request costs it.
      cpuMs: cpuMs(process.cpuUsage(cpuAtStart)),
    });
  }
});
process.on('disconnect', () => process.exit(0));

const cpuMs = ({ user, system }) => (user + system) / 1_000;

server.listen(0, '127.0.0.1', () => {
  const { port } = server.address();
  // Run by hand (no IPC channel): say where it listens and serve until killed.
  if (process.send === undefined) console.log(`${variant} service on http://127.0.0.1:${port}/`);
  else process.send({ type: 'ready', port });
});
