import { describe, expectTypeOf, it } from 'vitest';
import { fallback, type Outcome, pipeline, retry, timeout } from '../../src/index.js';

describe('pipeline types', () => {
  it('keeps the task result type', () => {
    const p = pipeline(retry(), timeout(100));
    expectTypeOf(p.execute(async () => 42)).resolves.toEqualTypeOf<number>();
    expectTypeOf(p.executeOutcome(async () => 'x')).resolves.toEqualTypeOf<Outcome<string>>();
  });

  it('adds the fallback type to the result', () => {
    const p = pipeline(fallback({ fallback: () => null }), retry());
    expectTypeOf(p.execute(async () => 42)).resolves.toEqualTypeOf<number | null>();
  });

  it('constrains tasks to the result type a handleResult predicate reads', () => {
    const r = retry<{ status: number }>({ handleResult: (res) => res.status >= 500 });
    const p = pipeline(r, timeout(100));
    expectTypeOf(p.execute(async () => ({ status: 200, body: 'ok' }))).resolves.toEqualTypeOf<{
      status: number;
      body: string;
    }>();
    // @ts-expect-error a task returning a string cannot satisfy a predicate on { status }
    p.execute(async () => 'not a response');
  });

  it('gives the task a typed context', () => {
    retry().execute((ctx) => {
      expectTypeOf(ctx.signal).toEqualTypeOf<AbortSignal>();
      expectTypeOf(ctx.attempt).toEqualTypeOf<number>();
      return 1;
    });
  });
});
