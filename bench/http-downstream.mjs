// Child process of bench/http.mjs: the downstream dependency, on 127.0.0.1 (ephemeral port), failing
// or slowing down on the schedule of bench/http-scenario.mjs. A process of its own so that its timers
// and sockets do not share an event loop with the load generator or the service under test.
//
// IPC: sends { type: 'ready', port }; on { type: 'start', at, phases } restarts its counters and follows
// the schedule from `at` (a Date.now() value); on { type: 'report' } answers { type: 'report', perPhase }.
// Before the first 'start' it answers healthily (warm-up); after a schedule ends it stays in the last
// phase (recovering: healthy), where the next run's warm-up finds it.
import { createServer } from 'node:http';
import { phaseIndexAt } from './http-scenario.mjs';

let phases = [{ name: 'warm-up', durationMs: Number.POSITIVE_INFINITY, delayMs: 5, okEvery: 1 }];
let startAt = Date.now();
let counts = [0];

const OK = Buffer.from('{"ok":true}');
const FAILED = Buffer.from('{"ok":false}');

function answer(res, status) {
  if (res.destroyed) return;
  const body = status === 200 ? OK : FAILED;
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': body.length });
  res.end(body);
}

const server = createServer((_req, res) => {
  const i = phaseIndexAt(phases, Date.now() - startAt);
  const phase = phases[i];
  const n = ++counts[i];
  const status = n % phase.okEvery === 0 ? 200 : 500;
  // A client that gives up (timeout, abort) must not leave its timer behind.
  const timer = setTimeout(answer, phase.delayMs, res, status);
  res.once('close', () => clearTimeout(timer));
});
// Hanging requests are the point of the slow phase: never let the server cut them short itself.
server.requestTimeout = 0;
server.keepAliveTimeout = 30_000;

process.on('message', (msg) => {
  if (msg.type === 'start') {
    phases = msg.phases;
    startAt = msg.at;
    counts = phases.map(() => 0);
    process.send({ type: 'started' });
  } else if (msg.type === 'report') {
    process.send({
      type: 'report',
      perPhase: phases.map((p, i) => ({ phase: p.name, requests: counts[i] })),
    });
  }
});
// The parent went away (even if it was killed): never outlive it.
process.on('disconnect', () => process.exit(0));

server.listen(0, '127.0.0.1', () => {
  const { port } = server.address();
  // Run by hand (no IPC channel): say where it listens and stay healthy until killed.
  if (process.send === undefined) console.log(`downstream on http://127.0.0.1:${port}/`);
  else process.send({ type: 'ready', port });
});
