import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { Emitter } from '../../src/core/events.js';
import {
  CALLBACK_ERROR_CHANNEL,
  type CallbackErrorEvent,
  guarded,
  reportCallbackError,
  resetCallbackWarnings,
} from '../../src/core/report.js';

describe('callback errors', () => {
  afterEach(() => {
    vi.restoreAllMocks();
    resetCallbackWarnings();
  });

  it('warns once per callback per interval and counts what it held back', () => {
    const warn = vi.spyOn(process, 'emitWarning').mockImplementation(() => {});
    const now = vi.spyOn(Date, 'now').mockReturnValue(1_000);
    for (let i = 0; i < 20; i++) reportCallbackError('bulkhead.isDrop', 'db', new Error(`boom ${i}`));
    reportCallbackError('retry.retryAfter', 'api', new Error('other'));
    expect(warn).toHaveBeenCalledTimes(2);
    now.mockReturnValue(12_000);
    reportCallbackError('bulkhead.isDrop', 'db', new Error('later'));
    expect(warn).toHaveBeenCalledTimes(3);
    expect(String(warn.mock.calls[2]![0])).toContain('19 more since the last warning');
  });

  it('publishes every error on the diagnostics channel, unthrottled', () => {
    vi.spyOn(process, 'emitWarning').mockImplementation(() => {});
    const seen: CallbackErrorEvent[] = [];
    const onMessage = (m: unknown) => seen.push(m as CallbackErrorEvent);
    subscribe(CALLBACK_ERROR_CHANNEL, onMessage);
    try {
      for (let i = 0; i < 3; i++) reportCallbackError('fallback.fallback', 'api', i);
    } finally {
      unsubscribe(CALLBACK_ERROR_CHANNEL, onMessage);
    }
    expect(seen.map((e) => [e.callback, e.policy, e.error])).toEqual([
      ['fallback.fallback', 'api', 0],
      ['fallback.fallback', 'api', 1],
      ['fallback.fallback', 'api', 2],
    ]);
  });

  it('guarded() returns the safe default when the callback throws', () => {
    const warn = vi.spyOn(process, 'emitWarning').mockImplementation(() => {});
    const throwing = (_: number): boolean => {
      throw new Error('predicate bug');
    };
    expect(guarded(throwing, 1, () => false, 'bulkhead.isDrop', 'db')).toBe(false);
    expect(
      guarded(
        (n: number) => n > 0,
        1,
        () => false,
        'bulkhead.isDrop',
        'db',
      ),
    ).toBe(true);
    expect(warn).toHaveBeenCalledOnce();
  });

  it('an async event listener that rejects is reported, not an unhandled rejection', async () => {
    const warn = vi.spyOn(process, 'emitWarning').mockImplementation(() => {});
    const unhandled = vi.fn();
    process.on('unhandledRejection', unhandled);
    try {
      const e = new Emitter<{ policy: string }>();
      e.subscribe(async () => {
        throw new Error('async listener bug');
      });
      e.emit({ policy: 'api' });
      await new Promise((resolve) => setImmediate(resolve));
      expect(warn).toHaveBeenCalledOnce();
      expect(String(warn.mock.calls[0]![0])).toContain('event listener of "api" threw: async listener bug');
      expect(unhandled).not.toHaveBeenCalled();
    } finally {
      process.off('unhandledRejection', unhandled);
    }
  });
});
