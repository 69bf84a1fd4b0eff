import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../..', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'breakwater-demo-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('the demo (npm start), short mode', () => {
  it('runs the four phases against real servers, ends by itself and writes its report', async () => {
    const report = join(dir, 'report.html');
    const { stdout } = await promisify(execFile)(
      process.execPath,
      ['--import', 'tsx', 'examples/demo/main.ts', '--short', `--report=${report}`],
      { cwd: root, timeout: 60_000 },
    );
    const summary = stdout.split('\n').filter((l) => /^(protected|unprotected) +requests/.test(l));
    expect(summary).toHaveLength(2);
    for (const line of summary) expect(Number(/requests (\d+)/.exec(line)?.[1])).toBeGreaterThan(50);
    expect(existsSync(report)).toBe(true);
    const html = readFileSync(report, 'utf8');
    for (const part of ['protected', 'unprotected', 'circuit breaker state', 'error budget', '<svg']) {
      expect(html).toContain(part);
    }
  }, 90_000);
});
