/**
 * A set of values, per key when operations carry one. States are sorted arrays of the
 * elements' canonical texts.
 *
 * Operations: `add(element)` -> true if it was added (output optional); `remove(element)` ->
 * true if it was present (optional); `contains(element)` -> boolean; `read` -> every element
 * (any order); `size` -> number.
 *
 * Partitioned per element when no `read` or `size` touches the same set: membership of one
 * element is then independent of every other's (P-compositionality); a whole-set read ties
 * them together.
 */
import type { Operation } from '../history/types.js';
import {
  UNKNOWN,
  booleanOutput,
  canonical,
  describeCall,
  formatValue,
  partitionByKey,
  unknownOperation,
  type Model,
} from './model.js';

type SetState = readonly string[];

// Canonical texts are JSON-like and never contain a raw control character.
const SEPARATOR = '\u0001';

export function setModel(): Model<SetState> {
  const optionalBoolean = (op: Operation | { name: string }, output: unknown): boolean | undefined =>
    output === UNKNOWN || output === undefined ? undefined : booleanOutput('set', op, output);
  return {
    name: 'set',
    init: () => [],
    step(state, op, output) {
      switch (op.name) {
        case 'add': {
          const element = canonical(op.input);
          const index = search(state, element);
          const present = index < state.length && state[index] === element;
          const claimed = optionalBoolean(op, output);
          if (claimed !== undefined && claimed === present) return [false, state];
          return [true, present ? state : [...state.slice(0, index), element, ...state.slice(index)]];
        }
        case 'remove': {
          const element = canonical(op.input);
          const index = search(state, element);
          const present = index < state.length && state[index] === element;
          const claimed = optionalBoolean(op, output);
          if (claimed !== undefined && claimed !== present) return [false, state];
          return [true, present ? [...state.slice(0, index), ...state.slice(index + 1)] : state];
        }
        case 'contains': {
          if (output === UNKNOWN) return [true, state];
          const element = canonical(op.input);
          const index = search(state, element);
          return [
            booleanOutput('set', op, output) === (index < state.length && state[index] === element),
            state,
          ];
        }
        case 'read': {
          if (output === UNKNOWN) return [true, state];
          if (!Array.isArray(output))
            throw new TypeError(`set model: read output must be an array, got ${formatValue(output)}`);
          const seen = [...new Set(output.map(canonical))].sort();
          return [seen.length === state.length && seen.every((e, i) => e === state[i]), state];
        }
        case 'size':
          return [output === UNKNOWN || output === state.length, state];
        default:
          throw unknownOperation('set', op);
      }
    },
    key: (state) => state.join(SEPARATOR),
    partition(operations) {
      return partitionByKey(operations).flatMap((group) =>
        group.some((op) => op.name === 'read' || op.name === 'size') ? [group] : byElement(group),
      );
    },
    isReadOnly: (op, output) =>
      op.name === 'contains' ||
      op.name === 'read' ||
      op.name === 'size' ||
      ((op.name === 'add' || op.name === 'remove') && output === false),
    ignoresProcess: true,
    describeOperation: describeCall,
    describeState: (state) => `{${state.join(', ')}}`,
  };
}

function byElement(operations: readonly Operation[]): Operation[][] {
  const groups = new Map<string, Operation[]>();
  for (const op of operations) {
    const element = canonical(op.input);
    const group = groups.get(element);
    if (group === undefined) groups.set(element, [op]);
    else group.push(op);
  }
  return [...groups.values()];
}

/** First index whose element is >= `element` (binary search over a sorted array). */
function search(state: SetState, element: string): number {
  let lo = 0;
  let hi = state.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (state[mid]! < element) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
