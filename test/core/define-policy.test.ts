import { describe, expect, it } from 'vitest';
import {
  BreakwaterError,
  circuitBreaker,
  definePolicy,
  Fail,
  type Gate,
  hedge,
  isPolicy,
  pipeline,
  Recovery,
  retry,
  stagesOf,
  timeout,
  type Wrapper,
} from '../../src/index.js';
import { deferred, FakeClock } from '../helpers.js';

// The worked example of docs/concepts.md ("Writing a policy"), and the rest of the public contract.
class TenantBusyError extends BreakwaterError {}

function perTenant(limit: number) {
  const running = new Map<string, number>();
  const gate: Gate<string | undefined> = {
    stage: 'gate',
    enter(scope) {
      const tenant = scope.key;
      if (tenant === undefined) return undefined;
      const n = running.get(tenant) ?? 0;
      if (n >= limit) return new Fail(new TenantBusyError(`tenant ${tenant} has ${n} calls running`));
      running.set(tenant, n + 1);
      return tenant;
    },
    exit(_scope, tenant, result) {
      if (tenant !== undefined) {
        const n = running.get(tenant)! - 1;
        if (n === 0) running.delete(tenant);
        else running.set(tenant, n);
      }
      return result;
    },
  };
  return { policy: definePolicy(gate), running };
}

describe('definePolicy', () => {
  it('runs a gate of your own alone and inside a pipeline (the docs example)', async () => {
    const { policy, running } = perTenant(1);
    const clock = new FakeClock();
    const composed = pipeline(
      retry({ maxRetries: 2, backoff: 0, clock }),
      policy,
      timeout({ durationMs: 1_000, clock }),
    );
    const gate = deferred<string>();
    const first = composed.execute(() => gate.promise, { key: 'a' });
    // A second call of the same tenant is refused by the gate; our retry does not retry it forever.
    await expect(composed.execute(() => 'b', { key: 'a' })).rejects.toBeInstanceOf(TenantBusyError);
    await expect(composed.execute(() => 'other', { key: 'b' })).resolves.toBe('other');
    gate.resolve('done');
    await expect(first).resolves.toBe('done');
    expect(running.size).toBe(0);
    await expect(policy.execute(() => 'alone', { key: 'a' })).resolves.toBe('alone');
  });

  it('exit sees failures as a Fail, and runs for every admitted call', async () => {
    const seen: unknown[] = [];
    const watch = definePolicy({
      stage: 'gate',
      enter: () => 0,
      exit: (_scope, _token, result) => {
        seen.push(result instanceof Fail ? ['fail', (result.error as Error).message] : ['ok', result]);
        return result;
      },
    });
    await watch.execute(() => 1);
    await watch.executeOutcome(() => Promise.reject(new Error('x')));
    expect(seen).toEqual([
      ['ok', 1],
      ['fail', 'x'],
    ]);
  });

  it('a recovering gate can run the inside again', async () => {
    let calls = 0;
    const twice = definePolicy({
      stage: 'gate',
      recovers: true,
      enter: () => 0,
      exit: (scope, _token, result) =>
        result instanceof Fail ? new Recovery((again) => again(scope)) : result,
    } satisfies Gate<number>);
    await expect(
      twice.execute(() => {
        calls++;
        if (calls === 1) throw new Error('first');
        return 'second';
      }),
    ).resolves.toBe('second');
  });

  it('a wrapper receives the runner of what is inside it', async () => {
    const doubled: Wrapper = {
      stage: 'wrapper',
      wrap: (inner) => (scope) => inner(scope).then((r) => (typeof r === 'number' ? r * 2 : r)),
    };
    await expect(pipeline(definePolicy(doubled), circuitBreaker()).execute(() => 21)).resolves.toBe(42);
  });

  it('makes an object of your own the policy, and composes other policies stages', async () => {
    const breaker = circuitBreaker();
    class Audited {
      readonly log: string[] = [];
    }
    const audited = definePolicy(
      [...stagesOf(hedge({ delayMs: 1_000 })), ...stagesOf(breaker)],
      new Audited(),
    );
    expect(audited).toBeInstanceOf(Audited);
    expect(isPolicy(audited)).toBe(true);
    await expect(audited.execute(() => 'ok')).resolves.toBe('ok');
    expect(breaker.snapshot().recorded.calls).toBe(1);
  });

  it('refuses what is not a stage, naming it', () => {
    expect(() => definePolicy({ stage: 'gate', enter: () => 0 } as never)).toThrow(
      /definePolicy\(stages\)\[0\]/,
    );
    expect(() => stagesOf({})).toThrow(TypeError);
  });
});
