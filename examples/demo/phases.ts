/** The script the demo plays: what the downstream does in each phase. */
export interface Phase {
  readonly name: string;
  readonly durationMs: number;
  /** Share of requests answered 503 at once. */
  readonly errorRate: number;
  /** Share of requests that hang for `slowMs` before answering. */
  readonly slowRate: number;
  readonly slowMs: number;
  /** Latency of an ordinary answer. */
  readonly latencyMs: number;
}

export function phases(short: boolean): Phase[] {
  const d = short ? 1_500 : 8_000;
  return [
    { name: 'healthy', durationMs: d, errorRate: 0.01, slowRate: 0, slowMs: 0, latencyMs: 20 },
    { name: 'failing', durationMs: d, errorRate: 0.7, slowRate: 0, slowMs: 0, latencyMs: 20 },
    { name: 'slow', durationMs: d, errorRate: 0.02, slowRate: 0.5, slowMs: 3_000, latencyMs: 20 },
    { name: 'recovering', durationMs: d, errorRate: 0.01, slowRate: 0, slowMs: 0, latencyMs: 20 },
  ];
}

/** The phase at `elapsedMs` into the run (the last one after the end). */
export function phaseAt(list: readonly Phase[], elapsedMs: number): Phase {
  let t = 0;
  for (const p of list) {
    t += p.durationMs;
    if (elapsedMs < t) return p;
  }
  return list[list.length - 1]!;
}
