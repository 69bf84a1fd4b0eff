// `npm run bench`: every benchmark against peers, in one run, on the built package (dist/): that is
// what users run, and tsx's per-closure helpers would distort the figures.
//
//   node bench/run.mjs [--quick] [--write] [--micro] [--alloc] [--load] [--http]
//   node bench/run.mjs --render      (rewrites RESULTS.md and ratios.svg from results.json, runs nothing)
//
// With no section flag every section runs. --write regenerates bench/RESULTS.md, bench/ratios.svg and
// bench/results.json. --quick is the CI smoke run: few iterations, numbers not meaningful.
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { runAlloc } from './alloc.mjs';
import { measure, table } from './harness.mjs';
import { microCases, tinybenchMicro } from './micro.mjs';
import { comparisons, renderChart, renderResults } from './report.mjs';

const args = new Set(process.argv.slice(2));
const quick = args.has('--quick');
const sections = ['--micro', '--alloc', '--load', '--http'].filter((s) => args.has(s));
const want = (s) => sections.length === 0 || sections.includes(s);
const here = (file) => fileURLToPath(new URL(file, import.meta.url));

const results = args.has('--render') ? JSON.parse(readFileSync(here('./results.json'), 'utf8')) : { quick };
const running = !args.has('--render');

if (running && want('--micro')) {
  const cases = microCases();
  const micro = await measure(cases, quick ? { iterations: 2_000, rounds: 1, warmup: 500 } : {});
  results.micro = micro.map(({ run: _run, ...rest }) => rest);
  const tiny = await tinybenchMicro(cases, { time: quick ? 20 : 300 });
  results.tiny = Object.fromEntries(tiny);
  console.log(table(micro, micro[0].ns));
  for (const c of comparisons(results.micro)) {
    console.log(
      `${c.group}: ${c.ours} ${c.factor.toFixed(1)}x ${c.factor >= 1 ? 'faster' : 'slower'} than ${c.peer}`,
    );
  }
}
if (running && want('--alloc')) {
  results.alloc = await runAlloc({ quick });
  for (const c of results.alloc.cases) console.log(`alloc ${c.id}: ${c.bytesPerCall.toFixed(0)} B/call`);
}
if (running && want('--load')) {
  const { runLoad, loadTable } = await import('./load.mjs');
  results.load = await runLoad({ quick });
  console.log(loadTable(results.load));
}
if (running && want('--http')) {
  const { runHttp, httpTable } = await import('./http.mjs');
  results.http = await runHttp({ quick });
  console.log(httpTable(results.http));
}

if (args.has('--write') || args.has('--render')) {
  if (results.micro === undefined) throw new Error('--write needs the micro-benchmarks');
  const tiny = new Map(Object.entries(results.tiny ?? {}));
  if (running) writeFileSync(here('./results.json'), `${JSON.stringify(results, null, 2)}\n`);
  const profile = readFileSync(here('./notes.md'), 'utf8').trim();
  writeFileSync(here('./RESULTS.md'), renderResults({ ...results, tiny, profile }));
  writeFileSync(here('./ratios.svg'), renderChart(results.micro));
  console.log(`wrote bench/RESULTS.md, bench/ratios.svg${running ? ', bench/results.json' : ''}`);
}
