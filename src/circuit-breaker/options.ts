import { type Backoff, constant } from '../core/backoff.js';
import { CLASSIFY_KEYS, Classifier, type ClassifyOptions } from '../core/classify.js';
import type { Clock, RandomSource } from '../core/clock.js';
import {
  COMMON_KEYS,
  type CommonOptions,
  resolveClock,
  resolveName,
  resolveRandom,
} from '../core/common-options.js';
import { boolean, checkKeys, invalid, MAX_TIMER_MS, number, oneOf } from '../core/options.js';

export type WindowOptions =
  /** Opens after this many failures in a row. */
  | { kind: 'consecutive'; failures?: number }
  /** Judges the last `size` calls. */
  | { kind: 'count'; size?: number }
  /** Judges the calls of the last `durationMs`, kept in `buckets` buckets. */
  | { kind: 'time'; durationMs?: number; buckets?: number };

export interface HalfOpenOptions {
  /** Probe calls let through while half-open; further calls are rejected at once. Default 1. */
  maxCalls?: number;
  /** Successful probes needed to close. Default: all of them (`maxCalls`). */
  successThreshold?: number;
  /**
   * Alternative to `successThreshold`: the probes are judged as a window of `maxCalls` calls, and the
   * circuit reopens when their failure rate reaches this ratio in (0, 1].
   */
  failureRateThreshold?: number;
  /**
   * Longest time to stay half-open, ms: probes that never finish cannot keep the circuit half-open (and
   * rejecting every other call) for good. Default 30 000; Infinity waits for the probes forever.
   */
  maxDurationMs?: number;
  /** Where to go when `maxDurationMs` passes. Default 'open'. */
  afterMaxDuration?: 'open' | 'closed';
}

export interface CircuitBreakerOptions<R = unknown> extends CommonOptions, ClassifyOptions<R> {
  /** How outcomes are counted. Default `{ kind: 'count', size: 100 }`. */
  window?: WindowOptions;
  /** Opens when the failure rate of a rate window reaches this ratio in (0, 1]. Default 0.5. */
  failureRateThreshold?: number;
  /** Calls slower than this are slow calls (failed or not), ms. Default: none. */
  slowCallDurationMs?: number;
  /** Opens when the slow-call rate reaches this ratio in (0, 1]. Default 1 (only with `slowCallDurationMs`). */
  slowCallRateThreshold?: number;
  /** Calls a rate window needs before any rate is judged. Default 10. */
  minimumCalls?: number;
  /**
   * Count calls still running and already slower than `slowCallDurationMs` as slow calls when judging,
   * so a downstream that hangs (no call ever completes) still opens the circuit. Default false.
   */
  countInflightSlowCalls?: boolean;
  /** How long the circuit stays open, ms. Default 10 000. Give this or `breakBackoff`, not both. */
  breakDurationMs?: number;
  /**
   * The break as a Backoff of the number of consecutive opens (1 for the first open since the circuit
   * last closed), so the break grows while the downstream stays down and resets when it recovers.
   */
  breakBackoff?: Backoff;
  /** Upper bound of a break from `breakBackoff`, ms. Default 600 000 (10 min). */
  maxBreakDurationMs?: number;
  halfOpen?: HalfOpenOptions;
  /**
   * Move from open to half-open with a timer at the end of the break (emitting onHalfOpen then), instead
   * of lazily on the next call. The timer is unref'd. Default false.
   */
  halfOpenOnTimer?: boolean;
  /** Random source for jittered break backoffs. */
  random?: RandomSource;
}

export type ResolvedWindow =
  | { readonly kind: 'consecutive'; readonly failures: number }
  | { readonly kind: 'count'; readonly size: number }
  | { readonly kind: 'time'; readonly durationMs: number; readonly buckets: number };

export interface ResolvedCircuitBreakerOptions {
  readonly name: string;
  readonly window: ResolvedWindow;
  readonly failureRateThreshold: number;
  readonly slowCallDurationMs: number;
  readonly slowCallRateThreshold: number;
  readonly minimumCalls: number;
  readonly countInflightSlowCalls: boolean;
  readonly breakDuration: Backoff;
  readonly maxBreakDurationMs: number;
  readonly halfOpen: {
    readonly maxCalls: number;
    /** Successful probes that close the circuit. */
    readonly successThreshold: number;
    readonly maxDurationMs: number;
    readonly afterMaxDuration: 'open' | 'closed';
  };
  readonly halfOpenOnTimer: boolean;
  readonly classifier: Classifier;
  readonly clock: Clock;
  readonly random: RandomSource;
}

const KEYS = [
  ...COMMON_KEYS,
  ...CLASSIFY_KEYS,
  'window',
  'failureRateThreshold',
  'slowCallDurationMs',
  'slowCallRateThreshold',
  'minimumCalls',
  'countInflightSlowCalls',
  'breakDurationMs',
  'breakBackoff',
  'maxBreakDurationMs',
  'halfOpen',
  'halfOpenOnTimer',
  'random',
];
const RATIO = { min: 0, max: 1, exclusiveMin: true } as const;

function resolveWindow(input: WindowOptions | undefined): ResolvedWindow {
  const path = 'circuitBreaker.window';
  if (input === undefined) return { kind: 'count', size: 100 };
  if (typeof input !== 'object' || input === null) invalid(path, 'a window description', input);
  const kind = oneOf(`${path}.kind`, input.kind, 'count', ['consecutive', 'count', 'time'] as const);
  if (kind === 'consecutive') {
    checkKeys(path, input, ['kind', 'failures']);
    const failures = (input as { failures?: number }).failures;
    return { kind, failures: number(`${path}.failures`, failures, 5, { min: 1, integer: true }) };
  }
  if (kind === 'count') {
    checkKeys(path, input, ['kind', 'size']);
    const size = (input as { size?: number }).size;
    return { kind, size: number(`${path}.size`, size, 100, { min: 1, max: 1_000_000, integer: true }) };
  }
  checkKeys(path, input, ['kind', 'durationMs', 'buckets']);
  const { durationMs, buckets } = input as { durationMs?: number; buckets?: number };
  const resolved = {
    kind,
    durationMs: number(`${path}.durationMs`, durationMs, 60_000, { min: 1 }),
    buckets: number(`${path}.buckets`, buckets, 60, { min: 1, max: 10_000, integer: true }),
  };
  return resolved;
}

function resolveHalfOpen(input: HalfOpenOptions | undefined): ResolvedCircuitBreakerOptions['halfOpen'] {
  const path = 'circuitBreaker.halfOpen';
  checkKeys(path, input, [
    'maxCalls',
    'successThreshold',
    'failureRateThreshold',
    'maxDurationMs',
    'afterMaxDuration',
  ]);
  const maxCalls = number(`${path}.maxCalls`, input?.maxCalls, 1, { min: 1, max: 1_000_000, integer: true });
  if (input?.successThreshold !== undefined && input.failureRateThreshold !== undefined) {
    invalid(
      `${path}.failureRateThreshold`,
      'absent when successThreshold is given',
      input.failureRateThreshold,
    );
  }
  let successThreshold: number;
  if (input?.failureRateThreshold !== undefined) {
    const rate = number(`${path}.failureRateThreshold`, input.failureRateThreshold, 1, RATIO);
    // Reopen once failures reach rate·maxCalls; close once that can no longer happen.
    const failuresToOpen = Math.max(1, Math.ceil(rate * maxCalls));
    successThreshold = maxCalls - failuresToOpen + 1;
  } else {
    successThreshold = number(`${path}.successThreshold`, input?.successThreshold, maxCalls, {
      min: 1,
      max: maxCalls,
      integer: true,
    });
  }
  return {
    maxCalls,
    successThreshold,
    maxDurationMs: number(`${path}.maxDurationMs`, input?.maxDurationMs, DEFAULT_HALF_OPEN_MAX_DURATION_MS, {
      min: 0,
      exclusiveMin: true,
      infinite: true,
    }),
    afterMaxDuration: oneOf(`${path}.afterMaxDuration`, input?.afterMaxDuration, 'open', [
      'open',
      'closed',
    ] as const),
  };
}

/** How long half-open waits for its probes unless told otherwise. */
const DEFAULT_HALF_OPEN_MAX_DURATION_MS = 30_000;

/** The break when none is configured, and when a custom break backoff throws or returns no number. */
export const DEFAULT_BREAK_MS = 10_000;

/** The break: a constant `breakDurationMs`, or `breakBackoff`; one option, one meaning each. */
function resolveBreak(ms: unknown, backoff: unknown): Backoff {
  if (backoff !== undefined) {
    if (ms !== undefined)
      invalid('circuitBreaker.breakBackoff', 'absent when breakDurationMs is given', backoff);
    if (typeof backoff !== 'object' || backoff === null || typeof (backoff as Backoff).delay !== 'function') {
      invalid('circuitBreaker.breakBackoff', 'a Backoff (exponential(), linear(), ...)', backoff);
    }
    return backoff as Backoff;
  }
  return constant(
    number('circuitBreaker.breakDurationMs', ms, DEFAULT_BREAK_MS, {
      min: 0,
      max: MAX_TIMER_MS,
      exclusiveMin: true,
    }),
  );
}

export function resolveCircuitBreakerOptions<R>(
  options: CircuitBreakerOptions<R> = {},
): ResolvedCircuitBreakerOptions {
  checkKeys('circuitBreaker', options, KEYS);
  const window = resolveWindow(options.window);
  const slowCallDurationMs = number(
    'circuitBreaker.slowCallDurationMs',
    options.slowCallDurationMs,
    Number.POSITIVE_INFINITY,
    {
      min: 0,
      exclusiveMin: true,
      infinite: true,
    },
  );
  if (window.kind === 'consecutive') {
    for (const key of ['failureRateThreshold', 'slowCallRateThreshold', 'minimumCalls'] as const) {
      if (options[key] !== undefined)
        invalid(
          `circuitBreaker.${key}`,
          'absent with a consecutive window (it judges no rate)',
          options[key],
        );
    }
  }
  // A count window can never hold more calls than its size: a larger minimum would never judge.
  const maxCalls = window.kind === 'count' ? window.size : Number.MAX_SAFE_INTEGER;
  const countInflightSlowCalls = boolean(
    'circuitBreaker.countInflightSlowCalls',
    options.countInflightSlowCalls,
    false,
  );
  if (countInflightSlowCalls && slowCallDurationMs === Number.POSITIVE_INFINITY) {
    invalid('circuitBreaker.slowCallDurationMs', 'set when countInflightSlowCalls is true', undefined);
  }
  const name = resolveName('circuitBreaker', options.name, 'circuitBreaker');
  return Object.freeze({
    name,
    window,
    failureRateThreshold: number(
      'circuitBreaker.failureRateThreshold',
      options.failureRateThreshold,
      0.5,
      RATIO,
    ),
    slowCallDurationMs,
    slowCallRateThreshold: number(
      'circuitBreaker.slowCallRateThreshold',
      options.slowCallRateThreshold,
      1,
      RATIO,
    ),
    minimumCalls: number('circuitBreaker.minimumCalls', options.minimumCalls, Math.min(10, maxCalls), {
      min: 1,
      max: maxCalls,
      integer: true,
    }),
    countInflightSlowCalls,
    breakDuration: resolveBreak(options.breakDurationMs, options.breakBackoff),
    maxBreakDurationMs: number('circuitBreaker.maxBreakDurationMs', options.maxBreakDurationMs, 600_000, {
      min: 1,
      max: MAX_TIMER_MS,
    }),
    halfOpen: resolveHalfOpen(options.halfOpen),
    halfOpenOnTimer: boolean('circuitBreaker.halfOpenOnTimer', options.halfOpenOnTimer, false),
    // Rejections of inner policies (a full bulkhead inside the breaker) are our own load shedding, not
    // the downstream failing: ignored by default.
    classifier: new Classifier(name, 'circuitBreaker', options as ClassifyOptions<never>, {
      ignoreRejections: true,
    }),
    clock: resolveClock('circuitBreaker', options.clock),
    random: resolveRandom('circuitBreaker', options.random),
  });
}
