/**
 * A FIFO queue, per key when operations carry one. States are arrays of the elements'
 * canonical texts, head first. `null` cannot be enqueued: it is what an empty queue returns.
 *
 * Operations: `enqueue(value)`; `dequeue` -> the head, or null when empty; `peek` -> the head
 * or null; `size` -> number.
 */
import type { Operation } from '../history/types.js';
import { UNKNOWN, canonical, describeCall, partitionByKey, unknownOperation, type Model } from './model.js';

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
    simplify: dropUnobservedEnqueues,
    ignoresProcess: true,
    describeOperation: describeCall,
    describeState: (state) => `[${state.join(', ')}]`,
  };
}

/**
 * An enqueue with unknown outcome whose value no completed dequeue or peek returned can be
 * treated as never having happened, unless `size` is observed: take any linearization in which
 * it took effect and remove it, together with the unknown-outcome dequeue that removed its value
 * (if any); every completed operation still sees the same head or the same emptiness. Lost
 * enqueues are what make queue histories expensive, so this matters.
 */
function dropUnobservedEnqueues(operations: readonly Operation[]): Operation[] {
  if (operations.some((op) => op.name === 'size')) return [...operations];
  const observed = new Set<string>();
  for (const op of operations) {
    if (op.outcome === 'ok' && (op.name === 'dequeue' || op.name === 'peek'))
      observed.add(canonical(op.output));
  }
  return operations.filter(
    (op) => op.outcome === 'ok' || op.name !== 'enqueue' || observed.has(canonical(op.input)),
  );
}
