// Module resolution hook (see src-imports.mjs): file URLs under dist/esm/ map to src/ (.js -> .ts).
const dist = new URL('../../dist/esm/', import.meta.url).href;
const src = new URL('../../src/', import.meta.url).href;

export function resolve(specifier, context, nextResolve) {
  if (context.parentURL !== undefined && /^(\.{1,2}\/|\/|file:)/.test(specifier)) {
    const url = new URL(specifier, context.parentURL).href;
    if (url.startsWith(dist)) {
      return nextResolve(`${src}${url.slice(dist.length).replace(/\.js$/, '.ts')}`, context);
    }
  }
  return nextResolve(specifier, context);
}
