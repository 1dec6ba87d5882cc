/**
 * A key-value map, partitioned per key (each key is an independent register, so the history
 * is linearizable iff each key's sub-history is). States are the canonical text of one key's
 * value; `null` and `undefined` both mean "absent".
 *
 * Operations (all with `key`): `get` -> value or null; `put(value)`; `remove`;
 * `cas({ expect, update })` -> boolean, where `expect: null` means "absent".
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

export interface KvOptions {
  /** `put` and `remove` return the previous value (null if absent), and the checker checks it. */
  returnsPrevious?: boolean;
}

const ABSENT = 'null';

export function kvModel(options: KvOptions = {}): Model<string> {
  const checkPrevious = options.returnsPrevious ?? false;
  const previousOk = (state: string, output: unknown) =>
    !checkPrevious || output === UNKNOWN || canonical(output) === state;
  return {
    name: 'kv',
    init: () => ABSENT,
    step(state, op, output) {
      switch (op.name) {
        case 'get':
          return [output === UNKNOWN || canonical(output) === state, state];
        case 'put':
          return [previousOk(state, output), canonical(op.input)];
        case 'remove':
          return [previousOk(state, output), ABSENT];
        case 'cas':
          return casStep('kv', state, op, output);
        default:
          throw unknownOperation('kv', op);
      }
    },
    key: (state) => state,
    partition: partitionByKey,
    isReadOnly: (op, output) => op.name === 'get' || (op.name === 'cas' && output === false),
    ignoresProcess: true,
    describeOperation: describeCall,
    simplify: (operations) =>
      replaceUnreadValues('kv', operations, {
        reads: ['get'],
        writes: ['put'],
        previous: checkPrevious ? ['put', 'remove'] : [],
      }),
    describeState: (state) => (state === ABSENT ? '(absent)' : describeCanonical(state)),
  };
}
