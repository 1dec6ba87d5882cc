/**
 * Properties of the checker:
 * - histories produced by a real sequential implementation under random concurrency (so
 *   linearizable by construction) are always accepted;
 * - the same histories with one read changed to a value never written are always refuted;
 * - on small random histories its verdict equals a brute-force search over every order;
 * - partitioning by key never changes the verdict.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  History,
  UNKNOWN,
  checkLinearizable,
  counterModel,
  kvModel,
  lockModel,
  queueModel,
  registerModel,
  setModel,
  synthesizeHistory,
  type HistoryEvent,
  type Model,
  type OperationInput,
} from '@copycat/testing';
import {
  counterReference,
  kvReference,
  lockReference,
  queueReference,
  registerReference,
  setReference,
  type Reference,
} from './reference.js';

const shapeOf = (maxOperations: number, maxProcesses: number) =>
  fc.record({
    seed: fc.nat({ max: 2 ** 31 }),
    operations: fc.integer({ min: 1, max: maxOperations }),
    processes: fc.integer({ min: 1, max: maxProcesses }),
    infoRate: fc.constantFrom(0, 0.05, 0.2),
    failRate: fc.constantFrom(0, 0.05),
  });
const shape = shapeOf(80, 8);
type Shape = typeof shape extends fc.Arbitrary<infer T> ? T : never;

function synthesize(s: Shape, reference: Reference): History {
  return synthesizeHistory({ ...s, next: reference.next, apply: reference.apply });
}

/** Changes the output of one completed read chosen by `pick`, or returns undefined if none. */
function mutateRead(
  history: History,
  isRead: (name: string, output: unknown) => boolean,
  pick: number,
  output: (old: unknown) => unknown,
): History | undefined {
  const names = new Map<number, string>();
  for (const e of history.events) if (e.type === 'invoke') names.set(e.id, e.op.name);
  const reads = history.events.flatMap((e, i) =>
    e.type === 'ok' && isRead(names.get(e.id)!, e.output) ? [i] : [],
  );
  if (reads.length === 0) return undefined;
  const index = reads[pick % reads.length]!;
  const events: HistoryEvent[] = [...history.events];
  const target = events[index] as HistoryEvent & { type: 'ok' };
  events[index] = { ...target, output: output(target.output) };
  return History.fromEvents(events);
}

interface Case {
  name: string;
  /** History sizes; queues get smaller ones (see the README: long queues are hard for this search). */
  shape?: fc.Arbitrary<Shape>;
  model: () => Model<unknown>;
  reference: () => Reference;
  isRead: (name: string, output: unknown) => boolean;
  never: (old: unknown) => unknown;
}

const cases: Case[] = [
  {
    name: 'kv map',
    model: () => kvModel(),
    reference: () => kvReference(3),
    isRead: (n) => n === 'get',
    never: () => 'never written',
  },
  {
    name: 'register',
    model: () => registerModel(),
    reference: registerReference,
    isRead: (n) => n === 'read',
    never: () => 'never written',
  },
  {
    name: 'counter',
    model: () => counterModel(),
    reference: counterReference,
    isRead: (n) => n === 'get',
    never: () => -1,
  },
  {
    name: 'queue',
    shape: shapeOf(40, 4),
    model: () => queueModel(),
    reference: queueReference,
    isRead: (n, out) => n === 'dequeue' && out !== null,
    never: () => 'never enqueued',
  },
  {
    name: 'set (whole-set reads)',
    model: () => setModel(),
    reference: () => setReference(4, true),
    isRead: (n) => n === 'read',
    never: (old) => [...(old as unknown[]), 'never added'],
  },
  {
    name: 'set (per element)',
    model: () => setModel(),
    reference: () => setReference(4, false),
    isRead: (n, out) => n === 'contains' && out === false,
    never: () => true,
  },
];

describe('linearizable by construction', () => {
  for (const c of cases) {
    it(`${c.name}: histories of a real sequential implementation under random concurrency are accepted`, () => {
      fc.assert(
        fc.property(c.shape ?? shape, (s) => {
          const result = checkLinearizable(synthesize(s, c.reference()), c.model(), { timeoutMs: 10_000 });
          if (result.result !== 'ok') throw new Error(result.describe());
        }),
        { numRuns: 120 },
      );
    });
  }

  it('lock: histories of a real lock with fencing tokens under random concurrency are accepted', () => {
    fc.assert(
      fc.property(shape, (s) => {
        const result = checkLinearizable(synthesize(s, lockReference()), lockModel(), { timeoutMs: 10_000 });
        if (result.result !== 'ok') throw new Error(result.describe());
      }),
      { numRuns: 120 },
    );
  });
});

describe('one read changed to a value never written', () => {
  for (const c of cases) {
    it(`${c.name}: is always refuted`, () => {
      let refuted = 0;
      fc.assert(
        fc.property(c.shape ?? shape, fc.nat(), (s, pick) => {
          // The "set (per element)" case flips a contains of an element that was never added.
          const reference = c.name === 'set (per element)' ? setReference(4, false) : c.reference();
          const history = synthesize(s, reference);
          const mutated =
            c.name === 'set (per element)'
              ? mutateContainsToNeverAdded(history, pick)
              : mutateRead(history, c.isRead, pick, c.never);
          fc.pre(mutated !== undefined);
          const result = checkLinearizable(mutated, c.model(), { timeoutMs: 10_000 });
          expect(result.result).toBe('illegal');
          refuted++;
        }),
        { numRuns: 120 },
      );
      expect(refuted).toBeGreaterThan(20);
    });
  }

  it('lock: a grant that repeats an earlier fencing token is always refuted', () => {
    let refuted = 0;
    fc.assert(
      // Smaller than the others: refuting means exhausting every placement of the lost grants
      // and releases before the bad grant, which grows fast with 20% unknown outcomes.
      fc.property(shapeOf(50, 5), fc.nat(), (s, pick) => {
        const history = synthesize(s, lockReference());
        const grants = history.events.flatMap((e, i) =>
          e.type === 'ok' && typeof e.output === 'number' ? [i] : [],
        );
        fc.pre(grants.length >= 2);
        const events = [...history.events];
        const later = grants[1 + (pick % (grants.length - 1))]!;
        const earlier = events[grants[0]!] as HistoryEvent & { type: 'ok' };
        events[later] = { ...(events[later] as HistoryEvent & { type: 'ok' }), output: earlier.output };
        expect(checkLinearizable(History.fromEvents(events), lockModel()).result).toBe('illegal');
        refuted++;
      }),
      { numRuns: 120 },
    );
    expect(refuted).toBeGreaterThan(20);
  });
});

/** A completed `contains(e) -> false` becomes `contains('never added') -> true`. */
function mutateContainsToNeverAdded(history: History, pick: number): History | undefined {
  const invokes = new Map<number, number>();
  history.events.forEach((e, i) => {
    if (e.type === 'invoke') invokes.set(e.id, i);
  });
  const candidates = history.events.flatMap((e, i) => {
    if (e.type !== 'ok') return [];
    const invoke = history.events[invokes.get(e.id)!] as HistoryEvent & { type: 'invoke' };
    return invoke.op.name === 'contains' ? [i] : [];
  });
  if (candidates.length === 0) return undefined;
  const index = candidates[pick % candidates.length]!;
  const events = [...history.events];
  const completion = events[index] as HistoryEvent & { type: 'ok' };
  const invokeIndex = invokes.get(completion.id)!;
  const invoke = events[invokeIndex] as HistoryEvent & { type: 'invoke' };
  events[invokeIndex] = { ...invoke, op: { ...invoke.op, input: 'never added' } };
  events[index] = { ...completion, output: true };
  return History.fromEvents(events);
}

/**
 * The definition, executed: is there a subset of the unknown-outcome operations and an order of
 * them with all completed ones that respects real time and that the model accepts?
 */
function bruteForce<S>(ops: readonly OperationInput[], model: Model<S>): boolean {
  const relevant = ops.filter((op) => op.outcome !== 'fail');
  const done = relevant.filter((op) => op.outcome === 'ok');
  const open = relevant.filter((op) => op.outcome !== 'ok');
  const precedes = (a: OperationInput, b: OperationInput) => a.outcome === 'ok' && a.return! < b.call;
  const search = (remaining: OperationInput[], placed: OperationInput[], state: S): boolean => {
    if (remaining.length === 0) return true;
    return remaining.some((op) => {
      if (remaining.some((other) => other !== op && precedes(other, op))) return false;
      const [ok, next] = model.step(state, op, op.outcome === 'ok' ? op.output : UNKNOWN);
      return (
        ok &&
        search(
          remaining.filter((r) => r !== op),
          [...placed, op],
          next,
        )
      );
    });
  };
  for (let mask = 0; mask < 1 << open.length; mask++) {
    const chosen = open.filter((_, i) => mask & (1 << i));
    if (search([...done, ...chosen], [], model.init())) return true;
  }
  return false;
}

type Outcome = 'ok' | 'info' | 'fail';
const mostlyOk = fc.constantFrom<Outcome>('ok', 'ok', 'ok', 'ok', 'info', 'fail');
const mostlyInfo = fc.constantFrom<Outcome>('ok', 'ok', 'info', 'info', 'info');

const smallOp = (
  names: fc.Arbitrary<{ name: string; input?: unknown; output?: unknown }>,
  outcomes: fc.Arbitrary<Outcome> = mostlyOk,
) =>
  fc
    .record({
      process: fc.constantFrom('A', 'B', 'C'),
      op: names,
      call: fc.integer({ min: 0, max: 12 }),
      length: fc.integer({ min: 0, max: 6 }),
      outcome: outcomes,
    })
    .map(({ process, op, call, length, outcome }): OperationInput => ({
      process,
      ...op,
      call,
      return: call + length,
      outcome,
    }));

const value = fc.constantFrom(0, 1, 2);
const registerOps = fc.oneof(
  fc.record({ name: fc.constant('read'), output: value }),
  fc.record({ name: fc.constant('write'), input: value }),
  fc.record({
    name: fc.constant('cas'),
    input: fc.record({ expect: value, update: value }),
    output: fc.boolean(),
  }),
);
const queueOps = fc.oneof(
  fc.record({ name: fc.constant('enqueue'), input: fc.constantFrom('x', 'y') }),
  fc.record({ name: fc.constant('dequeue'), output: fc.constantFrom('x', 'y', null) }),
);
// More elements, so that many histories enqueue each once (where the queue's precedence
// pairs apply), and peek and size, which the simplifications must respect.
const element = fc.constantFrom('a', 'b', 'c');
const queueOpsDistinct = fc.oneof(
  { weight: 4, arbitrary: fc.record({ name: fc.constant('enqueue'), input: element }) },
  {
    weight: 4,
    arbitrary: fc.record({ name: fc.constant('dequeue'), output: fc.constantFrom('a', 'b', 'c', null) }),
  },
  { weight: 1, arbitrary: fc.record({ name: fc.constant('peek'), output: fc.constantFrom('a', 'b', null) }) },
  { weight: 1, arbitrary: fc.record({ name: fc.constant('size'), output: fc.constantFrom(0, 1, 2) }) },
);
const lockOps = fc.oneof(
  fc.record({ name: fc.constant('acquire'), output: fc.integer({ min: 1, max: 4 }) }),
  fc.record({ name: fc.constant('tryAcquire'), output: fc.constantFrom(1, 2, 3, false) }),
  fc.record({ name: fc.constant('release') }),
);

const counterOps = fc.oneof(
  fc.record({ name: fc.constant('get'), output: fc.constantFrom(0, 1, 2, 3) }),
  fc.record({ name: fc.constant('incrementAndGet'), output: fc.constantFrom(1, 2, 3) }),
  fc.record({ name: fc.constant('add'), input: fc.constantFrom(1, 2) }),
);

/** The map as one object, unpartitioned: its state is every key's value. */
function wholeMap(): Model<Readonly<Record<string, string>>> {
  const perKey = kvModel();
  return {
    name: 'kv (whole map)',
    init: () => ({}),
    step(state, op, output) {
      const [ok, value] = perKey.step(state[op.key!] ?? perKey.init(), op, output);
      return [ok, { ...state, [op.key!]: value }];
    },
    key: (state) => JSON.stringify(Object.entries(state).sort()),
  };
}

const setOps = fc.oneof(
  fc.record({
    name: fc.constantFrom('add', 'remove'),
    input: fc.constantFrom('x', 'y'),
    output: fc.boolean(),
  }),
  fc.record({ name: fc.constant('contains'), input: fc.constantFrom('x', 'y'), output: fc.boolean() }),
  fc.record({ name: fc.constant('read'), output: fc.constantFrom([], ['x'], ['y'], ['x', 'y']) }),
);
const kvOpsSmall = fc.oneof(
  fc.record({
    name: fc.constant('get'),
    key: fc.constantFrom('a', 'b'),
    output: fc.constantFrom(null, 1, 2),
  }),
  fc.record({ name: fc.constant('put'), key: fc.constantFrom('a', 'b'), input: fc.constantFrom(1, 2) }),
  fc.record({
    name: fc.constant('cas'),
    key: fc.constantFrom('a', 'b'),
    input: fc.record({ expect: fc.constantFrom(null, 1, 2), update: fc.constantFrom(1, 2) }),
    output: fc.boolean(),
  }),
);

describe('agreement with brute force on small random histories', () => {
  const check = <S, B = S>(
    ops: fc.Arbitrary<{ name: string }>,
    model: Model<S>,
    outcomes?: fc.Arbitrary<Outcome>,
    maxLength = 6,
    oracle?: Model<B>,
  ) => {
    let legal = 0;
    let illegal = 0;
    fc.assert(
      fc.property(fc.array(smallOp(ops, outcomes), { minLength: 0, maxLength }), (history) => {
        const expected = oracle === undefined ? bruteForce(history, model) : bruteForce(history, oracle);
        if (expected) legal++;
        else illegal++;
        expect(checkLinearizable(history, model).result).toBe(expected ? 'ok' : 'illegal');
      }),
      { numRuns: 600 },
    );
    // Both verdicts must actually be exercised.
    expect(legal).toBeGreaterThan(50);
    expect(illegal).toBeGreaterThan(50);
  };

  it('register (read / write / cas)', () => check(registerOps, registerModel({ initial: 0 })));
  it('queue (enqueue / dequeue)', () => check(queueOps, queueModel()));
  it('queue (distinct elements, peek, size)', () => check(queueOpsDistinct, queueModel(), mostlyOk, 8));
  it('lock (acquire / tryAcquire / release)', () => check(lockOps, lockModel()));
  // Mostly unknown outcomes: exercises the pruning of lost operations (symmetry, subsumption).
  it('register, mostly unknown outcomes', () =>
    check(registerOps, registerModel({ initial: 0 }), mostlyInfo, 7));
  it('queue, mostly unknown outcomes', () => check(queueOps, queueModel(), mostlyInfo, 7));
  it('queue (distinct elements), mostly unknown outcomes', () =>
    check(queueOpsDistinct, queueModel(), mostlyInfo, 8));
  it('lock, mostly unknown outcomes', () => check(lockOps, lockModel(), mostlyInfo, 7));
  it('counter, mostly unknown outcomes', () => check(counterOps, counterModel(), mostlyInfo, 7));
  it('set (add / remove / contains / read)', () => check(setOps, setModel()));
  // The oracle is the unpartitioned map: this also checks the per-key partitioning.
  it('kv map (get / put / cas on two keys)', () => check(kvOpsSmall, kvModel(), mostlyOk, 7, wholeMap()));
});

describe('P-compositionality', () => {
  it('checking each key on its own gives the same verdict as checking the whole history', () => {
    const partitioned = kvModel();
    const whole = wholeMap();
    const kvOps = fc.oneof(
      fc.record({
        name: fc.constant('get'),
        key: fc.constantFrom('a', 'b'),
        output: fc.constantFrom(null, 1, 2),
      }),
      fc.record({ name: fc.constant('put'), key: fc.constantFrom('a', 'b'), input: fc.constantFrom(1, 2) }),
    );
    fc.assert(
      fc.property(fc.array(smallOp(kvOps), { maxLength: 8 }), (history) => {
        expect(checkLinearizable(history, partitioned).result).toBe(checkLinearizable(history, whole).result);
      }),
      { numRuns: 300 },
    );
  });
});
