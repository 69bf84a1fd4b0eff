import { describe, expect, it } from 'vitest';
import { type PolicyGiveUpEvent, pipeline, retry, retryBudget, tokenBudget } from '../../src/index.js';
import { FakeClock } from '../helpers.js';

describe('retry budgets', () => {
  it('ratio budget: retries <= ratio x requests + minPerSecond x window seconds', () => {
    const clock = new FakeClock();
    const budget = retryBudget({ ratio: 0.1, minPerSecond: 1, windowMs: 10_000, clock });
    for (let i = 0; i < 100; i++) budget.recordRequest();
    let allowed = 0;
    while (budget.tryRetry()) allowed++;
    expect(allowed).toBe(20); // 0.1 x 100 + 1/s x 10 s
    expect(budget.snapshot()).toMatchObject({
      kind: 'ratio',
      available: 0,
      requests: 100,
      retries: 20,
      denied: 1,
    });
  });

  it('ratio budget forgets requests and retries older than the window', () => {
    const clock = new FakeClock();
    const budget = retryBudget({ ratio: 1, minPerSecond: 0, windowMs: 1_000, clock });
    for (let i = 0; i < 5; i++) budget.recordRequest();
    for (let i = 0; i < 5; i++) expect(budget.tryRetry()).toBe(true);
    expect(budget.tryRetry()).toBe(false);
    clock.advance(1_000);
    expect(budget.snapshot()).toMatchObject({ requests: 0, retries: 0, available: 0 });
    budget.recordRequest();
    expect(budget.tryRetry()).toBe(true);
  });

  it('token budget allows retries while more than half the tokens remain', () => {
    const budget = tokenBudget({ maxTokens: 10, tokenRatio: 0.5 });
    for (let i = 0; i < 4; i++) budget.recordOutcome(true);
    expect(budget.tryRetry()).toBe(true); // 6 > 5
    budget.recordOutcome(true);
    expect(budget.tryRetry()).toBe(false); // 5 is not > 5
    budget.recordOutcome(false);
    expect(budget.tryRetry()).toBe(true); // 5.5
    expect(budget.snapshot()).toMatchObject({ kind: 'token', tokens: 5.5, denied: 1 });
  });

  it('caps retry amplification at the configured ratio during a full outage', async () => {
    const clock = new FakeClock();
    const budget = retryBudget({ ratio: 0.2, minPerSecond: 0, windowMs: 60_000, clock });
    // Two retry policies share the budget, as two endpoints calling one dependency would.
    const a = retry({ maxRetries: 3, backoff: 0, budget, clock });
    const b = retry({ maxRetries: 5, backoff: 0, budget, clock });
    const reasons = new Map<string, number>();
    const count = (e: PolicyGiveUpEvent) => reasons.set(e.reason, (reasons.get(e.reason) ?? 0) + 1);
    a.onGiveUp(count);
    b.onGiveUp(count);
    let downstreamCalls = 0;
    const down = () => {
      downstreamCalls++;
      throw new Error('outage');
    };
    for (let i = 0; i < 500; i++) {
      await (i % 2 === 0 ? a : b).executeOutcome(down);
      clock.advance(10);
    }
    // Without a budget: 250 x 4 + 250 x 6 = 2500 calls. With it: 500 first attempts + 20%.
    expect(downstreamCalls).toBeLessThanOrEqual(500 * 1.2 + 1);
    expect(downstreamCalls).toBeGreaterThanOrEqual(500 * 1.2 - 1);
    expect(reasons.get('budget')).toBeGreaterThan(0);
  });

  it('the token budget stops retries during an outage and lets them back as successes return', async () => {
    const clock = new FakeClock();
    const budget = tokenBudget({ maxTokens: 10, tokenRatio: 1 });
    const policy = pipeline(retry({ maxRetries: 2, backoff: 0, budget, clock }));
    let calls = 0;
    for (let i = 0; i < 20; i++) {
      await policy.executeOutcome(() => {
        calls++;
        throw new Error('down');
      });
    }
    // Tokens fall from 10 to 5 after five failed attempts; after that only first attempts run.
    expect(calls).toBeLessThan(20 + 5);
    for (let i = 0; i < 10; i++) await policy.execute(() => 'ok');
    expect(budget.tryRetry()).toBe(true);
  });

  it('refuses a budget that is not one', () => {
    expect(() => retry({ budget: {} as never })).toThrow(TypeError);
    expect(() => retryBudget({ ratio: -1 })).toThrow(RangeError);
    expect(() => tokenBudget({ tokenRatio: 0 })).toThrow(RangeError);
  });
});
