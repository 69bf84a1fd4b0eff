import { describe, expect, it } from 'vitest';
import { type PolicyGiveUpEvent, pipeline, retry, TimeoutError, timeout } from '../../src/index.js';
import { FakeClock, track } from '../helpers.js';

describe('an attempt that fails because an enclosing timeout aborted it', () => {
  it('is not retried: retry gives up with reason aborted', async () => {
    const clock = new FakeClock();
    const retries = retry({ backoff: 0, maxRetries: 3, clock });
    const gaveUp: PolicyGiveUpEvent[] = [];
    retries.onGiveUp((e) => gaveUp.push(e));
    let calls = 0;
    const call = track(
      pipeline(timeout({ durationMs: 100, strategy: 'cooperative', clock }), retries).execute(
        ({ signal }) =>
          new Promise((_, reject) => {
            calls++;
            signal.addEventListener('abort', () => reject(new Error('cut off')));
          }),
      ),
    );
    await clock.tick(100);
    await clock.tick(0);
    expect(call.error).toBeInstanceOf(TimeoutError);
    expect(calls).toBe(1);
    expect(gaveUp.map((e) => [e.reason, e.attempts])).toEqual([['aborted', 1]]);
  });
});
