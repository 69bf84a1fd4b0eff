// The two rate bounds the limiters promise, checked over every pair of granted permits. Plain loops that
// collect violations: an `expect` per pair would dominate the property tests' run time.

/** Float slack for sums of refills (a third of a permit added three times). */
const EPS = 1e-6;

/**
 * Token bucket: in any window [t_i, t_j], at most `ratePerMs * (t_j - t_i) + burst` permits. `times`
 * are the grant times in order; returns the windows that hold too many.
 */
export function windowExcess(times: readonly number[], ratePerMs: number, burst: number): string[] {
  const out: string[] = [];
  for (let i = 0; i < times.length; i++) {
    for (let j = i; j < times.length; j++) {
      const allowed = ratePerMs * (times[j]! - times[i]!) + burst + EPS;
      if (j - i + 1 > allowed)
        out.push(`${j - i + 1} permits in [${times[i]}, ${times[j]}], allowed ${allowed}`);
    }
  }
  return out;
}

/** Smooth (GCRA): permits i < j at least `(j - i) * intervalMs - toleranceMs` apart. */
export function spacingViolations(
  times: readonly number[],
  intervalMs: number,
  toleranceMs: number,
): string[] {
  const out: string[] = [];
  for (let i = 0; i < times.length; i++) {
    for (let j = i + 1; j < times.length; j++) {
      const min = (j - i) * intervalMs - toleranceMs - EPS;
      if (times[j]! - times[i]! < min)
        out.push(`permits ${i} and ${j} only ${times[j]! - times[i]!} ms apart`);
    }
  }
  return out;
}
