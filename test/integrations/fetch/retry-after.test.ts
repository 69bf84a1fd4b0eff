import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { parseRetryAfter } from '../../../src/integrations/fetch/index.js';

const MAX_TIMER_MS = 2 ** 31 - 1;
// 7 s before the date every example of RFC 9110 §5.6.7 names.
const now = Date.UTC(1994, 10, 6, 8, 49, 30);
const IMF = 'Sun, 06 Nov 1994 08:49:37 GMT';
const RFC850 = 'Sunday, 06-Nov-94 08:49:37 GMT';
const ASCTIME = 'Sun Nov  6 08:49:37 1994';

describe('parseRetryAfter', () => {
  it('reads the three HTTP-date forms as the same instant, in UTC', () => {
    expect(parseRetryAfter(IMF, now)).toBe(7_000);
    expect(parseRetryAfter(RFC850, now)).toBe(7_000);
    expect(parseRetryAfter(ASCTIME, now)).toBe(7_000);
  });

  it('reads delay-seconds, and a date in the past as no wait', () => {
    expect(parseRetryAfter('120', now)).toBe(120_000);
    expect(parseRetryAfter(' 0 ', now)).toBe(0);
    expect(parseRetryAfter(new Date(now + 90_000).toUTCString(), now)).toBe(90_000);
    expect(parseRetryAfter(new Date(now - 90_000).toUTCString(), now)).toBe(0);
  });

  it('rejects garbage, negative and fractional delays, and impossible dates', () => {
    for (const value of [
      'soon',
      '-5',
      '1.5',
      '+5',
      '',
      '1 2',
      'Sun, 06 Nov 1994',
      'Sun, 06 Nov 1994 08:49:37 PST',
      'Mon, 31 Feb 1994 08:49:37 GMT',
      'Sun, 06 Nov 1994 24:00:00 GMT',
      'Sun, 06 Nov 1994 08:61:00 GMT',
      'Sun, 06 Foo 1994 08:49:37 GMT',
      '1994-11-06T08:49:37Z',
    ]) {
      expect(parseRetryAfter(value, now), value).toBeUndefined();
    }
    expect(parseRetryAfter(null, now)).toBeUndefined();
    expect(parseRetryAfter(undefined, now)).toBeUndefined();
    expect(parseRetryAfter(IMF, Number.NaN)).toBeUndefined();
  });

  it('clamps huge delays and far-off dates to the longest timer, 2^31 - 1 ms', () => {
    expect(parseRetryAfter('99999999999', now)).toBe(MAX_TIMER_MS);
    expect(parseRetryAfter('9'.repeat(400), now)).toBe(MAX_TIMER_MS);
    expect(parseRetryAfter('Fri, 31 Dec 9999 23:59:59 GMT', now)).toBe(MAX_TIMER_MS);
  });

  it('reads a two-digit RFC 850 year as at most 50 years ahead of now', () => {
    const in2030 = Date.UTC(2030, 0, 1);
    expect(parseRetryAfter('Tuesday, 01-Jan-30 00:00:10 GMT', in2030)).toBe(10_000);
    // 2094 would be 64 years ahead: it is 1994, in the past.
    expect(parseRetryAfter(RFC850, in2030)).toBe(0);
    // 2080 is 50 years ahead: still the future (clamped), not 1980.
    expect(parseRetryAfter('Monday, 01-Jan-80 00:00:00 GMT', in2030)).toBe(MAX_TIMER_MS);
  });
});

describe('parseRetryAfter under other time zones', () => {
  const child = fileURLToPath(new URL('./retry-after-child.ts', import.meta.url));
  const run = promisify(execFile);

  // A child process per zone: TZ is read when a process starts, so it cannot change under vitest.
  for (const [tz, offsetMinutes] of [
    ['America/New_York', 300],
    ['Asia/Tokyo', -540],
    ['UTC', 0],
  ] as const) {
    it(`gives the same waits with TZ=${tz}`, async () => {
      const { stdout } = await run(
        process.execPath,
        ['--import', 'tsx', child, JSON.stringify([IMF, RFC850, ASCTIME, '7']), String(now)],
        { env: { ...process.env, TZ: tz }, timeout: 15_000 },
      );
      const out = JSON.parse(stdout) as { offsetMinutes: number; parsed: Array<number | null> };
      // The zone really applied in the child (otherwise this test would prove nothing).
      expect(out.offsetMinutes).toBe(offsetMinutes);
      expect(out.parsed).toEqual([7_000, 7_000, 7_000, 7_000]);
    });
  }
});
