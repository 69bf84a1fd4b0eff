// Sequential `await` loop timing: steadier than statistical harnesses on small noisy machines.
// Each case runs `rounds` times interleaved with the others, and the fastest round counts, so a noisy
// neighbour slows every case alike instead of one case at random.

/** @typedef {{ name: string, group: string, peer?: string, run: (n: number) => Promise<void> }} Case */

export async function measure(cases, { iterations = 200_000, rounds = 5, warmup = 50_000 } = {}) {
  for (const c of cases) await c.run(warmup);
  const best = new Map(cases.map((c) => [c, Number.POSITIVE_INFINITY]));
  for (let r = 0; r < rounds; r++) {
    for (const c of cases) {
      const start = process.hrtime.bigint();
      await c.run(iterations);
      const ns = Number(process.hrtime.bigint() - start) / iterations;
      if (ns < best.get(c)) best.set(c, ns);
    }
  }
  return cases.map((c) => ({ ...c, ns: best.get(c) }));
}

/** Loop calling `call` n times, awaiting each. */
export function loop(call) {
  return async (n) => {
    for (let i = 0; i < n; i++) await call();
  };
}

/** Same, for calls expected to reject (rejection paths). */
export function loopRejecting(call) {
  return async (n) => {
    for (let i = 0; i < n; i++) {
      try {
        await call();
      } catch {}
    }
  };
}

export function table(results, rawNs) {
  const rows = results.map((r) => [r.group, r.name, r.ns.toFixed(0), (r.ns / rawNs).toFixed(2)]);
  const head = ['group', 'case', 'ns/call', 'x raw'];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i].length)));
  const line = (cells) =>
    `| ${cells.map((c, i) => (i < 2 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join(' | ')} |`;
  const rule = `|${widths.map((w, i) => (i < 2 ? '-'.repeat(w + 2) : `${'-'.repeat(w + 1)}:`)).join('|')}|`;
  return [line(head), rule, ...rows.map(line)].join('\n');
}
