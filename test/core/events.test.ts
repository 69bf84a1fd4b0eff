import { afterEach, describe, expect, it, vi } from 'vitest';
import { Emitter } from '../../src/core/events.js';

describe('Emitter', () => {
  afterEach(() => vi.restoreAllMocks());

  it('is inactive until someone listens, and again once every listener is disposed', () => {
    const e = new Emitter<number>();
    expect(e.active).toBe(false);
    const a = e.subscribe(() => {});
    const b = e.subscribe(() => {});
    expect(e.active).toBe(true);
    a();
    a();
    expect(e.active).toBe(true);
    b();
    expect(e.active).toBe(false);
  });

  it('calls every listener in order with the payload', () => {
    const e = new Emitter<string>();
    const seen: string[] = [];
    e.subscribe((v) => seen.push(`1:${v}`));
    e.subscribe((v) => seen.push(`2:${v}`));
    e.subscribe((v) => seen.push(`3:${v}`));
    e.emit('x');
    expect(seen).toEqual(['1:x', '2:x', '3:x']);
  });

  it('lets a listener unsubscribe another during emit without skipping anyone', () => {
    const e = new Emitter<void>();
    const seen: number[] = [];
    let disposeSecond = () => {};
    e.subscribe(() => {
      seen.push(1);
      disposeSecond();
    });
    disposeSecond = e.subscribe(() => seen.push(2));
    e.emit();
    e.emit();
    expect(seen).toEqual([1, 2, 1]);
  });

  it('reports a throwing listener as a warning and keeps calling the others', () => {
    const warn = vi.spyOn(process, 'emitWarning').mockImplementation(() => {});
    const e = new Emitter<number>();
    const seen: number[] = [];
    e.subscribe(() => {
      throw new Error('listener bug');
    });
    e.subscribe((v) => seen.push(v));
    expect(() => e.emit(7)).not.toThrow();
    expect(seen).toEqual([7]);
    expect(warn).toHaveBeenCalledOnce();
    expect(String(warn.mock.calls[0]![0])).toContain('listener bug');
  });

  it('refuses a listener that is not a function', () => {
    expect(() => new Emitter().subscribe('x' as never)).toThrow(TypeError);
  });
});
