import { describe, expect, it } from 'vitest';
import { TimeoutError, timeout } from '../../src/index.js';
import { deferred, FakeClock, track } from '../helpers.js';

// The task never reads its signal and nobody listens for timeouts, so no deadline is armed: whether
// the failure was late is decided when it arrives. At the deadline itself it is late.
describe('a cooperative timeout whose task fails exactly at the deadline, its signal never read', () => {
  it('reports the failure as a TimeoutError carrying it as cause', async () => {
    const clock = new FakeClock();
    const policy = timeout({ durationMs: 100, strategy: 'cooperative', clock });
    const work = deferred<string>();
    const call = track(policy.execute(() => work.promise));
    clock.advance(100);
    const original = new Error('failed at 100 ms');
    work.reject(original);
    await clock.tick(0);
    expect(call.error).toBeInstanceOf(TimeoutError);
    expect((call.error as TimeoutError).timeoutMs).toBe(100);
    expect((call.error as Error).cause).toBe(original);
    expect(policy.snapshot()).toMatchObject({ calls: 1, timeouts: 1 });
  });

  it('passes a failure one millisecond earlier through unchanged', async () => {
    const clock = new FakeClock();
    const policy = timeout({ durationMs: 100, strategy: 'cooperative', clock });
    const work = deferred<string>();
    const call = track(policy.execute(() => work.promise));
    clock.advance(99);
    const original = new Error('failed at 99 ms');
    work.reject(original);
    await clock.tick(0);
    expect(call.error).toBe(original);
    expect(policy.snapshot()).toMatchObject({ calls: 1, timeouts: 0 });
  });
});
