// A real downstream on 127.0.0.1 that fails and slows down on a schedule, a service calling it per
// inbound request, with and without breakwater, driven for a bounded time by autocannon and by an
// open-loop generator.
//
//   node bench/http.mjs [--quick]
//
// Three processes, so no two of them share an event loop: this one runs the load generator,
// http-downstream.mjs the dependency (one for all runs, its schedule restarted each time),
// http-service.mjs the service under test (a fresh one per run). Each variant is driven twice:
// - autocannon, 50 connections, closed loop: each connection sends its next request when the last one
//   is answered. A service that hangs receives few requests and one that sheds in 0.1 ms a flood (the
//   clients retry at once, ignoring Retry-After), so per-request rates favour the slow phases.
// - open loop at a fixed rate (http-open-loop.mjs): the same requests at the same times for both
//   variants, latency measured from when each request was due. Rates compare directly.
import { fork } from 'node:child_process';
import { createHistogram, performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import { openLoop } from './http-open-loop.mjs';
import { PROTECTED_CONFIG, phaseIndexAt, schedule, totalMs } from './http-scenario.mjs';

const here = (file) => fileURLToPath(new URL(file, import.meta.url));

export const VARIANTS = ['unprotected', 'protected'];
export const DRIVERS = ['autocannon', 'open-loop'];

/** A forked child speaking the { type } message protocol of http-downstream.mjs and http-service.mjs. */
function startChildProcess(file, args) {
  const proc = fork(here(file), args, { execArgv: [], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const waiters = new Map();
  let failure;
  const fail = (error) => {
    failure ??= error;
    for (const w of waiters.values()) w.reject(failure);
    waiters.clear();
  };
  proc.on('message', (msg) => {
    const w = waiters.get(msg.type);
    if (w === undefined) return;
    waiters.delete(msg.type);
    w.resolve(msg);
  });
  proc.on('error', fail);
  proc.once('exit', (code, signal) => fail(new Error(`${file} exited (${code ?? signal})`)));
  const next = (type) =>
    new Promise((resolve, reject) => {
      if (failure !== undefined) return reject(failure);
      waiters.set(type, { resolve, reject });
    });
  return {
    ready: next('ready'),
    ask(msg, replyType) {
      const reply = next(replyType);
      proc.send(msg);
      return reply;
    },
    /** SIGTERM, then SIGKILL if it has not exited within a second. */
    stop() {
      if (proc.exitCode !== null || proc.signalCode !== null) return Promise.resolve();
      return new Promise((resolve) => {
        const kill = setTimeout(() => proc.kill('SIGKILL'), 1_000);
        proc.once('exit', () => {
          clearTimeout(kill);
          resolve();
        });
        proc.kill('SIGTERM');
      });
    },
  };
}

const rate = (n, total) => (total === 0 ? 0 : n / total);

/** Client-side figures per phase, each request filed under the phase in which it was sent. */
function phaseRecorder(phases, startAt) {
  const buckets = phases.map(() => ({ requests: 0, ok: 0, errors: 0, shed: 0, latency: createHistogram() }));
  return {
    /** `sentAt`: a Date.now() value; `status` 0 when no answer came. */
    record(sentAt, latencyMs, status) {
      const b = buckets[phaseIndexAt(phases, sentAt - startAt)];
      b.requests++;
      if (status >= 200 && status < 300) b.ok++;
      else if (status === 503) b.shed++;
      else b.errors++;
      if (status !== 0) b.latency.record(Math.max(1, Math.round(latencyMs * 1_000)));
    },
    results() {
      return buckets.map(({ latency, ...counts }) => ({
        ...counts,
        okRate: rate(counts.ok, counts.requests),
        errorRate: rate(counts.errors, counts.requests),
        shedRate: rate(counts.shed, counts.requests),
        ...latencySummary(latency),
      }));
    },
  };
}

const latencySummary = (h) => ({
  latencyP50Ms: h.count === 0 ? 0 : h.percentile(50) / 1_000,
  latencyP99Ms: h.count === 0 ? 0 : h.percentile(99) / 1_000,
  latencyMaxMs: h.count === 0 ? 0 : h.max / 1_000,
});

/** autocannon's result in the shape of openLoop()'s. */
function fromAutocannon(ac) {
  const statusCounts = {};
  for (const [code, { count }] of Object.entries(ac.statusCodeStats ?? {}))
    statusCounts[code] = Number(count);
  return {
    statusCounts,
    errors: ac.errors,
    timeouts: ac.timeouts,
    latencyP50Ms: ac.latency.p50,
    latencyP99Ms: ac.latency.p99,
    latencyMaxMs: ac.latency.max,
    durationS: ac.duration,
  };
}

/** Collapses the load generator's figures and the children's reports into one row. */
function variantRow(variant, driver, load, client, service, downstream) {
  const byStatus = (pred) =>
    Object.entries(load.statusCounts)
      .filter(([code]) => pred(Number(code)))
      .reduce((sum, [, n]) => sum + n, 0);
  const ok = byStatus((c) => c >= 200 && c < 300);
  const shed = byStatus((c) => c === 503);
  const failedStatus = byStatus((c) => c < 200 || (c >= 300 && c !== 503));
  // Requests without any answer (connection errors, the generator's 10 s timeout) are errors too.
  const requests = ok + shed + failedStatus + load.errors;
  const perPhase = client.map((c, i) => {
    const { phase, ...serviceSide } = service.perPhase[i];
    return { phase, ...c, service: serviceSide, downstreamRequests: downstream.perPhase[i]?.requests ?? 0 };
  });
  const serviceRequests = service.perPhase.reduce((sum, p) => sum + p.requests, 0);
  const row = {
    name: `${variant}, ${driver.label}`,
    variant,
    driver: driver.name,
    requests,
    latencyP50Ms: load.latencyP50Ms,
    latencyP99Ms: load.latencyP99Ms,
    latencyMaxMs: load.latencyMaxMs,
    errorRate: rate(failedStatus + load.errors, requests),
    shedRate: rate(shed, requests),
    okRate: rate(ok, requests),
    requestsPerSecond: load.durationS > 0 ? requests / load.durationS : 0,
    timeouts: load.timeouts,
    downstreamRequests: perPhase.reduce((sum, p) => sum + p.downstreamRequests, 0),
    serviceCpuMs: service.cpuMs,
    serviceCpuUsPerRequest: rate(service.cpuMs * 1_000, serviceRequests),
    perPhase,
  };
  if (service.transitions !== undefined) row.circuitTransitions = service.transitions;
  if (service.policies !== undefined) row.policies = service.policies;
  return row;
}

/**
 * Runs one load with the given driver. `track` learns of autocannon instances so that a deadline can
 * stop them; `recorder` (optional) hears of every request.
 */
function drive(driver, url, durationMs, track, recorder) {
  if (driver.name === 'autocannon') {
    // sampleInt: autocannon checks for the end of a run only when it takes a sample (default every
    // second), which would round every run up to whole seconds.
    const instance = autocannon({
      url,
      connections: driver.connections,
      sampleInt: 100,
      duration: durationMs / 1_000,
    });
    if (recorder !== undefined) {
      instance.on('response', (_client, status, _bytes, ms) => recorder.record(Date.now() - ms, ms, status));
      // A timed-out request was sent autocannon's timeout (10 s) ago; other errors are immediate.
      instance.on('reqError', (error) =>
        recorder.record(Date.now() - (error?.message === 'request timed out' ? 10_000 : 0), 0, 0),
      );
    }
    return track(instance).then(fromAutocannon);
  }
  // openLoop's times are on the performance clock; the schedule's on Date.now().
  const onResult =
    recorder === undefined
      ? undefined
      : (dueAt, ms, status) => recorder.record(performance.timeOrigin + dueAt, ms, status);
  return openLoop({ url, ratePerSecond: driver.ratePerSecond, durationMs, onResult });
}

/** One run: a fresh service in front of the shared downstream, warmed up, then the schedule. */
async function runVariant(name, driver, phases, { downstream, downstreamUrl, warmupMs, track, live }) {
  const service = startChildProcess('./http-service.mjs', [name, downstreamUrl]);
  live.add(service);
  try {
    const { port } = await service.ready;
    const url = `http://127.0.0.1:${port}/`;

    // Warm-up against the healthy downstream: JIT, sockets, and a breaker window full of successes.
    if (warmupMs > 0) await drive(driver, url, warmupMs, track);

    const at = Date.now();
    await Promise.all([
      downstream.ask({ type: 'start', at, phases }, 'started'),
      service.ask({ type: 'start', at, phases }, 'started'),
    ]);
    const recorder = phaseRecorder(phases, at);
    const load = await drive(driver, url, totalMs(phases), track, recorder);
    const [serviceReport, downstreamReport] = await Promise.all([
      service.ask({ type: 'report' }, 'report'),
      downstream.ask({ type: 'report' }, 'report'),
    ]);
    return variantRow(name, driver, load, recorder.results(), serviceReport, downstreamReport);
  } finally {
    // Its sockets close with it, so the downstream drops whatever it was still holding for it.
    await service.stop();
    live.delete(service);
  }
}

/**
 * Runs the schedule once per driver and variant, one run after the other.
 * @param {{ quick?: boolean, variants?: string[], drivers?: string[], connections?: number,
 *   ratePerSecond?: number, phaseMs?: number, slowMs?: number }} [options]
 *   Defaults: both variants, both drivers, 50 autocannon connections, 200 req/s open loop (well under the
 *   service's capacity on a small machine, so that queueing in the service does not hide the policies); phases of
 *   3 s (quick: 150 ms) with a 2 s hang (quick: 250 ms).
 */
export async function runHttp({
  quick = false,
  variants = VARIANTS,
  drivers = DRIVERS,
  connections = 50,
  ratePerSecond = 200,
  phaseMs,
  slowMs,
} = {}) {
  const phases = schedule({
    quick,
    ...(phaseMs === undefined ? {} : { phaseMs }),
    ...(slowMs === undefined ? {} : { slowMs }),
  });
  const warmupMs = quick ? 0 : 1_000;
  const driverSpecs = drivers.map((name) =>
    name === 'autocannon'
      ? { name, connections, label: `autocannon ${connections} connections` }
      : { name, ratePerSecond, label: `open loop ${ratePerSecond}/s` },
  );
  const runs = driverSpecs.flatMap((driver) => variants.map((variant) => ({ driver, variant })));
  // Hard bound for the whole run: a stuck child or socket must not hang `npm run bench` or CI.
  const limitMs = runs.length * (warmupMs + totalMs(phases) + 20_000);
  let running;
  const track = (instance) => {
    running = instance;
    return instance;
  };
  const live = new Set();
  let timer;
  const deadline = new Promise((_, reject) => {
    timer = setTimeout(() => {
      running?.stop();
      reject(new Error(`http scenario did not finish within ${limitMs} ms`));
    }, limitMs);
  });
  const rows = [];
  try {
    // One downstream for every run: 'start' resets its schedule and counters.
    const downstream = startChildProcess('./http-downstream.mjs', []);
    live.add(downstream);
    const { port } = await Promise.race([downstream.ready, deadline]);
    const context = { downstream, downstreamUrl: `http://127.0.0.1:${port}/`, warmupMs, track, live };
    for (const { driver, variant } of runs) {
      const run = runVariant(variant, driver, phases, context);
      // If the deadline wins, this run fails later, when its children are killed: nobody awaits it then.
      run.catch(() => {});
      rows.push(await Promise.race([run, deadline]));
    }
  } finally {
    clearTimeout(timer);
    // The downstream, and services whose run is stuck when the deadline won the race.
    await Promise.all([...live].map((c) => c.stop()));
  }
  const c = PROTECTED_CONFIG;
  return {
    scenario: 'http',
    durationMs: totalMs(phases),
    warmupMs,
    drivers: driverSpecs.map(({ label: _label, ...d }) => d),
    phases: phases.map((p) => ({
      name: p.name,
      durationMs: p.durationMs,
      downstream:
        p.okEvery === 1 ? `200 after ${p.delayMs} ms` : `500 after ${p.delayMs} ms, except 1 in ${p.okEvery}`,
    })),
    protectedConfig: c,
    note:
      `Each variant driven by autocannon (${connections} connections, closed loop: fast 503s are re-sent at ` +
      `once) and by an open-loop generator (${ratePerSecond} req/s whatever the answers; latency from when ` +
      `each request was due), ${totalMs(phases) / 1_000} s after ${warmupMs / 1_000} s of warm-up, in ` +
      'separate processes on 127.0.0.1. Unprotected: plain fetch, no timeout, 502 on a downstream 5xx. ' +
      `Protected: retry (${c.retry.maxRetries}, budget ${c.retry.budget.ratio * 100} %) + breaker ` +
      `(${c.circuitBreaker.failureRateThreshold * 100} % of ${c.circuitBreaker.window.size} calls, open ` +
      `${c.circuitBreaker.breakDurationMs} ms) + bulkhead (${c.bulkhead.limit} + ${c.bulkhead.queue} queued, ` +
      `${c.bulkhead.maxWaitMs} ms) + timeout ${c.timeout.durationMs} ms; 503 + Retry-After when a policy ` +
      'refuses (shed). Latencies are client-side; per phase (results.json), requests are filed by the ' +
      'time they were sent, with the service-side view (by arrival) and the downstream calls alongside.',
    variants: rows,
  };
}

export function httpTable(result) {
  const pct = (x) => `${(x * 100).toFixed(1)}%`;
  const head = [
    'variant',
    'phase',
    'requests',
    'p50 ms',
    'p99 ms',
    'max ms',
    'ok',
    'errors',
    'shed',
    'downstream',
  ];
  const rows = [];
  for (const v of result.variants) {
    rows.push([
      v.name,
      'all (client)',
      String(v.requests),
      v.latencyP50Ms.toFixed(1),
      v.latencyP99Ms.toFixed(1),
      v.latencyMaxMs.toFixed(1),
      pct(v.okRate),
      pct(v.errorRate),
      pct(v.shedRate),
      String(v.downstreamRequests),
    ]);
    for (const p of v.perPhase) {
      rows.push([
        '',
        p.phase,
        String(p.requests),
        p.latencyP50Ms.toFixed(1),
        p.latencyP99Ms.toFixed(1),
        p.latencyMaxMs.toFixed(1),
        pct(p.okRate),
        pct(p.errorRate),
        pct(p.shedRate),
        String(p.downstreamRequests),
      ]);
    }
  }
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells) =>
    cells.map((c, i) => (i < 2 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
  return [line(head), ...rows.map(line)].join('\n');
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const result = await runHttp({ quick: process.argv.includes('--quick') });
  console.log(httpTable(result));
  console.log(JSON.stringify(result, null, 2));
}
