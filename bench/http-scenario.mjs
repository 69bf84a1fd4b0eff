// What bench/http.mjs and its two children (http-downstream.mjs, http-service.mjs) share: the
// downstream's schedule, whose phases follow one another from a common start time (a Date.now() value:
// same machine), and the protected service's settings (explained in http-service.mjs).

/**
 * @typedef {{ name: string, durationMs: number, delayMs: number, okEvery: number }} Phase
 * `delayMs`: how long the downstream takes to answer; `okEvery`: 1 = every request succeeds, n = one
 * request in n succeeds and the others get a 500 (deterministic, so runs are repeatable).
 */

/** @returns {Phase[]} */
export function schedule({
  quick = false,
  phaseMs = quick ? 150 : 3_000,
  slowMs = quick ? 250 : 2_000,
} = {}) {
  return [
    { name: 'healthy', durationMs: phaseMs, delayMs: 5, okEvery: 1 },
    { name: 'failing', durationMs: phaseMs, delayMs: 1, okEvery: 10 },
    { name: 'slow', durationMs: phaseMs, delayMs: slowMs, okEvery: 1 },
    { name: 'recovering', durationMs: phaseMs, delayMs: 5, okEvery: 1 },
  ];
}

export function totalMs(phases) {
  return phases.reduce((sum, p) => sum + p.durationMs, 0);
}

/** Index of the phase at `elapsedMs` after the start; clamped to the first and last phases. */
export function phaseIndexAt(phases, elapsedMs) {
  let end = 0;
  for (let i = 0; i < phases.length; i++) {
    end += phases[i].durationMs;
    if (elapsedMs < end) return i;
  }
  return phases.length - 1;
}

/** Settings of the protected variant: see the header of http-service.mjs for why these values. */
export const PROTECTED_CONFIG = Object.freeze({
  retry: {
    maxRetries: 2,
    initialMs: 20,
    maxDelayMs: 200,
    budget: { ratio: 0.1, minPerSecond: 5, windowMs: 10_000 },
  },
  circuitBreaker: {
    window: { kind: 'count', size: 50 },
    minimumCalls: 20,
    failureRateThreshold: 0.5,
    breakDurationMs: 1_000,
    halfOpen: { maxCalls: 5, successThreshold: 3 },
  },
  bulkhead: { limit: 32, queue: 32, maxWaitMs: 100 },
  timeout: { durationMs: 200, strategy: 'cooperative' },
});
