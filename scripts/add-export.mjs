// node scripts/add-export.mjs <subpath> <dir under src>  — adds a dual ESM/CJS exports entry.
import { readFileSync, writeFileSync } from 'node:fs';

const [subpath, dir] = process.argv.slice(2);
const pkg = JSON.parse(readFileSync('package.json', 'utf8'));
const entry = (flavour) => ({
  types: `./dist/${flavour}/${dir}/index.d.ts`,
  default: `./dist/${flavour}/${dir}/index.js`,
});
const { './package.json': pj, ...rest } = pkg.exports;
pkg.exports = {
  ...rest,
  [`./${subpath}`]: { import: entry('esm'), require: entry('cjs') },
  './package.json': pj,
};
writeFileSync('package.json', `${JSON.stringify(pkg, null, 2)}\n`);
