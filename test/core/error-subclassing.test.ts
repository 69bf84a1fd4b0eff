import { describe, expect, it, vi } from 'vitest';
import {
  BreakwaterError,
  BrokenCircuitError,
  IsolatedCircuitError,
  RejectedError,
  TimeoutError,
} from '../../src/index.js';

class MyTimeout extends TimeoutError {}
class SlowQuery extends MyTimeout {}
class AppError extends BreakwaterError {}

describe('subclasses of breakwater errors', () => {
  it('are instanceof themselves and their ancestors; errors of the parent class are not instanceof them', () => {
    const mine = new MyTimeout(10, 'db');
    expect(mine).toBeInstanceOf(MyTimeout);
    expect(mine).toBeInstanceOf(TimeoutError);
    expect(mine).toBeInstanceOf(BreakwaterError);
    expect(mine).toBeInstanceOf(Error);
    expect(mine).not.toBeInstanceOf(SlowQuery);
    expect(new SlowQuery(10, 'db')).toBeInstanceOf(MyTimeout);

    expect(TimeoutError.create(10, 'db')).not.toBeInstanceOf(MyTimeout);
    expect(new TimeoutError(10, 'db')).not.toBeInstanceOf(MyTimeout);
    expect(new BreakwaterError('plain')).not.toBeInstanceOf(AppError);
    expect(new AppError('app')).toBeInstanceOf(AppError);
    expect(new AppError('app')).not.toBeInstanceOf(TimeoutError);
  });

  it('are named after their class', () => {
    const app = new AppError('went wrong');
    expect(app.name).toBe('AppError');
    expect(String(app)).toBe('AppError: went wrong');
    expect(app.stack?.startsWith('AppError: went wrong\n')).toBe(true);
    expect(new MyTimeout(10, 'db').name).toBe('MyTimeout');
    expect(new SlowQuery(10, 'db').name).toBe('SlowQuery');
    expect(Object.keys(app)).not.toContain('name');
  });

  it('keep a name they set themselves, and pass it on to their own subclasses', () => {
    class Field extends BreakwaterError {
      override name = 'FieldName';
    }
    class OnPrototype extends BreakwaterError {}
    Object.defineProperty(OnPrototype.prototype, 'name', { value: 'PrototypeName', configurable: true });
    class InConstructor extends TimeoutError {
      constructor() {
        super(1, 'db');
        (this as { name: string }).name = 'ConstructorName';
      }
    }
    class Heir extends OnPrototype {}
    expect(new Field('m').name).toBe('FieldName');
    expect(new OnPrototype('m').name).toBe('PrototypeName');
    expect(new InConstructor().name).toBe('ConstructorName');
    expect(new Heir('m').name).toBe('PrototypeName');
  });

  it('leave the library classes their fixed names', () => {
    expect(new BreakwaterError('m').name).toBe('BreakwaterError');
    expect(new TimeoutError(1, 'db').name).toBe('TimeoutError');
    expect(new RejectedError('m', 'BW_ERR_REJECTED', 'db').name).toBe('RejectedError');
    expect(new IsolatedCircuitError('db').name).toBe('IsolatedCircuitError');
    expect(BrokenCircuitError.create('db', 'open').name).toBe('BrokenCircuitError');
  });
});

describe('two copies of the library in one process', () => {
  it('recognise each other’s errors, while user subclasses still check their own prototype chain', async () => {
    vi.resetModules();
    const other = await import('../../src/core/errors.js');
    expect(other.TimeoutError).not.toBe(TimeoutError);

    const foreign = other.BrokenCircuitError.create('db', 'open', 10);
    expect(foreign).toBeInstanceOf(BrokenCircuitError);
    expect(foreign).toBeInstanceOf(RejectedError);
    expect(foreign).toBeInstanceOf(BreakwaterError);
    expect(foreign).not.toBeInstanceOf(TimeoutError);
    expect(new other.TimeoutError(1, 'db')).toBeInstanceOf(TimeoutError);
    expect(TimeoutError.create(1, 'db')).toBeInstanceOf(other.TimeoutError);

    expect(other.TimeoutError.create(1, 'db')).not.toBeInstanceOf(MyTimeout);
    expect(new MyTimeout(1, 'db')).toBeInstanceOf(other.TimeoutError);
    expect(new MyTimeout(1, 'db')).toBeInstanceOf(other.BreakwaterError);
  });
});
