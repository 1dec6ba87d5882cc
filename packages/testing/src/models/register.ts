/**
 * A read/write/compare-and-set register (per key when operations carry one). States are the
 * canonical text of the value; `null` and `undefined` both mean "no value".
 *
 * Operations: `read` -> value; `write(value)`; `cas({ expect, update })` -> boolean.
 */
import {
  UNKNOWN,
  canonical,
  casStep,
  describeCall,
  describeCanonical,
  partitionByKey,
  replaceUnreadValues,
  unknownOperation,
  type Model,
} from './model.js';

export interface RegisterOptions {
  /** The value before any write. Default `null`. */
  initial?: unknown;
}

export function registerModel(options: RegisterOptions = {}): Model<string> {
  const initial = canonical(options.initial ?? null);
  return {
    name: 'register',
    init: () => initial,
    step(state, op, output) {
      switch (op.name) {
        case 'read':
          return [output === UNKNOWN || canonical(output) === state, state];
        case 'write':
          return [true, canonical(op.input)];
        case 'cas':
          return casStep('register', state, op, output);
        default:
          throw unknownOperation('register', op);
      }
    },
    key: (state) => state,
    partition: partitionByKey,
    isReadOnly: (op, output) => op.name === 'read' || (op.name === 'cas' && output === false),
    ignoresProcess: true,
    describeOperation: describeCall,
    simplify: (operations) =>
      replaceUnreadValues('register', operations, { reads: ['read'], writes: ['write'], previous: [] }),
    describeState: describeCanonical,
  };
}
