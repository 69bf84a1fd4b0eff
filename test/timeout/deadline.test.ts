import { describe, expect, it } from 'vitest';
import { pipeline, retry, type TimeoutError, timeout } from '../../src/index.js';
import { FakeClock, track } from '../helpers.js';

describe('deadline propagation', () => {
  it('exposes the deadline and the time remaining on the context', async () => {
    const clock = new FakeClock(1_000);
    const policy = timeout({ durationMs: 300, clock });
    const seen = await policy.execute(async (ctx) => {
      clock.advance(100);
      return { deadline: ctx.deadline, remaining: ctx.remainingMs };
    });
    expect(seen).toEqual({ deadline: 1_300, remaining: 200 });
  });

  it('has no deadline without a timeout', async () => {
    const r = retry({ clock: new FakeClock() });
    await expect(r.execute((ctx) => [ctx.deadline, ctx.remainingMs])).resolves.toEqual([
      Number.POSITIVE_INFINITY,
      Number.POSITIVE_INFINITY,
    ]);
  });

  it('an inner timeout never outlives an outer one', async () => {
    const clock = new FakeClock();
    const outer = timeout({ durationMs: 100, clock, name: 'outer' });
    const inner = timeout({ durationMs: 1_000, clock, name: 'inner' });
    let deadline = 0;
    const call = track(
      pipeline(outer, inner).execute((ctx) => {
        deadline = ctx.deadline;
        return new Promise(() => {});
      }),
    );
    await clock.tick(100);
    expect(deadline).toBe(100);
    expect((call.error as TimeoutError).policy).toBe('outer');
  });

  it('a shorter inner timeout bounds each attempt while the outer bounds them all', async () => {
    const clock = new FakeClock();
    const policy = pipeline(
      timeout({ durationMs: 250, clock, name: 'total' }),
      retry({ maxRetries: 10, backoff: 0, clock }),
      timeout({ durationMs: 100, clock, name: 'attempt' }),
    );
    let attempts = 0;
    const call = track(
      policy.execute(() => {
        attempts++;
        return new Promise(() => {});
      }),
    );
    await clock.tick(1_000);
    expect((call.error as TimeoutError).policy).toBe('total');
    // Attempts at 0 and 100 time out; the one at 200 is cut by the total budget at 250.
    expect(attempts).toBe(3);
  });

  it('retry gives up rather than sleep past the deadline', async () => {
    const clock = new FakeClock();
    const policy = pipeline(
      timeout({ durationMs: 1_000, clock }),
      retry({ maxRetries: 5, backoff: 600, clock }),
    );
    let attempts = 0;
    const reasons: string[] = [];
    (policy.policies[1] as ReturnType<typeof retry>).onGiveUp((e) => reasons.push(e.reason));
    const call = track(
      policy.execute(() => {
        attempts++;
        throw new Error('boom');
      }),
    );
    await clock.tick(2_000);
    expect(attempts).toBe(2);
    expect(reasons).toEqual(['deadline']);
    expect((call.error as Error).message).toBe('boom');
  });

  it('an aggressive timeout inside an earlier cooperative deadline still bounds a task that ignores its signal', async () => {
    const clock = new FakeClock();
    const policy = pipeline(
      timeout({ durationMs: 100, strategy: 'cooperative', clock, name: 'outer' }),
      timeout({ durationMs: 200, clock, name: 'inner' }),
    );
    const call = track(policy.execute(() => new Promise(() => {})));
    await clock.tick(99);
    expect(call.settled).toBe(false);
    await clock.tick(1);
    expect(call.settled).toBe(true);
    expect((call.error as TimeoutError).policy).toBe('outer');
  });

  it('an overall cooperative budget with aggressive attempts bounds the last attempt too', async () => {
    const clock = new FakeClock();
    const policy = pipeline(
      timeout({ durationMs: 1_000, strategy: 'cooperative', clock, name: 'total' }),
      retry({ maxRetries: 10, backoff: 50, clock }),
      timeout({ durationMs: 300, clock, name: 'attempt' }),
    );
    let attempts = 0;
    const call = track(
      policy.execute(() => {
        attempts++;
        return new Promise(() => {});
      }),
    );
    // Attempts start at 0, 350 and 700; the third is cut by the total budget at 1000, not at 1000 + ...
    await clock.tick(1_000);
    expect(call.settled).toBe(true);
    expect((call.error as TimeoutError).policy).toBe('total');
    expect(attempts).toBe(3);
  });
});
