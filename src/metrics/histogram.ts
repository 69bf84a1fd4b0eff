import { type Clock, systemClock } from '../core/clock.js';
import { checkKeys, invalid, number } from '../core/options.js';

// Latency percentiles for exporters, the adaptive timeout, hedging and the dashboard.
//
// Layout (log-linear, like HdrHistogram): a value v in ms is scaled to s = v / lowestDiscernibleMs, so
// s >= 1. Octave e = floor(log2 s) holds the range [2^e, 2^(e+1)), split into M = 2^k linear sub-buckets
// of width 2^e / M. Bucket index = e * M + floor(s * M / 2^e) - M. A query returns the midpoint of the
// bucket holding the nearest-rank value, clamped to [min, max]; the midpoint is at most half a width
// (2^e / 2M) from any value in the bucket, and every value there is >= 2^e, so the relative error is at
// most 1 / (2M). M is the smallest power of two with 1 / (2M) <= maxRelativeError.

export interface LatencyHistogramOptions {
  /** Smallest value told apart from zero, ms; smaller values (0 included) count as this. Default 0.001 (1 us). */
  lowestDiscernibleMs?: number;
  /** Largest value tracked, ms; larger values count as this. Default 3 600 000 (1 h). */
  highestTrackableMs?: number;
  /**
   * Worst relative error wanted for percentiles, a ratio in [0.00001, 0.5]. The histogram rounds it down
   * to 1 / (2M) for a power of two M (see `relativeError`). Default 0.02, giving 1/64 = 1.5625 %.
   */
  maxRelativeError?: number;
}

export interface RollingHistogramOptions extends LatencyHistogramOptions {
  /** Length of the window, ms. Default 60 000. */
  windowMs?: number;
  /** Sub-histograms the window is split into; the oldest is dropped as time moves on. Default 6. */
  buckets?: number;
  /** Time source; only `now()` is read, no timer is ever set. Default: the system clock. */
  clock?: Pick<Clock, 'now'>;
}

/** What a histogram answers; `RollingHistogram.merged()` hands out this view of its merged window. */
export interface HistogramReader {
  /** Values recorded (clamped ones included, NaN excluded). */
  readonly count: number;
  /** Smallest recorded value after clamping, exact; NaN when empty. */
  readonly min: number;
  /** Largest recorded value after clamping, exact; NaN when empty. */
  readonly max: number;
  /** Mean of the recorded values after clamping, exact up to float rounding; NaN when empty. */
  readonly mean: number;
  /** Values below `lowestDiscernibleMs` (zero and negatives included), recorded as that value. */
  readonly underflowCount: number;
  /** Values above `highestTrackableMs` (Infinity included), recorded as that value. */
  readonly overflowCount: number;
  /** The nearest-rank p-th percentile (p in [0, 100]) within `relativeError`; NaN when empty. */
  valueAtPercentile(p: number): number;
  /** Several percentiles, written into `out` (default: a new array) and returned; nothing else allocates. */
  percentiles(ps: readonly number[], out?: number[]): number[];
}

const HISTOGRAM_KEYS = ['lowestDiscernibleMs', 'highestTrackableMs', 'maxRelativeError'] as const;
const ROLLING_KEYS = [...HISTOGRAM_KEYS, 'windowMs', 'buckets', 'clock'] as const;

const DEFAULT_LOWEST_MS = 0.001;
const DEFAULT_HIGHEST_MS = 3_600_000;
const DEFAULT_MAX_RELATIVE_ERROR = 0.02;
const DEFAULT_WINDOW_MS = 60_000;
const DEFAULT_BUCKETS = 6;
// 8 MiB of counts per histogram: beyond that a setting is surely a unit mistake.
const MAX_BUCKETS = 2 ** 20;
// Octaves are found with Math.clz32 on at most two 32-bit halves, so the scaled range stays below 2^64.
const MAX_OCTAVES = 64;
const TWO_POW_32 = 4_294_967_296;
// INV_POW2[e] = 2^-e: scaling by it is exact, so a value's position within its octave is too.
const INV_POW2 = new Float64Array(MAX_OCTAVES);
for (let e = 0; e < MAX_OCTAVES; e++) INV_POW2[e] = 2 ** -e;
// p / 100 * n lands an ulp above an integer for e.g. p = 99.9, n = 1000; shrink it so the rank is 999,
// as decimal arithmetic says.
const RANK_TOLERANCE = 1 - 1e-12;

/** floor(log2 s) for s in [1, 2^64), exact (no Math.log2 rounding near powers of two). */
function octaveOf(s: number): number {
  // ToUint32 truncates, and floor(log2 floor(s)) = floor(log2 s) for s >= 1.
  return s < TWO_POW_32 ? 31 - Math.clz32(s) : 63 - Math.clz32(s / TWO_POW_32);
}

/** Nearest rank (1-based) of the p-th percentile of n values: ceil(p / 100 * n), at least 1. */
export function nearestRank(p: number, n: number): number {
  const rank = Math.ceil((p / 100) * n * RANK_TOLERANCE);
  return rank < 1 ? 1 : rank;
}

function checkPercentile(p: number): void {
  if (!(p >= 0 && p <= 100))
    throw new RangeError(`breakwater: a percentile must be in [0, 100], received ${p}`);
}

interface Layout {
  readonly lowestMs: number;
  readonly highestMs: number;
  /** log2 of sub-buckets per octave. */
  readonly subBits: number;
  readonly octaves: number;
}

function resolveLayout(path: string, options: LatencyHistogramOptions): Layout {
  const lowestMs = number(`${path}.lowestDiscernibleMs`, options.lowestDiscernibleMs, DEFAULT_LOWEST_MS, {
    min: 0,
    exclusiveMin: true,
  });
  const highestMs = number(`${path}.highestTrackableMs`, options.highestTrackableMs, DEFAULT_HIGHEST_MS, {
    min: 0,
    exclusiveMin: true,
  });
  const ratio = highestMs / lowestMs;
  if (!(ratio >= 2 && ratio < 2 ** MAX_OCTAVES)) {
    invalid(
      `${path}.highestTrackableMs`,
      `at least 2 and less than 2^64 times lowestDiscernibleMs (${lowestMs})`,
      highestMs,
      'range',
    );
  }
  const maxError = number(`${path}.maxRelativeError`, options.maxRelativeError, DEFAULT_MAX_RELATIVE_ERROR, {
    min: 0.00001,
    max: 0.5,
  });
  // Smallest power of two M with 1 / (2M) <= maxError; the epsilon keeps 1/64 from becoming 128.
  const subBits = Math.max(0, Math.ceil(Math.log2(1 / (2 * maxError)) - 1e-9));
  const octaves = octaveOf(ratio) + 1;
  if (octaves * 2 ** subBits > MAX_BUCKETS) {
    invalid(
      `${path}.maxRelativeError`,
      `large enough that [lowestDiscernibleMs, highestTrackableMs] needs at most ${MAX_BUCKETS} buckets (${octaves} octaves of ${2 ** subBits})`,
      maxError,
      'range',
    );
  }
  return { lowestMs, highestMs, subBits, octaves };
}

/**
 * Log-linear latency histogram with a fixed layout and bounded memory (8 bytes per bucket; 8 KiB with
 * the defaults). `record` is O(1) and allocates nothing; queries scan the buckets between min and max.
 * Internal: policies and exporters build on it.
 */
export class LatencyHistogram implements HistogramReader {
  readonly lowestDiscernibleMs: number;
  readonly highestTrackableMs: number;
  /** Percentiles are within this ratio of the exact nearest-rank value (for values in range): 1 / (2M). */
  readonly relativeError: number;
  readonly bucketCount: number;

  readonly #subBits: number;
  readonly #subCount: number;
  // Float64 counts stay exact up to 2^53: a cumulative histogram never wraps, as 2^32 would within
  // hours at a million calls per second.
  readonly #counts: Float64Array;
  #count = 0;
  #sum = 0;
  #min = Number.POSITIVE_INFINITY;
  #max = Number.NEGATIVE_INFINITY;
  #underflow = 0;
  #overflow = 0;

  constructor(options: LatencyHistogramOptions = {}, path = 'histogram') {
    checkKeys(path, options, HISTOGRAM_KEYS);
    const layout = resolveLayout(path, options);
    this.lowestDiscernibleMs = layout.lowestMs;
    this.highestTrackableMs = layout.highestMs;
    this.#subBits = layout.subBits;
    this.#subCount = 2 ** layout.subBits;
    this.relativeError = 1 / (2 * this.#subCount);
    this.bucketCount = layout.octaves * this.#subCount;
    this.#counts = new Float64Array(this.bucketCount);
  }

  /** Bytes held by the bucket counts. */
  get memoryBytes(): number {
    return this.#counts.byteLength;
  }

  /** Records one latency in ms. NaN is ignored; out-of-range values are clamped and counted. */
  record(ms: number): void {
    let v = ms;
    if (!(v >= this.lowestDiscernibleMs)) {
      if (Number.isNaN(v)) return;
      v = this.lowestDiscernibleMs;
      this.#underflow++;
    } else if (v > this.highestTrackableMs) {
      v = this.highestTrackableMs;
      this.#overflow++;
    }
    this.#counts[this.#indexOf(v)]! += 1;
    this.#count++;
    this.#sum += v;
    if (v < this.#min) this.#min = v;
    if (v > this.#max) this.#max = v;
  }

  /** Bucket of a value already clamped to [lowest, highest]. */
  #indexOf(v: number): number {
    // Division, not a multiplication by 1 / lowest: lowest / lowest is exactly 1, so s >= 1.
    const s = v / this.lowestDiscernibleMs;
    const e = octaveOf(s);
    // s * 2^-e * M is exact and lies in [M, 2M) < 2^31, so `| 0` is floor.
    return ((s * INV_POW2[e]! * this.#subCount) | 0) + ((e - 1) << this.#subBits);
  }

  /** Midpoint of a bucket, ms. */
  #midpointOf(index: number): number {
    const e = index >>> this.#subBits;
    const j = index & (this.#subCount - 1);
    return (this.#subCount + j + 0.5) * 2 ** (e - this.#subBits) * this.lowestDiscernibleMs;
  }

  get count(): number {
    return this.#count;
  }

  get min(): number {
    return this.#count === 0 ? Number.NaN : this.#min;
  }

  get max(): number {
    return this.#count === 0 ? Number.NaN : this.#max;
  }

  get mean(): number {
    return this.#count === 0 ? Number.NaN : this.#sum / this.#count;
  }

  get underflowCount(): number {
    return this.#underflow;
  }

  get overflowCount(): number {
    return this.#overflow;
  }

  valueAtPercentile(p: number): number {
    checkPercentile(p);
    if (this.#count === 0) return Number.NaN;
    const rank = nearestRank(p, this.#count);
    return this.#valueAtRank(rank);
  }

  percentiles(ps: readonly number[], out: number[] = []): number[] {
    for (let k = 0; k < ps.length; k++) checkPercentile(ps[k]!);
    out.length = ps.length;
    for (let k = 0; k < ps.length; k++) {
      out[k] = this.#count === 0 ? Number.NaN : this.#valueAtRank(nearestRank(ps[k]!, this.#count));
    }
    return out;
  }

  /**
   * Scans from the nearer end of [min, max] (every count lies there: the index is monotonic), so p99
   * and p99.9 touch a few buckets instead of all of them.
   */
  #valueAtRank(rank: number): number {
    const counts = this.#counts;
    let i: number;
    if (rank <= this.#count / 2) {
      i = this.#indexOf(this.#min);
      let atOrBelow = counts[i]!;
      while (atOrBelow < rank) atOrBelow += counts[++i]!;
    } else {
      // Stop at the first bucket (going down) with more than count - rank values at or above it.
      const allowed = this.#count - rank;
      i = this.#indexOf(this.#max);
      let atOrAbove = counts[i]!;
      while (atOrAbove <= allowed) atOrAbove += counts[--i]!;
    }
    return this.#representative(i, rank);
  }

  /**
   * The value reported for a rank found in bucket `index`: ranks 1 and n are min and max, known exactly;
   * otherwise the bucket midpoint moved into [min, max], which only brings it closer to the exact value.
   */
  #representative(index: number, rank: number): number {
    if (rank === 1) return this.#min;
    if (rank >= this.#count) return this.#max;
    const mid = this.#midpointOf(index);
    return mid < this.#min ? this.#min : mid > this.#max ? this.#max : mid;
  }

  /** Empties the histogram; only the buckets between min and max are touched. */
  reset(): void {
    if (this.#count === 0) return;
    this.#counts.fill(0, this.#indexOf(this.#min), this.#indexOf(this.#max) + 1);
    this.#count = 0;
    this.#sum = 0;
    this.#min = Number.POSITIVE_INFINITY;
    this.#max = Number.NEGATIVE_INFINITY;
    this.#underflow = 0;
    this.#overflow = 0;
  }

  /** Adds every value of `other`, which must have the same layout. */
  add(other: LatencyHistogram): void {
    if (
      other.bucketCount !== this.bucketCount ||
      other.#subBits !== this.#subBits ||
      other.lowestDiscernibleMs !== this.lowestDiscernibleMs ||
      other.highestTrackableMs !== this.highestTrackableMs
    ) {
      throw new RangeError('breakwater: cannot add histograms with different layouts');
    }
    if (other.#count === 0) return;
    const from = other.#counts;
    const to = this.#counts;
    const last = other.#indexOf(other.#max);
    for (let i = other.#indexOf(other.#min); i <= last; i++) to[i]! += from[i]!;
    this.#count += other.#count;
    this.#sum += other.#sum;
    if (other.#min < this.#min) this.#min = other.#min;
    if (other.#max > this.#max) this.#max = other.#max;
    this.#underflow += other.#underflow;
    this.#overflow += other.#overflow;
  }
}

/**
 * Latency over the last `windowMs`: a ring of `buckets` histograms, each covering a slot of
 * windowMs / buckets of clock time. Rotation is lazy (no timer): every record and query first drops the
 * sub-histograms that left the window, all of them after an idle gap. A value recorded at time r is
 * reported at time t while floor(t / slot) - floor(r / slot) < buckets: never once t - r >= windowMs,
 * always while t - r < windowMs - slot. Memory: buckets + 1 histograms (the extra one merges queries),
 * fixed at construction: 56 KiB of counts with the defaults.
 *
 * A query after new records re-merges the ring, O(buckets x bucketCount): callers on a hot path should
 * cache a percentile and refresh it periodically rather than query per call.
 */
export class RollingHistogram {
  readonly windowMs: number;
  readonly buckets: number;
  readonly #slotMs: number;
  readonly #clock: Pick<Clock, 'now'>;
  readonly #ring: LatencyHistogram[];
  // Queries merge the live ring into this one; it is rebuilt only after a record or a rotation.
  readonly #merged: LatencyHistogram;
  #stale = false;
  #position = 0;
  #current: LatencyHistogram;
  #epoch: number;
  #nextRotationAt: number;

  constructor(options: RollingHistogramOptions = {}, path = 'rollingHistogram') {
    checkKeys(path, options, ROLLING_KEYS);
    // Below 1 ms a window means nothing for latency, and slots must stay far above float resolution.
    this.windowMs = number(`${path}.windowMs`, options.windowMs, DEFAULT_WINDOW_MS, { min: 1 });
    this.buckets = number(`${path}.buckets`, options.buckets, DEFAULT_BUCKETS, {
      min: 1,
      max: 1_000,
      integer: true,
    });
    const clock = options.clock === undefined ? systemClock : options.clock;
    if (typeof clock !== 'object' || clock === null || typeof clock.now !== 'function') {
      invalid(`${path}.clock`, 'a Clock (an object with now())', clock);
    }
    this.#clock = clock;
    this.#slotMs = this.windowMs / this.buckets;
    const layout: LatencyHistogramOptions = {};
    if (options.lowestDiscernibleMs !== undefined) layout.lowestDiscernibleMs = options.lowestDiscernibleMs;
    if (options.highestTrackableMs !== undefined) layout.highestTrackableMs = options.highestTrackableMs;
    if (options.maxRelativeError !== undefined) layout.maxRelativeError = options.maxRelativeError;
    this.#merged = new LatencyHistogram(layout, path);
    this.#ring = [];
    for (let i = 0; i < this.buckets; i++) this.#ring.push(new LatencyHistogram(layout, path));
    this.#current = this.#ring[0]!;
    this.#epoch = Math.floor(this.#clock.now() / this.#slotMs);
    this.#nextRotationAt = (this.#epoch + 1) * this.#slotMs;
  }

  get relativeError(): number {
    return this.#merged.relativeError;
  }

  /** Bytes held by the bucket counts of the ring and the merge buffer. */
  get memoryBytes(): number {
    return this.#merged.memoryBytes * (this.buckets + 1);
  }

  /**
   * Records one latency in ms. Pass `now` when the caller already read the clock (it usually has, to
   * measure the latency): it saves a second read.
   */
  record(ms: number, now: number = this.#clock.now()): void {
    if (now >= this.#nextRotationAt) this.#rotate(now);
    this.#current.record(ms);
    this.#stale = true;
  }

  /** Drops the sub-histograms that left the window; a gap longer than the window clears them all. */
  #rotate(now: number): void {
    const epoch = Math.floor(now / this.#slotMs);
    const steps = epoch - this.#epoch;
    // A clock that went back (or NaN) keeps the current slot.
    if (!(steps > 0)) return;
    const ring = this.#ring;
    const clear = steps < ring.length ? steps : ring.length;
    for (let k = 0; k < clear; k++) {
      this.#position = this.#position + 1 === ring.length ? 0 : this.#position + 1;
      const h = ring[this.#position]!;
      if (h.count !== 0) {
        h.reset();
        this.#stale = true;
      }
    }
    this.#current = ring[this.#position]!;
    this.#epoch = epoch;
    this.#nextRotationAt = (epoch + 1) * this.#slotMs;
  }

  /**
   * The live window merged into one histogram. It is a shared buffer, valid until the next call on this
   * RollingHistogram: read it, do not keep it.
   */
  merged(): HistogramReader {
    const now = this.#clock.now();
    if (now >= this.#nextRotationAt) this.#rotate(now);
    if (this.#stale) {
      const merged = this.#merged;
      merged.reset();
      for (const h of this.#ring) merged.add(h);
      this.#stale = false;
    }
    return this.#merged;
  }

  get count(): number {
    const now = this.#clock.now();
    if (now >= this.#nextRotationAt) this.#rotate(now);
    let n = 0;
    for (const h of this.#ring) n += h.count;
    return n;
  }

  get min(): number {
    return this.merged().min;
  }

  get max(): number {
    return this.merged().max;
  }

  get mean(): number {
    return this.merged().mean;
  }

  valueAtPercentile(p: number): number {
    return this.merged().valueAtPercentile(p);
  }

  percentiles(ps: readonly number[], out?: number[]): number[] {
    return this.merged().percentiles(ps, out);
  }

  /** Forgets everything recorded. */
  reset(): void {
    for (const h of this.#ring) h.reset();
    this.#merged.reset();
    this.#stale = false;
  }
}
