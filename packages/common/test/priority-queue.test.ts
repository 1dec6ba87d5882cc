import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { PriorityQueue } from '@copycat/common';

describe('PriorityQueue', () => {
  it('pops in comparator order (property: equals a sort)', () => {
    fc.assert(
      fc.property(fc.array(fc.integer()), (values) => {
        const queue = new PriorityQueue<number>((a, b) => a - b);
        for (const v of values) queue.push(v);
        expect(queue.size).toBe(values.length);
        const popped: number[] = [];
        while (queue.size > 0) popped.push(queue.pop()!);
        expect(popped).toEqual([...values].sort((a, b) => a - b));
        expect(queue.pop()).toBeUndefined();
      }),
    );
  });

  it('interleaved pushes and pops keep the minimum on top', () => {
    fc.assert(
      fc.property(fc.array(fc.oneof(fc.integer({ min: 0, max: 100 }), fc.constant(-1))), (ops) => {
        const queue = new PriorityQueue<number>((a, b) => a - b);
        const model: number[] = [];
        for (const op of ops) {
          if (op === -1) {
            model.sort((a, b) => a - b);
            expect(queue.pop()).toBe(model.shift());
          } else {
            queue.push(op);
            model.push(op);
          }
          expect(queue.peek()).toBe(model.length === 0 ? undefined : Math.min(...model));
        }
      }),
    );
  });

  it('breaks ties by a sequence number when the comparator says so', () => {
    let seq = 0;
    const queue = new PriorityQueue<{ time: number; seq: number; name: string }>(
      (a, b) => a.time - b.time || a.seq - b.seq,
    );
    for (const name of ['a', 'b', 'c']) queue.push({ time: 5, seq: seq++, name });
    queue.push({ time: 1, seq: seq++, name: 'first' });
    expect([queue.pop()!.name, queue.pop()!.name, queue.pop()!.name, queue.pop()!.name]).toEqual([
      'first',
      'a',
      'b',
      'c',
    ]);
  });
});
