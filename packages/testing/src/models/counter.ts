/**
 * A counter (Copycat's DistributedLong), per key when operations carry one.
 *
 * Operations: `get` -> value; `set(value)`; `add(delta)` (output not checked);
 * `addAndGet(delta)` / `incrementAndGet` / `decrementAndGet` -> the new value;
 * `getAndAdd(delta)` / `getAndIncrement` / `getAndDecrement` -> the old value;
 * `compareAndSet({ expect, update })` -> boolean.
 */
import {
  UNKNOWN,
  booleanOutput,
  casInput,
  describeCall,
  partitionByKey,
  unknownOperation,
  type Model,
  type ModelOperation,
} from './model.js';

export interface CounterOptions {
  /** The value before any operation. Default 0. */
  initial?: number;
}

export function counterModel(options: CounterOptions = {}): Model<number> {
  const initial = options.initial ?? 0;
  const numberInput = (op: ModelOperation): number => {
    if (typeof op.input !== 'number') throw new TypeError(`counter model: ${op.name} input must be a number`);
    return op.input;
  };
  // An operation returning the old (`returnsOld`) or the new value after adding `delta`.
  const addReturning = (
    state: number,
    delta: number,
    output: unknown,
    returnsOld: boolean,
  ): readonly [boolean, number] => {
    const next = state + delta;
    if (output === UNKNOWN) return [true, next];
    return [output === (returnsOld ? state : next), next];
  };
  return {
    name: 'counter',
    init: () => initial,
    step(state, op, output) {
      switch (op.name) {
        case 'get':
          return [output === UNKNOWN || output === state, state];
        case 'set':
          return [true, numberInput(op)];
        case 'add':
          return [true, state + numberInput(op)];
        case 'addAndGet':
          return addReturning(state, numberInput(op), output, false);
        case 'incrementAndGet':
          return addReturning(state, 1, output, false);
        case 'decrementAndGet':
          return addReturning(state, -1, output, false);
        case 'getAndAdd':
          return addReturning(state, numberInput(op), output, true);
        case 'getAndIncrement':
          return addReturning(state, 1, output, true);
        case 'getAndDecrement':
          return addReturning(state, -1, output, true);
        case 'compareAndSet': {
          const { expect, update } = casInput('counter', op.input);
          if (typeof update !== 'number')
            throw new TypeError('counter model: compareAndSet update must be a number');
          const matches = expect === state;
          if (output === UNKNOWN) return [true, matches ? update : state];
          return booleanOutput('counter', op, output) ? [matches, update] : [!matches, state];
        }
        default:
          throw unknownOperation('counter', op);
      }
    },
    key: (state) => String(state),
    partition: partitionByKey,
    isReadOnly: (op, output) => op.name === 'get' || (op.name === 'compareAndSet' && output === false),
    ignoresProcess: true,
    describeOperation: describeCall,
    describeState: (state) => String(state),
  };
}
