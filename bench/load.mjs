// 10,000 calls in flight at once, kept there for a fixed time: throughput, event-loop delay and memory
// of the four-policy pipeline (a deadline armed on every call) against peers.
//
//   node bench/load.mjs [--quick]
//
// Each case runs in a fresh child process (this file with --child), so heaps, JIT state and timers of
// one library never touch another's figures. Every task resolves on the next turn of the event loop
// (setImmediate), the same for every case: a timer would add its own cost, the same for all, and hide
// the policies' share. So the loop is always busy and the event-loop delay is the length of one turn,
// i.e. the time to settle and restart about 10,000 calls.
import { fork } from 'node:child_process';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';

const self = fileURLToPath(import.meta.url);

/** Calls in flight in a full run; quick runs (CI smoke) keep 1,000 so that the slowest peer ends soon. */
export const INFLIGHT = 10_000;
const QUICK_INFLIGHT = 1_000;

/** Case names, in report order; the child builds the case from its name. */
export const LOAD_CASES = [
  { name: 'raw (no policy)' },
  { name: 'breakwater retry+breaker+bulkhead+timeout (aggressive)' },
  { name: 'breakwater retry+breaker+bulkhead+timeout (cooperative, signal read)' },
  { name: 'cockatiel wrap(retry, breaker, bulkhead, timeout aggressive)', peer: 'cockatiel' },
  { name: 'opossum CircuitBreakerPolicy({ timeout: 5000 })', peer: 'opossum' },
];

const settleSoon = (resolve) => setImmediate(resolve);
/** The downstream stand-in: resolves on the next turn of the loop. */
const task = () => new Promise(settleSoon);

/** Builds the `call()` of one case. Peers and the package are imported here, in the child only. */
async function buildCase(name) {
  switch (name) {
    case 'raw (no policy)':
      return { call: task };
    case 'breakwater retry+breaker+bulkhead+timeout (aggressive)': {
      const bw = await import('../dist/esm/index.js');
      const p = bw.pipeline(
        bw.retry(),
        bw.circuitBreaker(),
        bw.bulkhead({ limit: 20_000 }),
        bw.timeout(5_000),
      );
      return { call: () => p.execute(task) };
    }
    case 'breakwater retry+breaker+bulkhead+timeout (cooperative, signal read)': {
      const bw = await import('../dist/esm/index.js');
      const p = bw.pipeline(
        bw.retry(),
        bw.circuitBreaker(),
        bw.bulkhead({ limit: 20_000 }),
        bw.timeout({ durationMs: 5_000, strategy: 'cooperative' }),
      );
      // Reading the signal is what a real task does (fetch(url, { signal })): it creates the signal and
      // arms the cooperative deadline, which an unread signal would skip.
      const readsSignal = (ctx) => {
        if (ctx.signal.aborted) throw ctx.signal.reason;
        return new Promise(settleSoon);
      };
      return { call: () => p.execute(readsSignal) };
    }
    case 'cockatiel wrap(retry, breaker, bulkhead, timeout aggressive)': {
      const ck = await import('cockatiel');
      const p = ck.wrap(
        ck.retry(ck.handleAll, { maxAttempts: 3 }),
        ck.circuitBreaker(ck.handleAll, { halfOpenAfter: 10_000, breaker: new ck.ConsecutiveBreaker(5) }),
        ck.bulkhead(20_000),
        ck.timeout(5_000, ck.TimeoutStrategy.Aggressive),
      );
      return { call: () => p.execute(task) };
    }
    case 'opossum CircuitBreakerPolicy({ timeout: 5000 })': {
      const { default: CircuitBreakerPolicy } = await import('opossum');
      const breaker = new CircuitBreakerPolicy(task, { timeout: 5_000 });
      return { call: () => breaker.fire(), close: () => breaker.shutdown() };
    }
    default:
      throw new Error(`unknown load case: ${name}`);
  }
}

const MB = 1024 * 1024;
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** Child side: keep `inflight` calls running for warmupMs + measureMs, measure the second part. */
async function child(name, inflight, warmupMs, measureMs) {
  const { call, close } = await buildCase(name);
  let running = true;
  let completed = 0;
  let errors = 0;
  const errorNames = {};
  // One async loop per slot: a finished call starts the next at once, so `inflight` stay in flight.
  const slot = async () => {
    while (running) {
      try {
        await call();
        completed++;
      } catch (error) {
        errors++;
        const key = error?.constructor?.name ?? typeof error;
        errorNames[key] = (errorNames[key] ?? 0) + 1;
      }
    }
  };

  let heapPeak = 0;
  const sampleHeap = () => {
    const used = process.memoryUsage().heapUsed;
    if (used > heapPeak) heapPeak = used;
  };
  const sampler = setInterval(sampleHeap, 50);

  const slots = [];
  for (let i = 0; i < inflight; i++) slots.push(slot());
  await sleep(warmupMs);

  const delay = monitorEventLoopDelay({ resolution: 10 });
  const startCount = completed;
  const startErrors = errors;
  const start = performance.now();
  delay.enable();
  await sleep(measureMs);
  delay.disable();
  // Timers fire late on a busy loop: divide by the time that really passed.
  const elapsed = performance.now() - start;
  const calls = completed - startCount;
  sampleHeap();
  running = false;
  await Promise.all(slots);
  clearInterval(sampler);
  close?.();

  return {
    name,
    callsPerSecond: (calls * 1000) / elapsed,
    calls,
    measuredMs: elapsed,
    // No sample means no turn of the loop ended inside the window: the window itself is a lower bound.
    eventLoopDelayP50Ms: delay.count === 0 ? elapsed : delay.percentile(50) / 1e6,
    eventLoopDelayP99Ms: delay.count === 0 ? elapsed : delay.percentile(99) / 1e6,
    eventLoopDelayMaxMs: delay.count === 0 ? elapsed : delay.max / 1e6,
    heapUsedPeakMB: heapPeak / MB,
    // maxRSS is the kernel's high-water mark for the process, in KiB: no sampling gap.
    rssPeakMB: (process.resourceUsage().maxRSS * 1024) / MB,
    errors: errors - startErrors,
    // Over the whole run, warm-up and drain included: which failures, if any.
    errorNames,
  };
}

function runChild(name, inflight, warmupMs, measureMs, execArgv) {
  return new Promise((resolve, reject) => {
    const proc = fork(self, ['--child', name, String(inflight), String(warmupMs), String(measureMs)], {
      execArgv,
      stdio: ['ignore', 'inherit', 'pipe', 'ipc'],
    });
    // Kept, not printed: a peer's process warnings (cockatiel's MaxListenersExceededWarning) are
    // findings that belong in the result; the whole text is shown only if the child fails.
    let stderr = '';
    proc.stderr.setEncoding('utf8');
    proc.stderr.on('data', (chunk) => {
      stderr += chunk;
    });
    let result;
    const guard = setTimeout(
      () => {
        proc.kill('SIGKILL');
        reject(new Error(`load case "${name}" did not finish in time`));
      },
      warmupMs + measureMs + 60_000,
    );
    proc.once('message', (msg) => {
      result = msg;
    });
    proc.once('error', (error) => {
      clearTimeout(guard);
      proc.kill('SIGKILL');
      reject(error);
    });
    proc.once('exit', (code, signal) => {
      clearTimeout(guard);
      const warnings = stderr.split('\n').filter((line) => /Warning:/.test(line));
      if (result !== undefined) resolve(warnings.length === 0 ? result : { ...result, warnings });
      else reject(new Error(`load case "${name}" exited with ${code ?? signal} and no result\n${stderr}`));
    });
  });
}

/**
 * Runs every case in its own process, one after another.
 * @param {{ quick?: boolean, cases?: string[], inflight?: number, execArgv?: string[] }} [options]
 *   `cases` filters by name (default all). `execArgv`: Node flags of the children, default none, so a
 *   parent's loader flags (tsx, vitest) never reach the measured process; e.g. ['--max-semi-space-size=64'].
 */
export async function runLoad({
  quick = false,
  cases,
  inflight = quick ? QUICK_INFLIGHT : INFLIGHT,
  execArgv = [],
} = {}) {
  const warmupMs = quick ? 100 : 1_000;
  const measureMs = quick ? 200 : 3_000;
  const selected = cases === undefined ? LOAD_CASES : LOAD_CASES.filter((c) => cases.includes(c.name));
  const out = [];
  for (const c of selected) {
    const r = await runChild(c.name, inflight, warmupMs, measureMs, execArgv);
    out.push(c.peer === undefined ? r : { ...r, peer: c.peer });
  }
  return {
    scenario: 'load',
    inflight,
    durationMs: measureMs,
    warmupMs,
    task: 'resolves on the next event-loop turn (setImmediate)',
    note:
      `${inflight.toLocaleString('en')} calls kept in flight (each finished call starts the next) for ` +
      `${measureMs} ms after ${warmupMs} ms of warm-up, each case in a fresh process. Every task resolves ` +
      'on the next event-loop turn (setImmediate). Event-loop delay: perf_hooks monitorEventLoopDelay ' +
      '(10 ms resolution), i.e. about the length of one turn. Heap peak sampled every 50 ms; RSS peak is ' +
      'the process high-water mark. Every call arms a 5 s timeout and disarms it; none fires unless a ' +
      'case stalls the event loop that long.',
    cases: out,
  };
}

export function loadTable(result) {
  const head = ['case', 'calls/s', 'ELD p50', 'ELD p99', 'ELD max', 'heap MB', 'RSS MB', 'errors'];
  const rows = result.cases.map((c) => [
    c.name,
    Math.round(c.callsPerSecond).toLocaleString('en'),
    c.eventLoopDelayP50Ms.toFixed(1),
    c.eventLoopDelayP99Ms.toFixed(1),
    c.eventLoopDelayMaxMs.toFixed(1),
    c.heapUsedPeakMB.toFixed(1),
    c.rssPeakMB.toFixed(1),
    String(c.errors),
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells) =>
    cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
  return [line(head), ...rows.map(line)].join('\n');
}

if (process.argv[1] === self) {
  const argv = process.argv.slice(2);
  if (argv[0] === '--child') {
    // The parent went away (even if it was killed): never outlive it.
    process.on('disconnect', () => process.exit(1));
    const [, name, inflight, warmupMs, measureMs] = argv;
    const result = await child(name, Number(inflight), Number(warmupMs), Number(measureMs));
    if (process.send === undefined) console.log(JSON.stringify(result));
    else process.send(result, () => process.exit(0));
  } else {
    const result = await runLoad({ quick: argv.includes('--quick') });
    console.log(loadTable(result));
    console.log(JSON.stringify(result, null, 2));
  }
}
