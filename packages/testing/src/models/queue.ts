/**
 * A FIFO queue, per key when operations carry one. States are arrays of the elements'
 * canonical texts, head first. `null` cannot be enqueued: it is what an empty queue returns.
 *
 * Operations: `enqueue(value)`; `dequeue` -> the head, or null when empty; `peek` -> the head
 * or null; `size` -> number.
 */
import type { Operation } from '../history/types.js';
import {
  UNKNOWN,
  UNREAD,
  canonical,
  describeCanonical,
  describeCall,
  partitionByKey,
  unknownOperation,
  type Model,
} from './model.js';

type QueueState = readonly string[];

const SEPARATOR = '\u0001';
const EMPTY = 'null';

export function queueModel(): Model<QueueState> {
  return {
    name: 'queue',
    init: () => [],
    step(state, op, output) {
      switch (op.name) {
        case 'enqueue': {
          const element = canonical(op.input);
          if (element === EMPTY) throw new TypeError('queue model: null cannot be enqueued');
          return [true, [...state, element]];
        }
        case 'dequeue': {
          const head = state[0];
          if (output === UNKNOWN) return [true, head === undefined ? state : state.slice(1)];
          if (head === undefined) return [canonical(output) === EMPTY, state];
          return [canonical(output) === head, state.slice(1)];
        }
        case 'peek':
          return [output === UNKNOWN || canonical(output) === (state[0] ?? EMPTY), state];
        case 'size':
          return [output === UNKNOWN || output === state.length, state];
        default:
          throw unknownOperation('queue', op);
      }
    },
    key: (state) => state.join(SEPARATOR),
    partition: partitionByKey,
    isReadOnly: (op, output) =>
      op.name === 'peek' ||
      op.name === 'size' ||
      (op.name === 'dequeue' && output !== UNKNOWN && canonical(output) === EMPTY),
    simplify: (operations) => {
      const impossible = outputNeverEnqueued(operations);
      if (impossible !== undefined) return [impossible];
      // Dropping lost enqueues leaves every completed dequeue and peek: the same values observed.
      const observed = observedValues(operations);
      return replaceUnobservedValues(dropUnobservedEnqueues(operations, observed), observed);
    },
    precedence: enqueueOrder,
    ignoresProcess: true,
    describeOperation: describeCall,
    describeState: (state) => `[${state.map(describeCanonical).join(', ')}]`,
  };
}

/**
 * A completed dequeue or peek that returned an element no enqueue of this queue supplies, if
 * any. Such a history is not linearizable, and that operation alone shows it: checking it alone
 * gives the same verdict at once, where the search would first try every order of everything
 * before it.
 */
function outputNeverEnqueued(operations: readonly Operation[]): Operation | undefined {
  const enqueued = new Set<string>();
  for (const op of operations) if (op.name === 'enqueue') enqueued.add(canonical(op.input));
  return operations.find((op) => {
    if (op.outcome !== 'ok' || (op.name !== 'dequeue' && op.name !== 'peek')) return false;
    const value = canonical(op.output);
    return value !== EMPTY && !enqueued.has(value);
  });
}

/** The canonical texts of the values completed dequeues and peeks returned. */
function observedValues(operations: readonly Operation[]): Set<string> {
  const observed = new Set<string>();
  for (const op of operations) {
    if (op.outcome === 'ok' && (op.name === 'dequeue' || op.name === 'peek'))
      observed.add(canonical(op.output));
  }
  return observed;
}

/**
 * An enqueue with unknown outcome whose value no completed dequeue or peek returned can be
 * treated as never having happened, unless `size` is observed: take any linearization in which
 * it took effect and remove it, together with the unknown-outcome dequeue that removed its value
 * (if any); every completed operation still sees the same head or the same emptiness. Lost
 * enqueues are what make queue histories expensive, so this matters.
 */
function dropUnobservedEnqueues(
  operations: readonly Operation[],
  observed: ReadonlySet<string>,
): Operation[] {
  if (operations.some((op) => op.name === 'size')) return [...operations];
  return operations.filter(
    (op) => op.outcome === 'ok' || op.name !== 'enqueue' || observed.has(canonical(op.input)),
  );
}

/**
 * Values that no completed dequeue or peek returned are all enqueued as `UNREAD`: every
 * operation treats two such values alike (no completed read can return either), so the queue
 * states that differ only in the order of overlapping enqueues of unread values become one
 * state, and the search stops branching over those orders. Sound with `size` too, which only
 * counts elements.
 */
function replaceUnobservedValues(
  operations: readonly Operation[],
  observed: ReadonlySet<string>,
): Operation[] {
  return operations.map((op) => {
    if (op.name !== 'enqueue') return op;
    const value = canonical(op.input);
    // null stays, so that step still refuses it.
    return value === EMPTY || observed.has(value) ? op : { ...op, input: UNREAD };
  });
}

/**
 * Enqueue order from dequeue order: if element v (enqueued once, returned by exactly one
 * completed dequeue) was dequeued before element u (likewise) in real time, v was enqueued
 * before u in every linearization, since a FIFO queue hands u out first otherwise (nothing else
 * can take u away: it is unique, and the dequeue that returned it found it). Without these
 * pairs the search finds a wrong enqueue order only when the dequeues come, after trying every
 * interleaving of what lies between.
 *
 * Only the pairs the real-time order does not imply through others are returned: for each u,
 * the latest dequeues that returned before u's dequeue was called, all of which overlap one
 * another, so at most one per concurrent process.
 */
function enqueueOrder(operations: readonly Operation[]): Array<[number, number]> {
  const enqueues = new Map<string, number[]>();
  const dequeues = new Map<string, number[]>();
  operations.forEach((op, i) => {
    if (op.name === 'enqueue') push(enqueues, canonical(op.input), i);
    else if (op.name === 'dequeue' && op.outcome === 'ok') push(dequeues, canonical(op.output), i);
  });
  // Elements enqueued once and dequeued once: [enqueue, dequeue] pairs, by dequeue return.
  const unique: Array<[enqueue: number, dequeue: number]> = [];
  for (const [value, taken] of dequeues) {
    const given = enqueues.get(value);
    if (value !== EMPTY && taken.length === 1 && given?.length === 1) unique.push([given[0]!, taken[0]!]);
  }
  unique.sort((a, b) => operations[a[1]]!.return - operations[b[1]]!.return);
  const returns = unique.map(([, d]) => operations[d]!.return);
  // latestCall[k]: the latest call among the first k + 1 dequeues by return.
  const latestCall: number[] = [];
  for (const [, d] of unique) latestCall.push(Math.max(latestCall.at(-1) ?? -Infinity, operations[d]!.call));
  const pairs: Array<[number, number]> = [];
  for (const [enqueue, dequeue] of unique) {
    const call = operations[dequeue]!.call;
    // The dequeues that returned before this one was called are a prefix by return time.
    let end = 0;
    for (let high = returns.length; end < high;) {
      const middle = (end + high) >>> 1;
      if (returns[middle]! < call) end = middle + 1;
      else high = middle;
    }
    if (end === 0) continue;
    // Maximal ones: no other in the prefix was called after they returned.
    const floor = latestCall[end - 1]!;
    for (let k = end - 1; k >= 0 && returns[k]! >= floor; k--) pairs.push([unique[k]![0], enqueue]);
  }
  return pairs;
}

function push(map: Map<string, number[]>, key: string, value: number): void {
  const list = map.get(key);
  if (list === undefined) map.set(key, [value]);
  else list.push(value);
}
