// The breakwater demo (`npm start`): a flaky downstream on 127.0.0.1, two Fastify checkout services
// calling it (one protected by breakwater, one bare), and load through four phases: healthy, failing,
// slow, recovering. A live table in the terminal, then an HTML report. Ends by itself.
//   npm start                 full run (32 s)      npm start -- --short     6 s (CI runs this)
import { resolve } from 'node:path';
import { startDownstream } from './downstream.js';
import { hit, type Outcome, percentile, type Second } from './load.js';
import { phaseAt, phases } from './phases.js';
import { writeReport } from './report.js';
import { type Service, startService } from './service.js';

const short = process.argv.includes('--short');
const rate = short ? 40 : 60; // requests per second, per service
const list = phases(short);
const totalMs = list.reduce((s, p) => s + p.durationMs, 0);
const reportPath = resolve(
  process.argv.find((a) => a.startsWith('--report='))?.slice(9) ?? 'demo-report.html',
);

const downstreams = { protected: await startDownstream(list), unprotected: await startDownstream(list) };
const services: Record<string, Service> = {
  protected: await startService(downstreams.protected.url, 'protected'),
  unprotected: await startService(downstreams.unprotected.url, 'unprotected'),
};
const runs: Record<string, Second[]> = { protected: [], unprotected: [] };

const started = performance.now();
const pending = new Set<Promise<unknown>>();
const secondOf = (name: string, t: number): Second => {
  const seconds = runs[name]!;
  while (seconds.length <= t) {
    seconds.push({
      t: seconds.length,
      phase: phaseAt(list, seconds.length * 1000).name,
      ok: 0,
      degraded: 0,
      errors: 0,
      shed: 0,
      latencies: [],
    });
  }
  return seconds[t]!;
};

const fmt = (n: number, d = 0) => (Number.isFinite(n) ? n.toFixed(d) : '-');
function draw(elapsed: number): void {
  const phase = phaseAt(list, elapsed).name;
  const rows = Object.entries(runs).map(([name, seconds]) => {
    const last = seconds.slice(-3);
    const lat = last.flatMap((s) => s.latencies).sort((a, b) => a - b);
    const n = last.reduce((s, x) => s + x.ok + x.degraded + x.errors + x.shed, 0) || 1;
    const sum = (k: Outcome) => last.reduce((s, x) => s + x[k], 0);
    const svc = services[name]!;
    const budget = svc.objective.snapshot().objectives[0]!.budgetRemaining;
    return `${name.padEnd(12)} ${fmt(percentile(lat, 50)).padStart(6)} ${fmt(percentile(lat, 99)).padStart(7)} ${fmt((100 * sum('ok')) / n).padStart(5)}% ${fmt((100 * sum('degraded')) / n).padStart(5)}% ${fmt((100 * sum('errors')) / n).padStart(5)}% ${fmt((100 * sum('shed')) / n).padStart(5)}%  ${(svc.breaker?.state ?? '-').padEnd(9)} ${fmt(budget * 100).padStart(5)}%  ${String(downstreams[name as keyof typeof downstreams].served()).padStart(6)}`;
  });
  const bar = '#'.repeat(Math.round((elapsed / totalMs) * 30)).padEnd(30, '.');
  const out = [
    `breakwater demo  [${bar}] ${fmt(elapsed / 1000, 1)}/${totalMs / 1000} s  phase: ${phase}`,
    `variant        p50 ms  p99 ms    ok  degr.  error   shed  breaker   budget  downstream calls`,
    ...rows,
  ];
  if (process.stdout.isTTY) process.stdout.write(`\x1b[H\x1b[2J${out.join('\n')}\n`);
  else if (Math.round(elapsed / 1000) % 2 === 0)
    console.log(
      out
        .slice(2)
        .map((r) => `${fmt(elapsed / 1000)}s ${r}`)
        .join('\n'),
    );
}

const sender = setInterval(() => {
  const elapsed = performance.now() - started;
  if (elapsed >= totalMs) return;
  const t = Math.floor(elapsed / 1000);
  for (const [name, svc] of Object.entries(services)) {
    const p = hit(svc.url).then(({ outcome, ms }) => {
      const s = secondOf(name, t);
      s[outcome]++;
      s.latencies.push(ms);
    });
    pending.add(p);
    p.finally(() => pending.delete(p));
  }
}, 1000 / rate);

const sampler = setInterval(() => {
  const elapsed = performance.now() - started;
  const t = Math.min(Math.floor(elapsed / 1000), Math.ceil(totalMs / 1000) - 1);
  for (const [name, svc] of Object.entries(services)) {
    const s = secondOf(name, t);
    if (svc.breaker !== undefined) s.breaker = svc.breaker.state;
    s.budget = svc.objective.snapshot().objectives[0]!.budgetRemaining;
  }
  draw(elapsed);
}, 250);

await new Promise((r) => setTimeout(r, totalMs));
clearInterval(sender);
await Promise.all(pending);
clearInterval(sampler);
draw(totalMs);

writeReport(reportPath, list, runs);
const summary = (name: string) => {
  const all = runs[name]!;
  const lat = all.flatMap((s) => s.latencies).sort((a, b) => a - b);
  const n = all.reduce((s, x) => s + x.ok + x.degraded + x.errors + x.shed, 0);
  const sum = (k: Outcome) => all.reduce((s, x) => s + x[k], 0);
  return `${name.padEnd(12)} requests ${n}, p50 ${fmt(percentile(lat, 50))} ms, p99 ${fmt(percentile(lat, 99))} ms, ok ${fmt((100 * sum('ok')) / n, 1)}%, degraded ${fmt((100 * sum('degraded')) / n, 1)}%, errors ${fmt((100 * sum('errors')) / n, 1)}%, shed ${fmt((100 * sum('shed')) / n, 1)}%, downstream calls ${downstreams[name as keyof typeof downstreams].served()}`;
};
console.log(`\n${summary('protected')}\n${summary('unprotected')}\nreport: ${reportPath}`);

for (const svc of Object.values(services)) await svc.app.close();
for (const d of Object.values(downstreams)) {
  d.server.closeAllConnections();
  d.server.close();
}
