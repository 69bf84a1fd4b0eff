import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../..', import.meta.url));
const source = new URL('../../src/index.ts', import.meta.url).href;

// Runs in a child process with --expose-gc, so heap figures are not muddied by the test runner, against
// the sources (tsx compiles them; a built dist/ may be stale). Two rounds of 100k queued-and-aborted
// calls: whatever the first round leaves for good (JIT code, internal caches, compiled modules) it leaves
// once; a per-call leak would grow the heap again in round two.
const script = `
import { bulkhead } from ${JSON.stringify(source)};
const b = bulkhead({ limit: 1, queue: 200_000, maxWaitMs: 60_000 });
let release;
const hold = b.execute(() => new Promise((r) => (release = r)));
const heap = () => { globalThis.gc(); globalThis.gc(); return process.memoryUsage().heapUsed; };
async function round() {
  const controllers = [];
  const calls = [];
  for (let i = 0; i < 100_000; i++) {
    const c = new AbortController();
    controllers.push(c);
    calls.push(b.execute(() => 'never', c.signal).catch((e) => e));
  }
  const queued = b.snapshot().queueSize;
  const peak = process.memoryUsage().heapUsed;
  for (const c of controllers) c.abort('gone');
  const reasons = await Promise.all(calls);
  return { queued, peak, allAborted: reasons.every((r) => r === 'gone') };
}
const start = heap();
const first = await round();
const afterFirst = heap();
const second = await round();
const afterSecond = heap();
release(); await hold;
console.log(JSON.stringify({ first, second, snapshot: b.snapshot(), queuedCost: first.peak - start, secondRoundGrowth: afterSecond - afterFirst }));
`;

describe('bulkhead memory', () => {
  it('100k queued-and-aborted calls leave nothing behind', () => {
    const out = JSON.parse(
      execFileSync(
        process.execPath,
        ['--expose-gc', '--import', 'tsx', '--input-type=module', '-e', script],
        {
          cwd: root,
          encoding: 'utf8',
        },
      ),
    );
    expect(out.first.queued).toBe(100_000);
    expect(out.second.queued).toBe(100_000);
    expect(out.first.allAborted && out.second.allAborted).toBe(true);
    expect(out.snapshot).toMatchObject({ inflight: 0, queueSize: 0, abandoned: 0 });
    // Holding 100k waiters costs tens of MB; a leak of even 5% of that per round would show in round two.
    expect(out.queuedCost).toBeGreaterThan(10_000_000);
    expect(out.secondRoundGrowth).toBeLessThan(out.queuedCost * 0.05);
  });
});
