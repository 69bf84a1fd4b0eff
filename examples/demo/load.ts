/** One second of one variant, as the load generator saw it. */
export interface Second {
  t: number;
  phase: string;
  ok: number;
  degraded: number;
  errors: number;
  shed: number;
  latencies: number[];
  breaker?: string;
  budget?: number;
}

export type Outcome = 'ok' | 'degraded' | 'errors' | 'shed';

/** Sends GET `url` and classifies the answer; latency in ms. Client timeout 10 s. */
export async function hit(url: string): Promise<{ outcome: Outcome; ms: number }> {
  const started = performance.now();
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(10_000) });
    const body = await res.text();
    const ms = performance.now() - started;
    if (res.status === 200) return { outcome: body.includes('degraded') ? 'degraded' : 'ok', ms };
    if (res.status === 503) return { outcome: 'shed', ms };
    return { outcome: 'errors', ms };
  } catch {
    return { outcome: 'errors', ms: performance.now() - started };
  }
}

export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.max(0, Math.ceil((p / 100) * sorted.length) - 1)]!;
}
