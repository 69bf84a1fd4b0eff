import { writeFileSync } from 'node:fs';
import { percentile, type Second } from './load.js';
import type { Phase } from './phases.js';

const W = 900;
const H = 160;
const PAD = 40;

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;');

/** Second i of n occupies one slot; points sit at slot centres. */
function slot(n: number): number {
  return (W - 2 * PAD) / Math.max(1, n);
}
function xAt(i: number, n: number): number {
  return PAD + (i + 0.5) * slot(n);
}

function phaseBands(list: readonly Phase[], totalMs: number): string {
  let t = 0;
  const colours: Record<string, string> = {
    healthy: '#e6f4ea',
    failing: '#fde7e9',
    slow: '#fff4d6',
    recovering: '#e8f0fe',
  };
  return list
    .map((p) => {
      const x0 = PAD + (t / totalMs) * (W - 2 * PAD);
      t += p.durationMs;
      const x1 = PAD + (t / totalMs) * (W - 2 * PAD);
      return `<rect x="${x0}" y="0" width="${x1 - x0}" height="${H}" fill="${colours[p.name] ?? '#eee'}"/><text x="${x0 + 4}" y="12" font-size="10" fill="#555">${p.name}</text>`;
    })
    .join('');
}

function yOf(v: number, max: number, log: boolean): number {
  const r = log ? Math.log10(Math.max(1, v)) / Math.log10(Math.max(10, max)) : v / Math.max(1e-9, max);
  return H - 20 - r * (H - 40);
}

/** Horizontal grid lines with labels: 1, 10, 100... ms on a log axis, 0-100% on a ratio axis. */
function grid(max: number, log: boolean): string {
  const ticks = log
    ? Array.from({ length: Math.ceil(Math.log10(Math.max(10, max))) + 1 }, (_, e) => 10 ** e).filter(
        (v) => v <= max * 1.01,
      )
    : [0, 0.25, 0.5, 0.75, 1].map((f) => f * max);
  return ticks
    .map((v) => {
      const y = yOf(v, max, log);
      const label = log ? `${v} ms` : `${Math.round((v / max) * 100)}%`;
      return `<line x1="${PAD}" x2="${W - PAD}" y1="${y}" y2="${y}" stroke="#0002"/><text x="${PAD - 4}" y="${y + 3}" font-size="9" text-anchor="end" fill="#555">${label}</text>`;
    })
    .join('');
}

function line(values: number[], max: number, colour: string, log = false): string {
  const y = (v: number) => yOf(v, max, log);
  const pts = values
    .map((v, i) => (Number.isFinite(v) ? `${xAt(i, values.length)},${y(v)}` : ''))
    .filter(Boolean);
  return `<polyline fill="none" stroke="${colour}" stroke-width="2" points="${pts.join(' ')}"/>`;
}

function chart(title: string, body: string, legend: [string, string][]): string {
  const keys = legend.map(
    ([c, l], i) =>
      `<rect x="${PAD + i * 150}" y="${H + 6}" width="10" height="10" fill="${c}"/><text x="${PAD + 14 + i * 150}" y="${H + 15}" font-size="11">${esc(l)}</text>`,
  );
  return `<h3>${esc(title)}</h3><svg width="${W}" height="${H + 24}" font-family="system-ui">${body}${keys.join('')}</svg>`;
}

export function writeReport(path: string, list: readonly Phase[], runs: Record<string, Second[]>): void {
  const totalMs = list.reduce((s, p) => s + p.durationMs, 0);
  const sections: string[] = [];
  const maxLatency = Math.max(
    ...Object.values(runs)
      .flatMap((s) =>
        s.map((x) =>
          percentile(
            [...x.latencies].sort((a, b) => a - b),
            99,
          ),
        ),
      )
      .filter(Number.isFinite),
    10,
  );
  for (const [name, seconds] of Object.entries(runs)) {
    const sorted = seconds.map((s) => [...s.latencies].sort((a, b) => a - b));
    const p50 = sorted.map((l) => percentile(l, 50));
    const p99 = sorted.map((l) => percentile(l, 99));
    const totals = seconds.map((s) => Math.max(1, s.ok + s.degraded + s.errors + s.shed));
    const rate = (k: 'errors' | 'shed' | 'degraded') => seconds.map((s, i) => s[k] / totals[i]!);
    const parts = [
      chart(
        `${name}: latency p50 / p99 (log scale)`,
        phaseBands(list, totalMs) +
          grid(maxLatency, true) +
          line(p50, maxLatency, '#1c6dd0', true) +
          line(p99, maxLatency, '#d0421c', true),
        [
          ['#1c6dd0', 'p50'],
          ['#d0421c', 'p99'],
        ],
      ),
      chart(
        `${name}: error, shed and degraded rates`,
        phaseBands(list, totalMs) +
          grid(1, false) +
          line(rate('errors'), 1, '#d0421c') +
          line(rate('shed'), 1, '#8a5a00') +
          line(rate('degraded'), 1, '#6b46c1'),
        [
          ['#d0421c', 'errors'],
          ['#8a5a00', 'shed (503)'],
          ['#6b46c1', 'degraded answers'],
        ],
      ),
      chart(
        `${name}: SLO error budget remaining (availability 95%)`,
        phaseBands(list, totalMs) +
          grid(1, false) +
          line(
            seconds.map((s) => Math.max(0, s.budget ?? 1)),
            1,
            '#2b8a3e',
          ),
        [['#2b8a3e', 'budget left (0..1)']],
      ),
    ];
    if (seconds.some((s) => s.breaker !== undefined)) {
      const colours: Record<string, string> = { closed: '#2b8a3e', open: '#d0421c', 'half-open': '#e0a800' };
      const band = seconds
        .map(
          (s, i) =>
            `<rect x="${PAD + i * slot(seconds.length)}" y="40" width="${slot(seconds.length) + 0.5}" height="60" fill="${colours[s.breaker ?? ''] ?? '#999'}"/>`,
        )
        .join('');
      parts.push(
        chart(
          `${name}: circuit breaker state`,
          phaseBands(list, totalMs) + band,
          Object.entries(colours).map(([k, c]) => [c, k]),
        ),
      );
    }
    sections.push(`<section><h2>${esc(name)}</h2>${parts.join('')}</section>`);
  }
  const html = `<!doctype html><html><head><meta charset="utf-8"><title>breakwater demo report</title>
<style>body{font-family:system-ui,sans-serif;margin:24px;color:#222}h2{margin-top:32px}h3{font-size:13px;margin:12px 0 2px}</style></head>
<body><h1>breakwater demo: protected vs unprotected</h1>
<p>Phases: ${list.map((p) => `${esc(p.name)} (${p.durationMs / 1000} s)`).join(' → ')}. Each second of each run is one point.</p>
${sections.join('\n')}</body></html>`;
  writeFileSync(path, html);
}
