import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../..', import.meta.url));

// Runs in a child process with --expose-gc against the built package, so heap figures are not
// muddied by the test runner.
const script = `
import { bulkhead } from 'breakwater';
const b = bulkhead({ limit: 1, queue: 200_000, maxWaitMs: 60_000 });
let release;
const hold = b.execute(() => new Promise((r) => (release = r)));
globalThis.gc(); globalThis.gc();
const before = process.memoryUsage().heapUsed;
const controllers = [];
const calls = [];
for (let i = 0; i < 100_000; i++) {
  const c = new AbortController();
  controllers.push(c);
  calls.push(b.execute(() => 'never', c.signal).catch((e) => e));
}
const queuedAtPeak = b.snapshot().queued;
for (const c of controllers) c.abort('gone');
const reasons = await Promise.all(calls);
controllers.length = 0; calls.length = 0;
release(); await hold;
await new Promise((r) => setImmediate(r));
globalThis.gc(); globalThis.gc();
const after = process.memoryUsage().heapUsed;
console.log(JSON.stringify({ queuedAtPeak, allAborted: reasons.every((r) => r === 'gone'), snapshot: b.snapshot(), grewBytes: after - before }));
`;

describe('bulkhead memory', () => {
  it('100k queued-and-aborted calls leave nothing behind', () => {
    const out = JSON.parse(
      execFileSync(process.execPath, ['--expose-gc', '--input-type=module', '-e', script], {
        cwd: root,
        encoding: 'utf8',
      }),
    );
    expect(out.queuedAtPeak).toBe(100_000);
    expect(out.allAborted).toBe(true);
    expect(out.snapshot).toMatchObject({ inflight: 0, queued: 0, abandoned: 0 });
    // 100k waiters with their listeners and promises take tens of MB while queued; a leak of even a
    // few dozen bytes each would show. The bound is generous for allocator noise.
    expect(out.grewBytes).toBeLessThan(2_000_000);
  });
});
