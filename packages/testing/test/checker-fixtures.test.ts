/**
 * The checker accepts known-good histories and refutes known-bad ones. Times are [call, return];
 * a history is drawn as one line per process in each comment.
 */
import { describe, expect, it } from 'vitest';
import {
  checkLinearizable,
  counterModel,
  kvModel,
  lockModel,
  queueModel,
  registerModel,
  setModel,
  synthesizeHistory,
  type CheckResult,
  type Model,
  type OperationInput,
} from '@copycat/testing';
import { toOperations } from '../src/checker/normalize.js';
import { failed, info, ok } from './fixtures.js';
import { queueReference } from './reference.js';

function verdict<S>(history: readonly OperationInput[], model: Model<S>): CheckResult['result'] {
  return checkLinearizable(history, model).result;
}

const register = registerModel({ initial: 0 });

describe('register: the classic small examples', () => {
  it('accepts a read that overlaps a write and returns either the old or the new value', () => {
    // A: |--write(1)--|
    // B:    |read->0|        |read->1|
    const history = [
      ok('A', 'write', 0, 10, { input: 1 }),
      ok('B', 'read', 2, 4, { output: 0 }),
      ok('B', 'read', 5, 8, { output: 1 }),
    ];
    expect(verdict(history, register)).toBe('ok');
    const reversed = [
      ok('A', 'write', 0, 10, { input: 1 }),
      ok('B', 'read', 2, 4, { output: 1 }),
      ok('B', 'read', 5, 8, { output: 1 }),
    ];
    expect(verdict(reversed, register)).toBe('ok');
  });

  it('refutes a stale read: a read that starts after a write completed returns the old value', () => {
    // A: |write(1)|
    // B:            |read->0|
    const history = [ok('A', 'write', 0, 10, { input: 1 }), ok('B', 'read', 11, 12, { output: 0 })];
    const result = checkLinearizable(history, register);
    expect(result.result).toBe('illegal');
    if (result.result !== 'illegal') return;
    expect(result.counterexample.prefix.map((p) => p.op.name)).toEqual(['write']);
    expect(result.counterexample.state).toBe('1');
    expect(result.counterexample.blocking?.id).toBe(1);
    expect(result.counterexample.candidates).toEqual([
      { op: expect.objectContaining({ id: 1 }), verdict: 'rejected' },
    ]);
    const text = result.describe();
    expect(text).toContain('not linearizable: register model');
    expect(text).toContain('#0 A: write(1) [0, 10]    => 1');
    expect(text).toContain('#1 B: read() -> 0 [11, 12]    not allowed in this state');
  });

  it('refutes the new-old inversion (Herlihy & Shavit, ch. 3): once a read saw the new value, a later read cannot see the old', () => {
    // A: |-------write(1)-------|
    // B:    |read->1|
    // C:              |read->0|
    const history = [
      ok('A', 'write', 0, 20, { input: 1 }),
      ok('B', 'read', 2, 5, { output: 1 }),
      ok('C', 'read', 7, 10, { output: 0 }),
    ];
    expect(verdict(history, register)).toBe('illegal');
    // With C's read overlapping B's, C may be ordered first: linearizable.
    const overlapping = [
      ok('A', 'write', 0, 20, { input: 1 }),
      ok('B', 'read', 2, 8, { output: 1 }),
      ok('C', 'read', 7, 10, { output: 0 }),
    ];
    expect(verdict(overlapping, register)).toBe('ok');
  });

  it('refutes a read of a value never written', () => {
    expect(
      verdict([ok('A', 'write', 0, 1, { input: 1 }), ok('B', 'read', 0, 5, { output: 2 })], register),
    ).toBe('illegal');
  });

  it('refutes a read that returns a value before its write was invoked', () => {
    // B:  |read->1|
    // A:            |write(1)|
    expect(
      verdict([ok('B', 'read', 0, 2, { output: 1 }), ok('A', 'write', 3, 5, { input: 1 })], register),
    ).toBe('illegal');
    expect(
      verdict([ok('B', 'read', 0, 2, { output: 1 }), info('A', 'write', 3, { input: 1 })], register),
    ).toBe('illegal');
  });

  it('treats equal timestamps as overlapping (the permissive reading)', () => {
    expect(
      verdict([ok('A', 'write', 0, 5, { input: 1 }), ok('B', 'read', 5, 6, { output: 0 })], register),
    ).toBe('ok');
  });

  it('compare-and-set: two concurrent successful cas from the same value is a lost write', () => {
    const both = [
      ok('A', 'cas', 0, 5, { input: { expect: 0, update: 1 }, output: true }),
      ok('B', 'cas', 1, 6, { input: { expect: 0, update: 2 }, output: true }),
    ];
    expect(verdict(both, register)).toBe('illegal');
    const oneWins = [
      ok('A', 'cas', 0, 5, { input: { expect: 0, update: 1 }, output: true }),
      ok('B', 'cas', 1, 6, { input: { expect: 0, update: 2 }, output: false }),
      ok('C', 'read', 7, 8, { output: 1 }),
    ];
    expect(verdict(oneWins, register)).toBe('ok');
    // A failed cas says the value differed from `expect` at its linearization point.
    expect(
      verdict([ok('A', 'cas', 0, 1, { input: { expect: 0, update: 1 }, output: false })], register),
    ).toBe('illegal');
  });
});

describe('unknown (info) and failed outcomes', () => {
  it('an info write may take effect at any time after its invocation, even after its info event', () => {
    // A: |write(1)  ... outcome unknown ...
    // B:      |read->0|  |read->0|   |read->1|
    const history = [
      info('A', 'write', 0, { input: 1 }),
      ok('B', 'read', 2, 3, { output: 0 }),
      ok('B', 'read', 50, 51, { output: 0 }),
      ok('B', 'read', 100, 101, { output: 1 }),
    ];
    expect(verdict(history, register)).toBe('ok');
  });

  it('an info write may never take effect', () => {
    const history = [
      info('A', 'write', 0, { input: 1 }),
      ok('B', 'read', 2, 3, { output: 0 }),
      ok('B', 'read', 100, 101, { output: 0 }),
    ];
    expect(verdict(history, register)).toBe('ok');
    // ... also when it is a mutation that would be illegal at the end (a dequeue from an empty queue).
    expect(
      verdict(
        [
          info('A', 'dequeue', 0),
          ok('B', 'enqueue', 1, 2, { input: 'x' }),
          ok('B', 'dequeue', 3, 4, { output: 'x' }),
        ],
        queueModel(),
      ),
    ).toBe('ok');
  });

  it('an info write, once observed, cannot be un-observed', () => {
    const history = [
      info('A', 'write', 0, { input: 1 }),
      ok('B', 'read', 2, 3, { output: 1 }),
      ok('B', 'read', 4, 5, { output: 0 }),
    ];
    expect(verdict(history, register)).toBe('illegal');
  });

  it('a failed operation certainly did not happen', () => {
    expect(
      verdict([failed('A', 'write', 0, 1, { input: 1 }), ok('B', 'read', 2, 3, { output: 1 })], register),
    ).toBe('illegal');
    expect(
      verdict([failed('A', 'write', 0, 1, { input: 1 }), ok('B', 'read', 2, 3, { output: 0 })], register),
    ).toBe('ok');
  });

  it('a read with unknown outcome constrains nothing and is left out', () => {
    const result = checkLinearizable([ok('A', 'write', 0, 1, { input: 1 }), info('B', 'read', 2)], register);
    expect(result.result).toBe('ok');
    expect(result.operations).toBe(1);
  });

  it('a pending operation at the end of a recorded history counts as unknown', () => {
    const history = [
      { process: 'A', name: 'write', input: 1, call: 0 },
      ok('B', 'read', 5, 6, { output: 1 }),
    ];
    expect(verdict(history, register)).toBe('ok');
  });
});

describe('key-value map', () => {
  const kv = kvModel();

  it('refutes a lost write: a put that completed is not seen by a later get', () => {
    expect(
      verdict(
        [ok('A', 'put', 0, 1, { key: 'x', input: 'v1' }), ok('B', 'get', 2, 3, { key: 'x', output: null })],
        kv,
      ),
    ).toBe('illegal');
    expect(
      verdict(
        [ok('A', 'put', 0, 1, { key: 'x', input: 'v1' }), ok('B', 'get', 2, 3, { key: 'x', output: 'v1' })],
        kv,
      ),
    ).toBe('ok');
  });

  it('checks each key on its own and reports the key that failed', () => {
    const history = [
      ok('A', 'put', 0, 1, { key: 'x', input: 1 }),
      ok('B', 'put', 0, 1, { key: 'y', input: 1 }),
      ok('A', 'get', 2, 3, { key: 'x', output: 1 }),
      ok('B', 'put', 2, 3, { key: 'y', input: 2 }),
      ok('C', 'get', 4, 5, { key: 'y', output: 1 }),
    ];
    const result = checkLinearizable(history, kv);
    expect(result.result).toBe('illegal');
    expect(result.partitions).toBe(2);
    if (result.result === 'illegal') expect(result.counterexample.partition).toContain('key "y"');
  });

  it('remove makes a key absent; cas with expect null means "absent"', () => {
    const history = [
      ok('A', 'cas', 0, 1, { key: 'x', input: { expect: null, update: 'a' }, output: true }),
      ok('A', 'remove', 2, 3, { key: 'x' }),
      ok('B', 'get', 4, 5, { key: 'x', output: null }),
      ok('B', 'cas', 6, 7, { key: 'x', input: { expect: null, update: 'b' }, output: true }),
      ok('C', 'get', 8, 9, { key: 'x', output: 'b' }),
    ];
    expect(verdict(history, kv)).toBe('ok');
    expect(
      verdict(
        [
          ok('A', 'put', 0, 1, { key: 'x', input: 'a' }),
          ok('A', 'remove', 2, 3, { key: 'x' }),
          ok('B', 'get', 4, 5, { key: 'x', output: 'a' }),
        ],
        kv,
      ),
    ).toBe('illegal');
  });

  it('checks previous values when put and remove return them', () => {
    const withPrevious = kvModel({ returnsPrevious: true });
    const good = [
      ok('A', 'put', 0, 1, { key: 'x', input: 'a', output: null }),
      ok('A', 'put', 2, 3, { key: 'x', input: 'b', output: 'a' }),
      ok('A', 'remove', 4, 5, { key: 'x', output: 'b' }),
    ];
    expect(verdict(good, withPrevious)).toBe('ok');
    const bad = [
      ok('A', 'put', 0, 1, { key: 'x', input: 'a', output: null }),
      ok('B', 'put', 2, 3, { key: 'x', input: 'b', output: null }),
    ];
    expect(verdict(bad, withPrevious)).toBe('illegal');
    expect(verdict(bad, kv)).toBe('ok');
  });

  it('compares structured values by content, not identity or key order', () => {
    const history = [
      ok('A', 'put', 0, 1, { key: 'x', input: { b: [1, 2], a: 'z' } }),
      ok('B', 'get', 2, 3, { key: 'x', output: { a: 'z', b: [1, 2] } }),
    ];
    expect(verdict(history, kv)).toBe('ok');
  });
});

describe('counter', () => {
  const counter = counterModel();

  it('refutes a duplicate apply: one increment seen twice', () => {
    expect(verdict([ok('A', 'add', 0, 1, { input: 1 }), ok('B', 'get', 2, 3, { output: 2 })], counter)).toBe(
      'illegal',
    );
    expect(verdict([ok('A', 'add', 0, 1, { input: 1 }), ok('B', 'get', 2, 3, { output: 1 })], counter)).toBe(
      'ok',
    );
  });

  it('refutes a lost update: two concurrent increments that both return 1', () => {
    expect(
      verdict(
        [ok('A', 'incrementAndGet', 0, 5, { output: 1 }), ok('B', 'incrementAndGet', 1, 6, { output: 1 })],
        counter,
      ),
    ).toBe('illegal');
    expect(
      verdict(
        [ok('A', 'incrementAndGet', 0, 5, { output: 2 }), ok('B', 'incrementAndGet', 1, 6, { output: 1 })],
        counter,
      ),
    ).toBe('ok');
  });

  it('an increment with unknown outcome may or may not be counted, but only once', () => {
    const base = [info('A', 'incrementAndGet', 0), ok('B', 'incrementAndGet', 1, 2, { output: 1 })];
    expect(verdict([...base, ok('C', 'get', 3, 4, { output: 1 })], counter)).toBe('ok');
    expect(verdict([...base, ok('C', 'get', 3, 4, { output: 2 })], counter)).toBe('ok');
    expect(verdict([...base, ok('C', 'get', 3, 4, { output: 3 })], counter)).toBe('illegal');
  });

  it('getAndAdd returns the old value, addAndGet the new one; compareAndSet succeeds only on a match', () => {
    const history = [
      ok('A', 'getAndAdd', 0, 1, { input: 5, output: 0 }),
      ok('A', 'addAndGet', 2, 3, { input: 5, output: 10 }),
      ok('A', 'compareAndSet', 4, 5, { input: { expect: 10, update: 1 }, output: true }),
      ok('A', 'compareAndSet', 6, 7, { input: { expect: 10, update: 2 }, output: false }),
      ok('A', 'getAndDecrement', 8, 9, { output: 1 }),
      ok('A', 'get', 10, 11, { output: 0 }),
    ];
    expect(verdict(history, counter)).toBe('ok');
  });
});

describe('set', () => {
  const set = setModel();

  it('refutes an add that is not seen by a later contains', () => {
    expect(
      verdict(
        [ok('A', 'add', 0, 1, { input: 'x' }), ok('B', 'contains', 2, 3, { input: 'x', output: false })],
        set,
      ),
    ).toBe('illegal');
  });

  it('refutes a duplicate apply: the same element reported as newly added twice', () => {
    const history = [
      ok('A', 'add', 0, 1, { input: 'x', output: true }),
      ok('B', 'add', 2, 3, { input: 'x', output: true }),
    ];
    expect(verdict(history, set)).toBe('illegal');
    const withRemove = [
      ok('A', 'add', 0, 1, { input: 'x', output: true }),
      ok('C', 'remove', 0, 3, { input: 'x', output: true }),
      ok('B', 'add', 2, 4, { input: 'x', output: true }),
    ];
    expect(verdict(withRemove, set)).toBe('ok');
  });

  it('partitions per element unless a whole-set read ties elements together', () => {
    const perElement = [
      ok('A', 'add', 0, 1, { input: 'x' }),
      ok('B', 'add', 0, 1, { input: 'y' }),
      ok('C', 'contains', 2, 3, { input: 'y', output: true }),
    ];
    expect(checkLinearizable(perElement, set).partitions).toBe(2);
    const read = [...perElement, ok('D', 'read', 4, 5, { output: ['y', 'x'] })];
    const result = checkLinearizable(read, set);
    expect(result.result).toBe('ok');
    expect(result.partitions).toBe(1);
    expect(verdict([...perElement, ok('D', 'read', 4, 5, { output: ['x', 'z'] })], set)).toBe('illegal');
    expect(verdict([...perElement, ok('D', 'size', 4, 5, { output: 1 })], set)).toBe('illegal');
  });
});

describe('lock with fencing tokens', () => {
  const lock = lockModel();

  it('refutes a double lock grant: two overlapping holders', () => {
    // A: |acquire->1|..................
    // B:      |acquire->2|   (no release in between)
    expect(
      verdict([ok('A', 'acquire', 0, 2, { output: 1 }), ok('B', 'acquire', 1, 3, { output: 2 })], lock),
    ).toBe('illegal');
    expect(
      verdict(
        [
          ok('A', 'acquire', 0, 2, { output: 1 }),
          ok('A', 'release', 3, 4),
          ok('B', 'acquire', 1, 6, { output: 2 }),
        ],
        lock,
      ),
    ).toBe('ok');
  });

  it('refutes fencing tokens that do not increase', () => {
    const history = [
      ok('A', 'acquire', 0, 1, { output: 5 }),
      ok('A', 'release', 2, 3),
      ok('B', 'acquire', 4, 5, { output: 5 }),
    ];
    expect(verdict(history, lock)).toBe('illegal');
  });

  it('refutes a release by a process that does not hold the lock', () => {
    expect(verdict([ok('A', 'acquire', 0, 1, { output: 1 }), ok('B', 'release', 2, 3)], lock)).toBe(
      'illegal',
    );
    expect(
      verdict([ok('A', 'acquire', 0, 1, { output: 1 }), ok('B', 'release', 2, 3, { output: false })], lock),
    ).toBe('ok');
  });

  it('an acquire with unknown outcome may never have been granted', () => {
    expect(verdict([info('A', 'acquire', 0), ok('B', 'acquire', 1, 2, { output: 1 })], lock)).toBe('ok');
  });

  it('an expired session is an info release by its holder: the next grant is then legal', () => {
    const expired = [
      ok('A', 'acquire', 0, 1, { output: 1 }),
      info('A', 'release', 2),
      ok('B', 'acquire', 3, 4, { output: 2 }),
    ];
    expect(verdict(expired, lock)).toBe('ok');
  });

  it('tryAcquire fails only while someone holds the lock', () => {
    expect(verdict([ok('A', 'tryAcquire', 0, 1, { output: false })], lock)).toBe('illegal');
    expect(
      verdict(
        [
          ok('A', 'acquire', 0, 1, { output: 1 }),
          ok('B', 'tryAcquire', 2, 3, { output: false }),
          ok('A', 'release', 4, 5),
          ok('B', 'tryAcquire', 6, 7, { output: 2 }),
        ],
        lock,
      ),
    ).toBe('ok');
  });
});

describe('FIFO queue', () => {
  const queue = queueModel();

  it('refutes a reordered queue: the later enqueue dequeued first', () => {
    // A: |enq(x)|          |deq->y|
    // B:         |enq(y)|
    expect(
      verdict(
        [
          ok('A', 'enqueue', 0, 1, { input: 'x' }),
          ok('B', 'enqueue', 2, 3, { input: 'y' }),
          ok('A', 'dequeue', 4, 5, { output: 'y' }),
        ],
        queue,
      ),
    ).toBe('illegal');
  });

  it('accepts overlapping enqueues dequeued in either order (Herlihy & Wing)', () => {
    // A: |----enq(x)----|  |deq->y|
    // B:    |--enq(y)--|            |deq->x|
    const history = [
      ok('A', 'enqueue', 0, 10, { input: 'x' }),
      ok('B', 'enqueue', 2, 8, { input: 'y' }),
      ok('A', 'dequeue', 11, 12, { output: 'y' }),
      ok('B', 'dequeue', 13, 14, { output: 'x' }),
    ];
    expect(verdict(history, queue)).toBe('ok');
  });

  it('refutes a duplicate delivery: one element dequeued twice', () => {
    expect(
      verdict(
        [
          ok('A', 'enqueue', 0, 1, { input: 'x' }),
          ok('B', 'dequeue', 2, 3, { output: 'x' }),
          ok('C', 'dequeue', 2, 4, { output: 'x' }),
        ],
        queue,
      ),
    ).toBe('illegal');
  });

  it('refutes an empty dequeue after a completed enqueue', () => {
    expect(
      verdict([ok('A', 'enqueue', 0, 1, { input: 'x' }), ok('B', 'dequeue', 2, 3, { output: null })], queue),
    ).toBe('illegal');
    expect(
      verdict([ok('A', 'enqueue', 0, 5, { input: 'x' }), ok('B', 'dequeue', 2, 3, { output: null })], queue),
    ).toBe('ok');
  });
});

describe('FIFO queue: what the history forces', () => {
  const queue = queueModel();
  const pairs = (history: readonly OperationInput[]) =>
    queue.precedence!(toOperations(history)).map(([a, b]) => [a, b]);

  it('orders the enqueues of elements dequeued one after the other', () => {
    // A: |enq(a)|   |deq->a|
    // B: |enq(b)|   |deq->c|
    // C: |enq(c)|             |deq->b|
    const history = [
      ok('A', 'enqueue', 0, 1, { input: 'a' }),
      ok('B', 'enqueue', 0, 1, { input: 'b' }),
      ok('C', 'enqueue', 0, 1, { input: 'c' }),
      ok('A', 'dequeue', 2, 3, { output: 'a' }),
      ok('B', 'dequeue', 2, 3, { output: 'c' }),
      ok('C', 'dequeue', 4, 5, { output: 'b' }),
    ];
    // a and c (dequeued together, in either order) before b; nothing between a and c.
    expect(pairs(history).sort()).toEqual([
      [0, 1],
      [2, 1],
    ]);
    expect(verdict(history, queue)).toBe('ok');
  });

  it('leaves out pairs that others imply, and elements that are not unique', () => {
    const chain = [0, 1, 2, 3].flatMap((i) => [
      ok('A', 'enqueue', 0, 1, { input: i }),
      ok('B', 'dequeue', 2 + 2 * i, 3 + 2 * i, { output: i }),
    ]);
    // 0 < 1 < 2 < 3: three pairs, not six.
    expect(pairs(chain)).toEqual([
      [0, 2],
      [2, 4],
      [4, 6],
    ]);
    const twice = [...chain, ok('C', 'enqueue', 0, 1, { input: 1 })];
    expect(pairs(twice)).toEqual([
      [0, 4],
      [4, 6],
    ]);
    // An unknown outcome of a dequeue says nothing about order.
    expect(
      pairs([...chain.slice(0, 6), info('B', 'dequeue', 8), ok('A', 'enqueue', 0, 1, { input: 9 })]),
    ).toEqual([
      [0, 2],
      [2, 4],
    ]);
  });

  it('still refutes an enqueue order that no dequeue order allows', () => {
    // A: |enq(a)|  |enq(b)|
    // B:                    |deq->b|  |deq->a|
    expect(
      verdict(
        [
          ok('A', 'enqueue', 0, 1, { input: 'a' }),
          ok('A', 'enqueue', 2, 3, { input: 'b' }),
          ok('B', 'dequeue', 4, 5, { output: 'b' }),
          ok('B', 'dequeue', 6, 7, { output: 'a' }),
        ],
        queue,
      ),
    ).toBe('illegal');
  });

  it('refutes a dequeue of an element nobody enqueued by that operation alone', () => {
    const history = [
      ...Array.from({ length: 12 }, (_, i) => ok(`p${i}`, 'enqueue', 0, 10, { input: i })),
      ok('A', 'dequeue', 5, 20, { output: 'never enqueued' }),
    ];
    const result = checkLinearizable(history, queue);
    expect(result.result).toBe('illegal');
    expect(result.describe()).toMatch(/\(1 operation\)[^]*dequeue\(\) -> "never enqueued"/);
    // A peek too; an empty answer is not an element.
    expect(verdict([ok('A', 'peek', 0, 1, { output: 'x' })], queue)).toBe('illegal');
    expect(verdict([ok('A', 'peek', 0, 1, { output: null })], queue)).toBe('ok');
  });

  it('decides a 31-operation history with lost operations that once took over 30 s', () => {
    // Found by the acceptance property in CI: the order of fourteen overlapping enqueues nobody
    // dequeued was searched in full.
    const reference = queueReference();
    const history = synthesizeHistory({
      seed: 261500794,
      operations: 31,
      processes: 4,
      infoRate: 0.2,
      failRate: 0.05,
      next: reference.next,
      apply: reference.apply,
    });
    expect(checkLinearizable(history, queue, { timeoutMs: 10_000 }).result).toBe('ok');
  });
});

describe('checker limits', () => {
  it("returns 'unknown' instead of hanging when the time budget runs out", () => {
    // 60 overlapping writes of distinct values, then a read of a value none wrote: refuting it
    // means trying every subset and order of writes, far more than 50 ms allows.
    const writes = Array.from({ length: 60 }, (_, i) => ok(`w${i}`, 'write', i, 1000, { input: i + 1 }));
    const reads = Array.from({ length: 60 }, (_, i) =>
      ok(`r${i}`, 'read', 100 + i, 900, { output: (i * 7) % 61 }),
    );
    const started = performance.now();
    const result = checkLinearizable(
      [...writes, ...reads, ok('z', 'read', 950, 960, { output: 'never' })],
      register,
      { timeoutMs: 50 },
    );
    expect(performance.now() - started).toBeLessThan(2000);
    expect(result.result).toBe('unknown');
    if (result.result === 'unknown') expect(result.reason).toMatch(/timed out after 50 ms/);
    expect(result.describe()).toMatch(/^unknown: /);
  });

  it('rejects malformed histories loudly', () => {
    expect(() => checkLinearizable([ok('A', 'frobnicate', 0, 1)], register)).toThrow(
      /unknown operation 'frobnicate'/,
    );
    expect(() => checkLinearizable([ok('A', 'write', 5, 1, { input: 1 })], register)).toThrow(
      /before its call/,
    );
    expect(() => checkLinearizable([ok('A', 'cas', 0, 1, { input: 3, output: true })], register)).toThrow(
      /expect, update/,
    );
    expect(() => checkLinearizable([ok('A', 'enqueue', 0, 1, { input: null })], queueModel())).toThrow(
      /null cannot be enqueued/,
    );
  });

  it('accepts the empty history', () => {
    expect(checkLinearizable([], register).result).toBe('ok');
  });
});
