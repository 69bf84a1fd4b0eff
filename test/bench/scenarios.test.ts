import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';

// Smoke run of the load scenarios in their quick mode, so they cannot rot: shapes and sanity only.
// Figures from a few hundred milliseconds on a shared CI machine mean nothing, so nothing here compares
// one case with another or with a time.

// The scenarios import the built package in the processes they fork. Those processes inherit
// NODE_OPTIONS, which preloads src-imports.mjs: their imports of dist/ resolve to src/, so the current
// sources are tested, never a stale build.
const preload = new URL('./src-imports.mjs', import.meta.url).href;
async function againstSources<T>(run: () => Promise<T>): Promise<T> {
  const before = process.env.NODE_OPTIONS;
  process.env.NODE_OPTIONS = `${before ?? ''} --import="${preload}"`.trim();
  try {
    return await run();
  } finally {
    if (before === undefined) delete process.env.NODE_OPTIONS;
    else process.env.NODE_OPTIONS = before;
  }
}

interface LoadCase {
  name: string;
  peer?: string;
  callsPerSecond: number;
  eventLoopDelayP50Ms: number;
  eventLoopDelayP99Ms: number;
  eventLoopDelayMaxMs: number;
  heapUsedPeakMB: number;
  rssPeakMB: number;
  errors: number;
}
interface LoadResult {
  scenario: string;
  inflight: number;
  durationMs: number;
  cases: LoadCase[];
}
interface Rates {
  requests: number;
  latencyP50Ms: number;
  latencyP99Ms: number;
  latencyMaxMs: number;
  errorRate: number;
  shedRate: number;
  okRate: number;
}
interface HttpResult {
  scenario: string;
  phases: { name: string; durationMs: number }[];
  variants: (Rates & {
    name: string;
    variant: string;
    driver: string;
    downstreamRequests: number;
    perPhase: (Rates & {
      phase: string;
      ok: number;
      errors: number;
      shed: number;
      downstreamRequests: number;
      service: {
        requests: number;
        ok: number;
        errors: number;
        shed: number;
        aborted: number;
        latencyP99Ms: number;
      };
    })[];
  })[];
}

// Plain .mjs modules outside the TypeScript project: imported by URL so that they keep their own types.
const load = (file: string) => import(new URL(`../../bench/${file}`, import.meta.url).href);

const finite = (x: unknown) => typeof x === 'number' && Number.isFinite(x);
const rate = (x: unknown) => finite(x) && (x as number) >= 0 && (x as number) <= 1;

describe('benchmark scenarios (quick mode)', () => {
  it('the processes they fork load the package from src/, not dist/', async () => {
    const dist = new URL('../../dist/esm/index.js', import.meta.url).href;
    const resolve = `console.log(import.meta.resolve(${JSON.stringify(dist)}))`;
    const resolved = await againstSources(async () =>
      execFileSync(process.execPath, ['--input-type=module', '-e', resolve], { encoding: 'utf8' }),
    );
    expect(resolved.trim()).toBe(new URL('../../src/index.ts', import.meta.url).href);
  });

  it('load: every case runs in its own process and reports finite figures', async () => {
    const { runLoad } = await load('load.mjs');
    const result: LoadResult = await againstSources(() => runLoad({ quick: true }));
    expect(JSON.parse(JSON.stringify(result))).toEqual(result);
    expect(result.scenario).toBe('load');
    expect(result.inflight).toBeGreaterThan(0);
    expect(result.durationMs).toBeGreaterThan(0);
    expect(result.cases.map((c) => c.peer ?? 'breakwater')).toEqual([
      'breakwater',
      'breakwater',
      'breakwater',
      'cockatiel',
      'opossum',
    ]);
    for (const c of result.cases) {
      expect(c.name).toEqual(expect.any(String));
      for (const key of [
        'callsPerSecond',
        'eventLoopDelayP50Ms',
        'eventLoopDelayP99Ms',
        'eventLoopDelayMaxMs',
        'heapUsedPeakMB',
        'rssPeakMB',
      ] as const) {
        expect(finite(c[key]), `${c.name}: ${key}`).toBe(true);
        expect(c[key]).toBeGreaterThanOrEqual(0);
      }
      expect(c.callsPerSecond, c.name).toBeGreaterThan(0);
      expect(c.heapUsedPeakMB).toBeGreaterThan(0);
      expect(c.rssPeakMB).toBeGreaterThanOrEqual(c.heapUsedPeakMB);
      expect(Number.isInteger(c.errors)).toBe(true);
    }
    // Every call succeeds within its 5 s timeout in our own cases.
    expect(result.cases.filter((c) => c.peer === undefined).map((c) => c.errors)).toEqual([0, 0, 0]);
  }, 60_000);

  it('http: both variants under both drivers serve requests and report rates per phase', async () => {
    const { runHttp } = await load('http.mjs');
    const result: HttpResult = await againstSources(() => runHttp({ quick: true }));
    expect(JSON.parse(JSON.stringify(result))).toEqual(result);
    expect(result.scenario).toBe('http');
    expect(result.phases.map((p) => p.name)).toEqual(['healthy', 'failing', 'slow', 'recovering']);
    expect(result.variants.map((v) => `${v.variant}/${v.driver}`)).toEqual([
      'unprotected/autocannon',
      'protected/autocannon',
      'unprotected/open-loop',
      'protected/open-loop',
    ]);
    for (const v of result.variants) {
      expect(v.requests, v.name).toBeGreaterThan(0);
      expect(v.downstreamRequests, v.name).toBeGreaterThan(0);
      for (const key of ['latencyP50Ms', 'latencyP99Ms', 'latencyMaxMs'] as const) {
        expect(finite(v[key]), `${v.name}: ${key}`).toBe(true);
      }
      expect(v.latencyP50Ms).toBeLessThanOrEqual(v.latencyMaxMs);
      for (const key of ['errorRate', 'shedRate', 'okRate'] as const)
        expect(rate(v[key]), `${v.name}: ${key}`).toBe(true);
      expect(v.errorRate + v.shedRate + v.okRate).toBeCloseTo(1, 6);
      expect(v.perPhase.map((p) => p.phase)).toEqual(result.phases.map((p) => p.name));
      for (const p of v.perPhase) {
        // Client side: every request sent in the phase is answered one way or another.
        expect(p.ok + p.errors + p.shed).toBe(p.requests);
        for (const key of ['errorRate', 'shedRate', 'okRate'] as const) expect(rate(p[key])).toBe(true);
        expect(finite(p.latencyP99Ms)).toBe(true);
        // Service side: requests still in flight when the report was taken are in no column.
        const s = p.service;
        expect(s.ok + s.errors + s.shed + s.aborted).toBeLessThanOrEqual(s.requests);
        expect(finite(s.latencyP99Ms)).toBe(true);
        expect(Number.isInteger(p.downstreamRequests)).toBe(true);
      }
      expect(v.perPhase.reduce((sum, p) => sum + p.requests, 0)).toBe(v.requests);
      // Only the protected service sheds (503): the unprotected one has nothing that could refuse.
      if (v.variant === 'unprotected') expect(v.shedRate).toBe(0);
    }
  }, 60_000);
});
