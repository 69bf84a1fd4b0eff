import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type Linked, List } from '../../src/core/list.js';

class Node implements Linked<Node> {
  prev: Node | null = null;
  next: Node | null = null;
  constructor(readonly id: number) {}
}

const ids = (list: List<Node>) => [...list].map((n) => n.id);

describe('List', () => {
  it('pushes, peeks, shifts in FIFO order and counts its nodes', () => {
    const list = new List<Node>();
    expect(list.peek()).toBeNull();
    expect(list.last()).toBeNull();
    expect(list.shift()).toBeNull();
    const [a, b, c] = [new Node(1), new Node(2), new Node(3)];
    list.push(a);
    list.push(b);
    list.push(c);
    expect(list.size).toBe(3);
    expect(list.peek()).toBe(a);
    expect(list.last()).toBe(c);
    expect(ids(list)).toEqual([1, 2, 3]);
    expect(list.shift()).toBe(a);
    expect(a.prev).toBeNull();
    expect(a.next).toBeNull();
    expect(list.has(a)).toBe(false);
    expect(ids(list)).toEqual([2, 3]);
    expect(list.size).toBe(2);
  });

  it('removes from the head, the middle and the tail in O(1)', () => {
    const list = new List<Node>();
    const nodes = [1, 2, 3, 4, 5].map((i) => new Node(i));
    for (const n of nodes) list.push(n);
    expect(list.remove(nodes[2]!)).toBe(true);
    expect(ids(list)).toEqual([1, 2, 4, 5]);
    expect(list.remove(nodes[0]!)).toBe(true);
    expect(list.peek()).toBe(nodes[1]);
    expect(list.remove(nodes[4]!)).toBe(true);
    expect(list.last()).toBe(nodes[3]);
    expect(ids(list)).toEqual([2, 4]);
    expect(list.size).toBe(2);
  });

  it('tolerates removing a node that is not listed, including a lone node of another list', () => {
    const list = new List<Node>();
    const other = new List<Node>();
    const a = new Node(1);
    const stranger = new Node(2);
    list.push(a);
    expect(list.remove(stranger)).toBe(false);
    expect(list.has(stranger)).toBe(false);
    other.push(stranger);
    expect(list.remove(stranger)).toBe(false);
    expect(list.size).toBe(1);
    expect(list.remove(a)).toBe(true);
    expect(list.remove(a)).toBe(false);
    expect(list.size).toBe(0);
    expect(list.peek()).toBeNull();
    expect(list.last()).toBeNull();
    expect(other.size).toBe(1);
  });

  it('unshifts at the front and lets a node move (remove + unshift)', () => {
    const list = new List<Node>();
    const [a, b, c] = [new Node(1), new Node(2), new Node(3)];
    list.unshift(a);
    list.unshift(b);
    list.push(c);
    expect(ids(list)).toEqual([2, 1, 3]);
    list.remove(c);
    list.unshift(c);
    expect(ids(list)).toEqual([3, 2, 1]);
    expect(list.last()).toBe(a);
  });

  it('clears, unlinking every node, and is reusable', () => {
    const list = new List<Node>();
    const nodes = [1, 2, 3].map((i) => new Node(i));
    for (const n of nodes) list.push(n);
    list.clear();
    expect(list.size).toBe(0);
    expect(list.peek()).toBeNull();
    for (const n of nodes) {
      expect(n.prev).toBeNull();
      expect(n.next).toBeNull();
      expect(list.has(n)).toBe(false);
    }
    list.push(nodes[1]!);
    expect(ids(list)).toEqual([2]);
  });

  it('lets the current node be removed while iterating', () => {
    const list = new List<Node>();
    for (let i = 1; i <= 6; i++) list.push(new Node(i));
    for (const n of list) if (n.id % 2 === 0) list.remove(n);
    expect(ids(list)).toEqual([1, 3, 5]);
    expect(list.size).toBe(3);
  });

  it('behaves like an array for any sequence of push, unshift, remove and shift', () => {
    type Op =
      | { t: 'push' }
      | { t: 'unshift' }
      | { t: 'shift' }
      | { t: 'remove'; pick: number }
      | { t: 'removeStranger' };
    const op: fc.Arbitrary<Op> = fc.oneof(
      fc.constant({ t: 'push' as const }),
      fc.constant({ t: 'unshift' as const }),
      fc.constant({ t: 'shift' as const }),
      fc.record({ t: fc.constant('remove' as const), pick: fc.nat() }),
      fc.constant({ t: 'removeStranger' as const }),
    );
    fc.assert(
      fc.property(fc.array(op, { maxLength: 200 }), (ops) => {
        const list = new List<Node>();
        const model: Node[] = [];
        // Every node ever created, listed or not: removing one that left must do nothing.
        const all: Node[] = [];
        let id = 0;
        for (const o of ops) {
          switch (o.t) {
            case 'push': {
              const n = new Node(id++);
              all.push(n);
              list.push(n);
              model.push(n);
              break;
            }
            case 'unshift': {
              const n = new Node(id++);
              all.push(n);
              list.unshift(n);
              model.unshift(n);
              break;
            }
            case 'shift':
              expect(list.shift()).toBe(model.shift() ?? null);
              break;
            case 'remove': {
              if (all.length === 0) break;
              const n = all[o.pick % all.length]!;
              const i = model.indexOf(n);
              expect(list.remove(n)).toBe(i >= 0);
              if (i >= 0) model.splice(i, 1);
              break;
            }
            case 'removeStranger':
              expect(list.remove(new Node(-1))).toBe(false);
              break;
          }
          expect(list.size).toBe(model.length);
          expect(list.peek()).toBe(model[0] ?? null);
          expect(list.last()).toBe(model[model.length - 1] ?? null);
        }
        expect([...list]).toEqual(model);
        for (const n of all) expect(list.has(n)).toBe(model.includes(n));
        // The links agree with the order in both directions.
        const backwards: Node[] = [];
        for (let n = list.last(); n !== null; n = n.prev) backwards.push(n);
        expect(backwards.reverse()).toEqual(model);
      }),
      { numRuns: 300 },
    );
  });
});
