// A horizontal bar chart of "x raw" ratios on a log scale, as a self-contained SVG (no dependency).

const esc = (s) => String(s).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** rows: [{ label, value, peer: boolean }]; value is a ratio >= ~1. */
export function ratioChart(
  rows,
  { title = 'Cost per call, as a multiple of a bare `await fn()` (log scale)' } = {},
) {
  const barH = 18;
  const gap = 6;
  const left = 480;
  const width = 1030;
  const plotW = width - left - 90;
  const top = 50;
  const height = top + rows.length * (barH + gap) + 40;
  const max = Math.max(2, ...rows.map((r) => r.value));
  const maxLog = Math.ceil(Math.log10(max));
  const x = (v) => (Math.log10(Math.max(1, v)) / maxLog) * plotW;
  const ticks = [];
  for (let e = 0; e <= maxLog; e++) {
    for (const m of e === maxLog ? [1] : [1, 2, 5]) {
      const v = m * 10 ** e;
      if (v > 10 ** maxLog) continue;
      ticks.push(v);
    }
  }
  const parts = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="system-ui, sans-serif" font-size="12">`,
    `<title>${esc(title)}</title>`,
    `<rect width="100%" height="100%" fill="#fff"/>`,
    `<text x="${left}" y="24" font-size="14" font-weight="600">${esc(title)}</text>`,
    `<g transform="translate(${left} 0)">`,
  ];
  for (const t of ticks) {
    parts.push(
      `<line x1="${x(t)}" y1="${top - 8}" x2="${x(t)}" y2="${height - 30}" stroke="#ddd"/>`,
      `<text x="${x(t)}" y="${height - 14}" text-anchor="middle" fill="#555">${t}x</text>`,
    );
  }
  rows.forEach((r, i) => {
    const y = top + i * (barH + gap);
    const color = r.peer
      ? '#b0b7c3'
      : r.value <= (r.target ?? Number.POSITIVE_INFINITY)
        ? '#2b8a3e'
        : '#1c6dd0';
    parts.push(
      `<text x="-8" y="${y + barH - 5}" text-anchor="end">${esc(r.label)}</text>`,
      `<rect x="0" y="${y}" width="${Math.max(1, x(r.value))}" height="${barH}" fill="${color}"/>`,
      `<text x="${Math.max(1, x(r.value)) + 6}" y="${y + barH - 5}" fill="#333">${r.value.toFixed(r.value < 10 ? 2 : 0)}x</text>`,
    );
  });
  parts.push('</g>', '</svg>');
  return `${parts.join('\n')}\n`;
}
