import { describe, expect, it } from 'vitest';
import { hedge, type PolicyGiveUpEvent, pipeline, retry } from '../../src/index.js';
import { FakeClock, flush, track, waitFor } from '../helpers.js';

// Zero-delay retries hop through the event loop (setImmediate) rather than a timer, so an abort must
// be noticed on each hop: a retry loop inside a hedged attempt that lost would otherwise call the
// downstream forever, no longer watched by anyone.
describe('a zero-delay endless retry inside a hedged attempt that loses', () => {
  it('stops calling once its attempt is aborted', async () => {
    const clock = new FakeClock();
    const retries = retry({ backoff: 0, maxRetries: Number.POSITIVE_INFINITY, clock });
    const gaveUp: PolicyGiveUpEvent[] = [];
    retries.onGiveUp((e) => gaveUp.push(e));
    const policy = pipeline(hedge({ delayMs: 10, maxHedges: 1, clock }), retries);
    let first: AbortSignal | undefined;
    let firstCalls = 0;
    let callsAtAbort: number | undefined;
    const call = track(
      policy.execute(({ signal }) => {
        if (first === undefined) {
          first = signal;
          signal.addEventListener('abort', () => {
            callsAtAbort = firstCalls;
          });
        }
        // The first attempt keeps failing at once; the hedge answers.
        if (signal !== first) return 'hedge';
        firstCalls++;
        throw new Error('flaky');
      }),
    );
    await waitFor(() => firstCalls >= 3, 'the first attempt to retry a few times');
    clock.advance(10);
    await waitFor(() => call.settled, 'the hedge to win');
    expect(call.value).toBe('hedge');
    expect(callsAtAbort).toBeGreaterThanOrEqual(3);
    // Several turns of the event loop later: not one more call of the losing attempt.
    for (let i = 0; i < 5; i++) await flush();
    expect(firstCalls).toBe(callsAtAbort);
    expect(gaveUp.map((e) => [e.reason, e.attempts])).toEqual([['aborted', callsAtAbort]]);
  });
});
