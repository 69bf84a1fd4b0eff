import { invalid } from './core/options.js';
import { Executor, isPolicy, type Policy, STAGES, stagesOf, type TYPES } from './core/policy.js';
import type { Stage } from './core/stage.js';

// biome-ignore lint/suspicious/noExplicitAny: variance placeholder for "any policy"
type AnyPolicy = Policy<any, any>;
type Marks<P> = P extends { readonly [TYPES]?: infer M } ? NonNullable<M> : never;
type AcceptsOf<P> = Marks<P> extends { readonly accepts: infer A } ? A : unknown;
type AddsOf<P> = Marks<P> extends { readonly adds: infer X } ? X : never;

/** The result types every policy of the list accepts (`unknown` when none constrains them). */
export type PipelineAccepts<P extends readonly unknown[]> = P extends readonly [infer Head, ...infer Rest]
  ? AcceptsOf<Head> & PipelineAccepts<Rest>
  : unknown;
/** The extra result types the pipeline may produce (fallback values). */
export type PipelineAdds<P extends readonly AnyPolicy[]> = AddsOf<P[number]>;

export interface Pipeline<Accepts = unknown, Adds = never> extends Policy<Accepts, Adds> {
  readonly policies: readonly AnyPolicy[];
}

class PipelineExecutor<A, X> extends Executor<A, X> implements Pipeline<A, X> {
  readonly policies: readonly AnyPolicy[];
  readonly [STAGES]: readonly Stage[];

  constructor(policies: readonly AnyPolicy[]) {
    super();
    this.policies = Object.freeze([...policies]);
    this[STAGES] = Object.freeze(policies.flatMap((p) => stagesOf(p)));
  }
}

/**
 * Composes policies, the first outermost: `pipeline(retry, breaker, bulkhead, timeout)` retries calls
 * that the breaker lets through, each bounded by the timeout. Built once; consecutive synchronous
 * policies run in a single frame per call.
 */
export function pipeline<const P extends readonly AnyPolicy[]>(
  ...policies: P
): Pipeline<PipelineAccepts<P>, PipelineAdds<P>> {
  policies.forEach((p, i) => {
    if (!isPolicy(p)) {
      invalid(`pipeline[${i}]`, 'a breakwater policy', p);
    }
  });
  return new PipelineExecutor<PipelineAccepts<P>, PipelineAdds<P>>(policies);
}
