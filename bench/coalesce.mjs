// Per-call overhead of coalesce (and its cache) against opossum's `coalesce` / `cache` options, on the
// built package. Cases only: bench/run.mjs measures them with bench/harness.mjs.
//
// - miss: a sequential loop, so each call finds nothing in flight and starts its own execution.
// - join: rounds of 100 concurrent calls for one key, awaited together: 1 execution and 99 joins per
//   round; ns per call = round time / 100. Its baseline is 100 concurrent raw calls and a Promise.all.
// - cache hit: a sequential loop on a key whose result is cached.
// - batch: rounds of 100 concurrent loads of distinct keys, sent as one run (maxSize 100).
// opossum has coalescing only inside its breaker, so it is compared with pipeline(coalesce, breaker)
// (the "(with breaker)" cases); `timeout: false` keeps its per-call timer out, and `coalesceResetOn`
// frees a key when its call settles, as breakwater does (by default opossum keeps settled promises
// for `coalesceTTL`, which makes it a cache).
//
// Until src/index.ts exports coalesce and batch, measure the same cases from the sources:
//   rm -rf /tmp/bwc && npx tsc -p tsconfig.build.json --outDir /tmp/bwc/dist/esm --declaration false \
//     --declarationMap false --sourceMap false; mv /tmp/bwc/dist/esm/index.js /tmp/bwc/dist/esm/main.js
//   printf "export * from './main.js';\nexport { coalesce } from './coalesce/index.js';\nexport { batch } from './batch/index.js';\n" > /tmp/bwc/dist/esm/index.js
//   echo '{"type":"module"}' > /tmp/bwc/dist/esm/package.json; mkdir -p /tmp/bwc/bench
//   cp bench/harness.mjs bench/coalesce.mjs /tmp/bwc/bench/ && ln -sfn "$PWD/node_modules" /tmp/bwc/node_modules
//   cd /tmp/bwc && node --input-type=module -e "import { cases } from './bench/coalesce.mjs';
//     import { loop, measure, table } from './bench/harness.mjs';
//     const r = await measure([{ group: 'baseline', name: 'raw', run: loop(async () => 1) }, ...cases]);
//     console.log(table(r, r[0].ns));"
import Opossum from 'opossum';
import { batch, circuitBreaker, coalesce, pipeline } from '../dist/esm/index.js';
import { loop } from './harness.mjs';

const fn = async () => 1;
const ROUND = 100;
const byKey = (ctx) => ctx.key;
const keyed = { key: 'k' };
// Each concurrent caller has its own signal (as each inbound request would), never aborted.
const withSignals = Array.from({ length: 100 }, () => ({ key: 'k', signal: new AbortController().signal }));

const bwCoalesce = coalesce({ key: byKey });
const bwCoalesceBreaker = pipeline(coalesce({ key: byKey }), circuitBreaker());
const bwCached = coalesce({ key: byKey, cache: { ttlMs: 2 ** 31 - 1 } });
await bwCached.execute(fn, keyed);

const opCoalesce = new Opossum(fn, {
  timeout: false,
  coalesce: true,
  coalesceResetOn: ['success', 'error', 'timeout'],
});
const opCached = new Opossum(fn, { timeout: false, cache: true });
await opCached.fire('k');

const ids = Array.from({ length: 100 }, (_, i) => `id${i}`);
const bwBatch = batch({ maxSize: 100, run: async (keys) => keys });

/** ROUND concurrent calls per round, awaited together; `call(j)` is the j-th caller of the round. */
function rounds(call) {
  const pending = new Array(ROUND);
  return async (n) => {
    for (let i = 0; i < n; i += ROUND) {
      for (let j = 0; j < ROUND; j++) pending[j] = call(j);
      await Promise.all(pending);
    }
  };
}

/** @type {import('./harness.mjs').Case[]} */
export const cases = [
  { group: 'coalesce miss', name: 'breakwater coalesce', run: loop(() => bwCoalesce.execute(fn, keyed)) },
  {
    group: 'coalesce miss',
    name: 'breakwater coalesce (with breaker)',
    run: loop(() => bwCoalesceBreaker.execute(fn, keyed)),
  },
  {
    group: 'coalesce miss',
    name: 'opossum coalesce (with breaker)',
    peer: 'opossum',
    run: loop(() => opCoalesce.fire('k')),
  },
  { group: 'coalesce join', name: 'raw: 100 concurrent fn()', run: rounds(fn) },
  { group: 'coalesce join', name: 'breakwater coalesce', run: rounds(() => bwCoalesce.execute(fn, keyed)) },
  {
    group: 'coalesce join',
    name: 'breakwater coalesce, callers with signals',
    run: rounds((j) => bwCoalesce.execute(fn, withSignals[j])),
  },
  {
    group: 'coalesce join',
    name: 'breakwater coalesce (with breaker)',
    run: rounds(() => bwCoalesceBreaker.execute(fn, keyed)),
  },
  {
    group: 'coalesce join',
    name: 'opossum coalesce (with breaker)',
    peer: 'opossum',
    run: rounds(() => opCoalesce.fire('k')),
  },
  { group: 'cache hit', name: 'breakwater coalesce + cache', run: loop(() => bwCached.execute(fn, keyed)) },
  { group: 'cache hit', name: 'opossum cache', peer: 'opossum', run: loop(() => opCached.fire('k')) },
  { group: 'batch', name: 'breakwater batch, 100 loads per run', run: rounds((j) => bwBatch.load(ids[j])) },
];
