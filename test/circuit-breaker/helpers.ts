import type { CircuitBreakerPolicy } from '../../src/index.js';

export const boom = new Error('downstream failed');

export const succeed = () => 'ok';
export const fail = () => {
  throw boom;
};

/** Runs n calls one after another through the breaker, returning their outcomes. */
export async function calls(breaker: CircuitBreakerPolicy, n: number, fn: () => unknown) {
  const outcomes = [];
  for (let i = 0; i < n; i++) outcomes.push(await breaker.executeOutcome(fn));
  return outcomes;
}
