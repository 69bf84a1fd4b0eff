import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

// Every ```ts block of README.md and docs/*.md, compiled as its own module under the repository's
// strict settings, with `breakwater` and its subpaths mapped to src/. A snippet that names something
// it neither imports nor declares, or uses an option that does not exist, fails here. Blocks marked
// ```ts runnable are also run (with tsx), and must exit cleanly within 20 s.

const root = fileURLToPath(new URL('../..', import.meta.url));
const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');

interface Snippet {
  readonly file: string;
  readonly where: string;
  readonly runnable: boolean;
}

function entry(subpath: string | undefined): string {
  if (subpath === undefined) return '../src/index.js';
  if (subpath === 'testing') return '../src/testing/index.js';
  if (subpath === 'extend') return '../src/extend.js';
  return `../src/integrations/${subpath}/index.js`;
}

const dir = mkdtempSync(join(root, '.snippets-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function extract(): Snippet[] {
  const docs = ['README.md', ...readdirSync(join(root, 'docs')).map((f) => `docs/${f}`)].filter((f) =>
    f.endsWith('.md'),
  );
  const snippets: Snippet[] = [];
  for (const doc of docs.sort()) {
    const text = readFileSync(join(root, doc), 'utf8');
    for (const match of text.matchAll(/```ts( runnable)?\n([\s\S]*?)```/g)) {
      const line = text.slice(0, match.index).split('\n').length;
      const code = match[2]!.replace(/'breakwater(?:\/([a-z]+))?'/g, (_, sub?: string) => `'${entry(sub)}'`);
      const file = `s${String(snippets.length + 1).padStart(3, '0')}.ts`;
      // `export {}`: each snippet is a module of its own, as in a user's file.
      writeFileSync(join(dir, file), `${code}\nexport {};\n`);
      snippets.push({ file, where: `${doc}:${line}`, runnable: match[1] !== undefined });
    }
  }
  return snippets;
}

let snippets: Snippet[] = [];

describe('documentation snippets', () => {
  it('every ts block in README.md and docs/ compiles under --strict', () => {
    mkdirSync(dir, { recursive: true });
    snippets = extract();
    expect(snippets.length).toBeGreaterThan(40);
    const config = {
      extends: '../tsconfig.json',
      compilerOptions: { noEmit: true, noUnusedLocals: false, noUnusedParameters: false },
      include: ['./*.ts'],
    };
    writeFileSync(join(dir, 'tsconfig.json'), JSON.stringify(config));
    let output = '';
    try {
      execFileSync(process.execPath, [tsc, '-p', join(dir, 'tsconfig.json')], { encoding: 'utf8' });
    } catch (error) {
      output = String((error as { stdout?: string }).stdout ?? error);
    }
    // Name each failure by its place in the docs, not by its temporary file.
    const where = new Map(snippets.map((s) => [s.file, s.where]));
    const failures = output
      .split('\n')
      .filter((line) => line.includes('error TS'))
      .map((line) => {
        const m = /(s\d{3})\.ts\((\d+),\d+\): (.*)/.exec(line);
        return m === null ? line : `${where.get(`${m[1]}.ts`)} (+${Number(m[2]) - 1}): ${m[3]}`;
      });
    expect(failures).toEqual([]);
  }, 120_000);

  it('the blocks marked runnable run to completion', () => {
    const runnable = snippets.filter((s) => s.runnable);
    expect(runnable.length).toBeGreaterThan(0);
    const failed: string[] = [];
    for (const snippet of runnable) {
      try {
        execFileSync(process.execPath, ['--import', 'tsx', join(dir, snippet.file)], {
          encoding: 'utf8',
          timeout: 20_000,
          stdio: ['ignore', 'pipe', 'pipe'],
        });
      } catch (error) {
        const e = error as { stderr?: string; signal?: string };
        failed.push(
          `${snippet.where}: ${e.signal ?? ''} ${(e.stderr ?? String(error)).split('\n').slice(0, 3).join(' ')}`,
        );
      }
    }
    expect(failed).toEqual([]);
  }, 120_000);
});
