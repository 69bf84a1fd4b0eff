import { afterEach, describe, expect, it } from 'vitest';
import { policyRegistry } from '../../../src/index.js';
import { resilientFetch } from '../../../src/integrations/fetch/index.js';
import { type Downstream, downstream, ok } from './downstream.js';

// Wiring resilientFetch into a registry (and so into Prometheus, OpenTelemetry and the dashboard) is one
// call: `registry.add(http.policy)` lists the pipeline's policies and follows the per-origin breakers as
// they are created and dropped. It used to throw ("a breakwater policy or pipeline").

const closers: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  await Promise.all(closers.splice(0).map((close) => close()));
});

async function serve(): Promise<Downstream> {
  const server = await downstream(ok('a'), ok('b'), ok('c'), ok('d'));
  closers.push(() => server.close());
  return server;
}

describe('resilientFetch in a PolicyRegistry', () => {
  it('registry.add(http.policy) lists its policies and follows per-origin breakers', async () => {
    const one = await serve();
    const two = await serve();
    const http = resilientFetch({ name: 'api', retry: false, maxBreakers: 1 });
    const registry = policyRegistry().add(http.policy);
    const names = () => registry.policies.map((p) => p.name).sort();
    const before = names();

    expect((await http(one.url)).status).toBe(200);
    const breakerOne = `api:${new URL(one.url).origin}`;
    expect(names()).toEqual([...before, breakerOne].sort());
    expect(registry.snapshots()[breakerOne]).toMatchObject({ kind: 'circuitBreaker', calls: 1 });

    // maxBreakers: 1, so the second origin's breaker displaces the first.
    expect((await http(two.url)).status).toBe(200);
    const breakerTwo = `api:${new URL(two.url).origin}`;
    expect(names()).toEqual([...before, breakerTwo].sort());

    http.breakers?.clear();
    expect(names()).toEqual(before);
  });

  it('registry.add(http.breakers) lists breakers made before it was added', async () => {
    const one = await serve();
    const http = resilientFetch({ name: 'early', retry: false });
    expect((await http(one.url)).status).toBe(200);
    const registry = policyRegistry();
    if (http.breakers !== undefined) registry.add(http.breakers);
    expect(registry.policies.map((p) => p.name)).toEqual([`early:${new URL(one.url).origin}`]);
    // A group is followed once, however often it is added.
    if (http.breakers !== undefined) registry.add(http.breakers, http.policy);
    expect(registry.policies.filter((p) => p.kind === 'circuitBreaker')).toHaveLength(1);
  });

  it('refuses, in its types, what is not a policy, a pipeline or a group', () => {
    const registry = policyRegistry();
    const http = resilientFetch({ retry: false });
    http.breakers?.onCreate((created) => {
      // @ts-expect-error the event payload ({ key, breaker }) is not a policy
      registry.add(created);
    });
    // @ts-expect-error a string is not a policy
    expect(() => registry.add('users')).toThrow(TypeError);
  });
});
