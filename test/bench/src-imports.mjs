// Preloaded (--import, through NODE_OPTIONS so that every forked child gets it too): the bench scripts
// import the built package (../dist/esm/index.js); this resolves those imports to the TypeScript
// sources in src/, compiled on the fly by tsx, so a test of the scenarios runs the current code
// without a build.
import { register } from 'node:module';
import { register as registerTsx } from 'tsx/esm/api';

registerTsx();
// Registered last, so it resolves first: a dist URL becomes the src URL that tsx then loads.
register('./src-imports-hooks.mjs', import.meta.url);
