import { CLASSIFY_KEYS, Classifier, type ClassifyOptions } from '../core/classify.js';
import type { Clock } from '../core/clock.js';
import { COMMON_KEYS, type CommonOptions, resolveClock, resolveName } from '../core/common-options.js';
import { checkKeys, invalid, number, oneOf, string } from '../core/options.js';

export interface BurnRateAlert {
  /** Names the alert in events and snapshots. Default `<long>/<short>`, e.g. `1h/5m`. */
  name?: string;
  longWindowMs: number;
  shortWindowMs: number;
  /** Fires while both windows burn the error budget at least this many times faster than allowed. */
  burnRate: number;
  severity?: 'page' | 'ticket';
}

export interface SloOptions<R = unknown> extends CommonOptions, ClassifyOptions<R> {
  /** Fraction of calls that must succeed over the window, in (0, 1), e.g. 0.999. */
  availability?: number;
  /** Fraction `target` of successful calls must take at most `thresholdMs`. */
  latency?: { thresholdMs: number; target: number };
  /** Window the error budget is measured over, ms. Default 30 days. */
  windowMs?: number;
  /** Bucket size of the record burn rates are computed from, ms. Default 60 000. */
  resolutionMs?: number;
  /** Burn-rate alerts; default: the SRE workbook's multiwindow, multi-burn-rate set for a 30-day window. */
  alerts?: readonly BurnRateAlert[];
}

export interface ResolvedAlert {
  readonly name: string;
  readonly longWindowMs: number;
  readonly shortWindowMs: number;
  readonly burnRate: number;
  readonly severity: 'page' | 'ticket';
}

export interface ResolvedSloOptions {
  readonly name: string;
  readonly availability: number | undefined;
  readonly latency: { readonly thresholdMs: number; readonly target: number } | undefined;
  readonly windowMs: number;
  readonly resolutionMs: number;
  readonly alerts: readonly ResolvedAlert[];
  readonly classifier: Classifier;
  readonly clock: Clock;
}

const HOUR = 3_600_000;
const MINUTE = 60_000;
const DAY = 24 * HOUR;

/** SRE workbook, "Alerting on SLOs", multiwindow multi-burn-rate alerts for a 30-day SLO. */
export const DEFAULT_ALERTS: readonly BurnRateAlert[] = Object.freeze([
  { longWindowMs: HOUR, shortWindowMs: 5 * MINUTE, burnRate: 14.4, severity: 'page' },
  { longWindowMs: 6 * HOUR, shortWindowMs: 30 * MINUTE, burnRate: 6, severity: 'page' },
  { longWindowMs: DAY, shortWindowMs: 2 * HOUR, burnRate: 3, severity: 'ticket' },
  { longWindowMs: 3 * DAY, shortWindowMs: 6 * HOUR, burnRate: 1, severity: 'ticket' },
]);

/**
 * The default alerts keep their meaning (the share of the error budget burnt in each long window: 2%,
 * 5%, 10%, 10%) for any SLO window, by scaling their windows with it.
 */
function scaledDefaults(windowMs: number, resolutionMs: number): readonly BurnRateAlert[] {
  if (windowMs === 30 * DAY) return DEFAULT_ALERTS;
  const scale = windowMs / (30 * DAY);
  const at = (ms: number) => Math.max(resolutionMs, Math.round((ms * scale) / resolutionMs) * resolutionMs);
  return DEFAULT_ALERTS.map((a) => ({
    ...a,
    name: `${shortDuration(a.longWindowMs)}/${shortDuration(a.shortWindowMs)} scaled`,
    longWindowMs: Math.min(windowMs, at(a.longWindowMs)),
    shortWindowMs: Math.min(windowMs, at(a.shortWindowMs)),
  }));
}

const KEYS = [
  ...COMMON_KEYS,
  ...CLASSIFY_KEYS,
  'availability',
  'latency',
  'windowMs',
  'resolutionMs',
  'alerts',
];
const TARGET = { min: 0, max: 1, exclusiveMin: true, exclusiveMax: true } as const;

/** 3600000 -> "1h", 300000 -> "5m", 1500 -> "1500ms". */
export function shortDuration(ms: number): string {
  for (const [unit, size] of [
    ['d', DAY],
    ['h', HOUR],
    ['m', MINUTE],
    ['s', 1000],
  ] as const) {
    if (ms >= size && ms % size === 0) return `${ms / size}${unit}`;
  }
  return `${ms}ms`;
}

export function resolveSloOptions<R>(options: SloOptions<R>): ResolvedSloOptions {
  const p = 'slo';
  checkKeys(p, options, KEYS);
  const availability =
    options?.availability === undefined
      ? undefined
      : number(`${p}.availability`, options.availability, 0, TARGET);
  let latency: ResolvedSloOptions['latency'];
  if (options?.latency !== undefined) {
    checkKeys(`${p}.latency`, options.latency, ['thresholdMs', 'target']);
    latency = Object.freeze({
      thresholdMs: number(`${p}.latency.thresholdMs`, options.latency.thresholdMs, Number.NaN, {
        min: 0,
        exclusiveMin: true,
      }),
      target: number(`${p}.latency.target`, options.latency.target, Number.NaN, TARGET),
    });
    if (Number.isNaN(latency.thresholdMs)) invalid(`${p}.latency.thresholdMs`, 'a number of ms', undefined);
    if (Number.isNaN(latency.target)) invalid(`${p}.latency.target`, 'a ratio in (0, 1)', undefined);
  }
  if (availability === undefined && latency === undefined) {
    invalid(`${p}.availability`, 'set (or latency set): an SLO needs at least one objective', undefined);
  }
  const windowMs = number(`${p}.windowMs`, options.windowMs, 30 * DAY, { min: 1 });
  const resolutionMs = number(`${p}.resolutionMs`, options.resolutionMs, MINUTE, { min: 1 });
  if (resolutionMs > windowMs)
    invalid(`${p}.resolutionMs`, `at most windowMs (${windowMs})`, resolutionMs, 'range');
  const rawAlerts = options.alerts ?? scaledDefaults(windowMs, resolutionMs);
  if (!Array.isArray(rawAlerts)) invalid(`${p}.alerts`, 'an array of burn-rate alerts', rawAlerts);
  const alerts = rawAlerts.map((a: BurnRateAlert, i: number) => {
    const ap = `${p}.alerts[${i}]`;
    checkKeys(ap, a, ['name', 'longWindowMs', 'shortWindowMs', 'burnRate', 'severity']);
    const longWindowMs = number(`${ap}.longWindowMs`, a.longWindowMs, Number.NaN, {
      min: resolutionMs,
      max: windowMs,
    });
    const shortWindowMs = number(`${ap}.shortWindowMs`, a.shortWindowMs, Number.NaN, {
      min: resolutionMs,
      max: longWindowMs,
    });
    if (Number.isNaN(longWindowMs) || Number.isNaN(shortWindowMs))
      invalid(`${ap}`, 'long and short windows', a);
    return Object.freeze({
      name: string(`${ap}.name`, a.name, `${shortDuration(longWindowMs)}/${shortDuration(shortWindowMs)}`),
      longWindowMs,
      shortWindowMs,
      burnRate: number(`${ap}.burnRate`, a.burnRate, Number.NaN, { min: 0, exclusiveMin: true }),
      severity: oneOf(`${ap}.severity`, a.severity, 'page', ['page', 'ticket'] as const),
    });
  });
  const name = resolveName(p, options.name, 'slo');
  return Object.freeze({
    name,
    availability,
    latency,
    windowMs,
    resolutionMs,
    alerts: Object.freeze(alerts),
    classifier: new Classifier(name, p, options as ClassifyOptions<never>, {}),
    clock: resolveClock(p, options.clock),
  });
}
