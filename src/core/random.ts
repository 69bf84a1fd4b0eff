import type { RandomSource } from './clock.js';
import { number } from './options.js';

/**
 * A repeatable random source (mulberry32): the same seed gives the same sequence, so jitter, sampling
 * and injected faults replay exactly in tests. Not for anything security-related.
 */
export function seededRandom(seed: number): RandomSource {
  let state =
    number('seededRandom(seed)', seed, 0, { integer: true, min: -(2 ** 31), max: 2 ** 32 - 1 }) >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}
