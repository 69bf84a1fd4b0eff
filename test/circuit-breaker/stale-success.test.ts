import { describe, expect, it } from 'vitest';
import { circuitBreaker } from '../../src/index.js';
import { deferred, FakeClock } from '../helpers.js';
import { calls, fail } from './helpers.js';

// A success is recorded on a fast path (no clock read) while the circuit is closed; it must still be
// a success of the current closed period, not of one that ended before.
describe('a stale success from an earlier closed period', () => {
  it('is not recorded in the window of the next closed period', async () => {
    const clock = new FakeClock();
    const breaker = circuitBreaker({
      window: { kind: 'count', size: 10 },
      minimumCalls: 2,
      failureRateThreshold: 1,
      clock,
    });
    const slow = deferred<string>();
    const running = breaker.executeOutcome(() => slow.promise);
    breaker.open(1_000);
    breaker.close();
    expect(breaker.state).toBe('closed');
    slow.resolve('late success from the previous period');
    expect(await running).toMatchObject({ ok: true });
    expect(breaker.snapshot()).toMatchObject({ state: 'closed', calls: 0, inflight: 0 });
    expect(breaker.recorded.calls).toBe(0);
  });

  it('does not dilute the failure rate of the new window', async () => {
    const clock = new FakeClock();
    const breaker = circuitBreaker({
      window: { kind: 'count', size: 10 },
      minimumCalls: 2,
      failureRateThreshold: 1,
      breakDurationMs: 100,
      clock,
    });
    const slow = deferred<string>();
    const running = breaker.executeOutcome(() => slow.promise);
    // Opens on failures, then a probe closes it: a new closed period with an empty window.
    await calls(breaker, 2, fail);
    expect(breaker.state).toBe('open');
    clock.advance(100);
    await breaker.executeOutcome(() => 'probe');
    expect(breaker.state).toBe('closed');
    slow.resolve('late');
    await running;
    // Two failures out of two calls: 100%. Counting the stale success would make it 2 of 3.
    await calls(breaker, 2, fail);
    expect(breaker.state).toBe('open');
  });
});
