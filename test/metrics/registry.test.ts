import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { describe, expect, it, vi } from 'vitest';
import { Emitter } from '../../src/core/events.js';
import { CALLBACK_ERROR_CHANNEL, type CallbackErrorEvent } from '../../src/core/report.js';
import { circuitBreaker, type PolicyEvent, policyRegistry } from '../../src/index.js';
import type { Observable } from '../../src/metrics/observable.js';

function fakePolicy(name: string) {
  const events = new Emitter<PolicyEvent>();
  const policy: Observable = {
    kind: 'timeout',
    name,
    onEvent: events.subscribe,
    snapshot: () => ({ kind: 'timeout', name }),
  };
  return { policy, events };
}

describe('policy registry removals', () => {
  it('tells onRemove listeners which policy left, once its events are no longer forwarded', () => {
    const registry = policyRegistry();
    const { policy, events } = fakePolicy('gone');
    registry.add(policy, fakePolicy('kept').policy);
    const forwarded: string[] = [];
    registry.onEvent((e) => forwarded.push(e.policy));
    const seen: { name: string; forwarding: boolean; listed: boolean }[] = [];
    const stop = registry.onRemove((p) =>
      seen.push({ name: p.name, forwarding: events.active, listed: registry.get(p.name) !== undefined }),
    );

    expect(registry.remove(policy)).toBe(true);
    expect(seen).toEqual([{ name: 'gone', forwarding: false, listed: false }]);
    events.emit({
      type: 'fallback',
      policy: 'gone',
      kind: 'fallback',
      failure: { kind: 'error', error: new Error('x') },
    });
    expect(forwarded).toEqual([]);

    // Nothing left the registry: a second remove, or another policy under a registered name.
    expect(registry.remove(policy)).toBe(false);
    expect(registry.remove(fakePolicy('kept').policy)).toBe(false);
    expect(seen).toHaveLength(1);

    stop();
    registry.remove(registry.get('kept')!);
    expect(seen).toHaveLength(1);
  });

  it('reports a throwing onRemove listener and still removes the policy and tells the others', () => {
    const registry = policyRegistry();
    const breaker = circuitBreaker({ name: 'api' });
    registry.add(breaker);
    const reported: CallbackErrorEvent[] = [];
    const onError = (message: unknown) => reported.push(message as CallbackErrorEvent);
    subscribe(CALLBACK_ERROR_CHANNEL, onError);
    const warn = vi.spyOn(process, 'emitWarning').mockImplementation(() => {});
    const seen: string[] = [];
    try {
      registry.onRemove(() => {
        throw new Error('listener bug');
      });
      registry.onRemove((p) => seen.push(p.name));
      expect(registry.remove(breaker)).toBe(true);
    } finally {
      unsubscribe(CALLBACK_ERROR_CHANNEL, onError);
      warn.mockRestore();
    }
    expect(seen).toEqual(['api']);
    expect(registry.policies).toEqual([]);
    expect(reported).toHaveLength(1);
    expect(reported[0]!.callback).toBe('event listener');
    expect((reported[0]!.error as Error).message).toBe('listener bug');
  });
});
