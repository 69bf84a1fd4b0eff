// A service built from the README's pipeline, against a dead downstream (every connection refused),
// under a closed-loop load: how fast does it answer while the circuit is open?
//
//   node bench/outage.mjs [--seconds 10] [--connections 50] [--dist <path to an ESM index.js>]
//
// --dist points at another build (an older commit's dist/esm/index.js) to compare the same load on
// both. Two processes: this one drives autocannon, a forked child runs the service. Each request makes
// one `fetch` through
//   pipeline(retry({ maxRetries: 3 }), circuitBreaker({ failureRateThreshold: 0.5 }),
//            bulkhead({ limit: 20, queue: 50 }), timeout(2_000))
// and answers 200 (downstream ok), 503 (one of our policies refused the call) or 502 (the call failed).
import { fork } from 'node:child_process';
import { createServer } from 'node:http';
import { fileURLToPath, pathToFileURL } from 'node:url';

const args = process.argv.slice(2);
const option = (name, fallback) => {
  const i = args.indexOf(`--${name}`);
  return i === -1 ? fallback : args[i + 1];
};

if (args[0] === '--service') await service(args[1]);
else await drive();

async function drive() {
  const seconds = Number(option('seconds', 10));
  const connections = Number(option('connections', 50));
  const dist = option('dist', fileURLToPath(new URL('../dist/esm/index.js', import.meta.url)));
  const child = fork(fileURLToPath(import.meta.url), ['--service', dist], { stdio: 'inherit' });
  const port = await new Promise((resolve, reject) => {
    child.once('message', (m) => resolve(m.port));
    child.once('exit', (code) => reject(new Error(`service exited (${code})`)));
  });
  const { default: autocannon } = await import('autocannon');
  // A generous per-request timeout: a call sleeping out breaks must be measured, not dropped.
  const result = await autocannon({
    url: `http://127.0.0.1:${port}/`,
    connections,
    duration: seconds,
    timeout: 60,
  });
  child.kill();
  const out = {
    dist,
    seconds,
    connections,
    requestsPerSecond: Math.round(result.requests.average),
    p50Ms: result.latency.p50,
    p99Ms: result.latency.p99,
    statuses: {
      '2xx': result['2xx'],
      non2xx: result.non2xx,
      errors: result.errors,
      timeouts: result.timeouts,
    },
  };
  console.log(JSON.stringify(out));
}

async function service(dist) {
  const bw = await import(pathToFileURL(dist).href);
  const dead = await unusedPort();
  const policy = bw.pipeline(
    bw.retry({ maxRetries: 3 }),
    bw.circuitBreaker({ failureRateThreshold: 0.5 }),
    bw.bulkhead({ limit: 20, queue: 50 }),
    bw.timeout(2_000),
  );
  const server = createServer(async (_req, res) => {
    const outcome = await policy.executeOutcome(async ({ signal }) => {
      const response = await fetch(`http://127.0.0.1:${dead}/`, { signal });
      if (!response.ok) throw new Error(`HTTP ${response.status}`);
      return response.text();
    });
    res.statusCode = outcome.ok ? 200 : outcome.error instanceof bw.RejectedError ? 503 : 502;
    res.end();
  });
  server.listen(0, '127.0.0.1', () => process.send({ port: server.address().port }));
}

/** A port nothing listens on: connections to it are refused at once. */
function unusedPort() {
  return new Promise((resolve) => {
    const probe = createServer();
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address();
      probe.close(() => resolve(port));
    });
  });
}
