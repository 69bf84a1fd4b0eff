import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../..', import.meta.url));
const pkg = JSON.parse(readFileSync(`${root}/package.json`, 'utf8')) as {
  exports: Record<string, unknown>;
  peerDependencies: Record<string, string>;
};
const subpaths = Object.keys(pkg.exports)
  .filter((k) => k !== '.' && k !== './package.json')
  .map((k) => `breakwater/${k.slice(2)}`);

function node(source: string, type: 'module' | 'commonjs'): string {
  return execFileSync(process.execPath, [`--input-type=${type}`, '-e', source], {
    cwd: root,
    encoding: 'utf8',
  }).trim();
}

describe('subpath exports', () => {
  it.each(subpaths)('%s loads with import and with require, exposing the same names', (name) => {
    const esm = node(
      `const m = await import('${name}'); console.log(Object.keys(m).sort().join())`,
      'module',
    );
    const cjs = node(`console.log(Object.keys(require('${name}')).sort().join())`, 'commonjs');
    expect(esm.length).toBeGreaterThan(0);
    expect(cjs).toBe(esm);
  });

  it('the core and every integration load without loading any peer dependency', () => {
    const peers = Object.keys(pkg.peerDependencies).filter((p) => !p.startsWith('@types/'));
    const loaded = node(
      `require('breakwater'); ${subpaths.map((s) => `require('${s}');`).join(' ')}
       console.log(JSON.stringify(Object.keys(require.cache)))`,
      'commonjs',
    );
    const files: string[] = JSON.parse(loaded);
    for (const peer of peers) {
      expect(files.filter((f) => f.includes(`/node_modules/${peer}/`))).toEqual([]);
    }
    expect(files.every((f) => !f.includes('/node_modules/'))).toBe(true);
  });
});
