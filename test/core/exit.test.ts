import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

// Whether a process whose only pending work is breakwater's stays alive for it: a timer some caller is
// waiting on must keep it alive (the batch window, a deadline of a call in flight), and nothing else may.

const child = fileURLToPath(new URL('./fixtures/exit-child.ts', import.meta.url));

function run(scenario: string): Promise<{ code: number | null; stdout: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, ['--import', 'tsx', child, scenario], { timeout: 20_000 }, (error, stdout) => {
      const code = error === null ? 0 : typeof error.code === 'number' ? error.code : null;
      resolve({ code, stdout: stdout.trim() });
    });
  });
}

describe('process exit', () => {
  it('a batch window keeps the process alive until the batch is sent', async () => {
    expect(await run('batch')).toMatchObject({ code: 0, stdout: '"a!"' });
  });

  it('an aggressive timeout around a task that holds no handle fires, instead of the process exiting', async () => {
    expect(await run('aggressive-timeout')).toMatchObject({ code: 0, stdout: '"TimeoutError"' });
  });

  it('so does an armed cooperative timeout', async () => {
    expect(await run('cooperative-timeout')).toMatchObject({ code: 0, stdout: '"TimeoutError"' });
  });

  it('a long timeout whose call is over does not hold the process', async () => {
    // Its 10-minute deadline is still armed: a ref'd timer would keep the child past the 20 s bound of
    // run(), which then kills it (code null).
    expect(await run('idle-after-call')).toMatchObject({ code: 0, stdout: '"done"' });
  });
});
