import { MAX_TIMER_MS } from '../../extend.js';

// Retry-After (RFC 9110 §10.2.3) is delay-seconds or an HTTP-date (§5.6.7) in one of three forms, all
// in GMT. Parsed by hand: Date.parse reads the asctime form, which names no zone, as local time.

/** The longest wait a Retry-After can ask for, ms: the longest a timer can wait. Larger values are clamped. */
export const MAX_RETRY_AFTER_MS = MAX_TIMER_MS;

const MONTHS = ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec'];
const MONTH = `(${MONTHS.join('|')})`;
const DAY = '(?:mon|tue|wed|thu|fri|sat|sun)';
const LONG_DAY = '(?:monday|tuesday|wednesday|thursday|friday|saturday|sunday)';
const TIME = '(\\d\\d):(\\d\\d):(\\d\\d)';

const DELAY_SECONDS = /^\d+$/;
/** `Sun, 06 Nov 1994 08:49:37 GMT` */
const IMF_FIXDATE = new RegExp(`^${DAY}, (\\d\\d) ${MONTH} (\\d{4}) ${TIME} GMT$`, 'i');
/** `Sunday, 06-Nov-94 08:49:37 GMT` */
const RFC850_DATE = new RegExp(`^${LONG_DAY}, (\\d\\d)-${MONTH}-(\\d\\d) ${TIME} GMT$`, 'i');
/** `Sun Nov  6 08:49:37 1994` (the day is space-padded; one space is tolerated) */
const ASCTIME_DATE = new RegExp(`^${DAY} ${MONTH} {1,2}(\\d{1,2}) ${TIME} (\\d{4})$`, 'i');

/**
 * Parses a `Retry-After` value: delay-seconds (`120`) or an HTTP-date in any of its three forms,
 * relative to `nowMs` (wall-clock epoch ms, as the date is). Returns ms, never negative (a date in the
 * past means now), at most MAX_RETRY_AFTER_MS; undefined for anything else (`-5`, `1.5`, `soon`).
 */
export function parseRetryAfter(value: string | null | undefined, nowMs: number): number | undefined {
  if (typeof value !== 'string') return undefined;
  const text = value.trim();
  if (DELAY_SECONDS.test(text)) return Math.min(Number(text) * 1000, MAX_RETRY_AFTER_MS);
  const at = parseHttpDate(text, nowMs);
  if (at === undefined || !Number.isFinite(nowMs)) return undefined;
  return Math.min(Math.max(0, at - nowMs), MAX_RETRY_AFTER_MS);
}

/** Epoch ms of an HTTP-date, or undefined. `nowMs` resolves the two-digit year of the RFC 850 form. */
function parseHttpDate(text: string, nowMs: number): number | undefined {
  let m = IMF_FIXDATE.exec(text);
  if (m !== null) return utc(+m[3]!, m[2]!, +m[1]!, m[4]!, m[5]!, m[6]!);
  m = ASCTIME_DATE.exec(text);
  if (m !== null) return utc(+m[6]!, m[1]!, +m[2]!, m[3]!, m[4]!, m[5]!);
  m = RFC850_DATE.exec(text);
  if (m !== null) return utc(fullYear(+m[3]!, nowMs), m[2]!, +m[1]!, m[4]!, m[5]!, m[6]!);
  return undefined;
}

/** RFC 9110: a two-digit year more than 50 years ahead is the most recent past year with those digits. */
function fullYear(yy: number, nowMs: number): number {
  const current = Number.isFinite(nowMs) ? new Date(nowMs).getUTCFullYear() : 2000;
  const year = current - (current % 100) + yy;
  return year > current + 50 ? year - 100 : year;
}

function utc(
  year: number,
  month: string,
  day: number,
  h: string,
  min: string,
  s: string,
): number | undefined {
  const mon = MONTHS.indexOf(month.toLowerCase());
  const hour = +h;
  const minute = +min;
  const second = +s;
  // Second 60 is a leap second.
  if (hour > 23 || minute > 59 || second > 60 || day < 1) return undefined;
  const date = new Date(0);
  // setUTCFullYear, unlike Date.UTC, does not read years 0-99 as 1900-1999.
  date.setUTCFullYear(year, mon, day);
  if (date.getUTCDate() !== day) return undefined; // 31 Feb and the like roll over into the next month
  date.setUTCHours(hour, minute, second);
  return date.getTime();
}
