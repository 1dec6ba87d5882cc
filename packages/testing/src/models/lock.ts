/**
 * A mutual-exclusion lock with fencing tokens (Copycat's DistributedLock), per key when
 * operations carry one. The holder is the process that acquired it; each grant carries an
 * epoch that must be greater than every earlier grant's, so a stale holder's writes can be
 * fenced off.
 *
 * Operations: `acquire` -> epoch (a number; `true` or no output when the API has no tokens);
 * `tryAcquire` -> epoch / `true` when granted, `false` / `null` when not; `release` (output
 * optional; `false` means "not the holder", which must then be true).
 *
 * A client whose session expired loses its lock without a `release` in the history. Record
 * that as a `release` by that process with an `info` outcome: it may take effect at any time.
 */
import type { ProcessId } from '../history/types.js';
import {
  UNKNOWN,
  canonical,
  describeCall,
  formatValue,
  partitionByKey,
  unknownOperation,
  type Model,
  type ModelOperation,
} from './model.js';

export interface LockState {
  /** Canonical text of the holding process, or null when free. */
  readonly holder: string | null;
  /** The last epoch granted (a lower bound when the last grant's output was unknown). */
  readonly epoch: number;
}

export function lockModel(): Model<LockState> {
  const FREE: LockState = { holder: null, epoch: -Infinity };
  const who = (process: ProcessId) => canonical(process);

  // A grant by `op` in `state` with `output`: legal when the lock is free and the epoch grows.
  const grant = (state: LockState, op: ModelOperation, output: unknown): readonly [boolean, LockState] => {
    if (state.holder !== null) return [false, state];
    if (output === UNKNOWN || output === true || output === undefined)
      return [true, { holder: who(op.process), epoch: state.epoch }];
    if (typeof output !== 'number')
      throw new TypeError(`lock model: ${op.name} output must be an epoch, got ${formatValue(output)}`);
    return [output > state.epoch, { holder: who(op.process), epoch: output }];
  };

  return {
    name: 'lock',
    init: () => FREE,
    step(state, op, output) {
      switch (op.name) {
        case 'acquire':
          return grant(state, op, output);
        case 'tryAcquire': {
          if (output === false || output === null) return [state.holder !== null, state];
          if (output === UNKNOWN && state.holder !== null) return [true, state];
          return grant(state, op, output);
        }
        case 'release': {
          const holds = state.holder === who(op.process);
          if (output === false) return [!holds, state];
          if (output === UNKNOWN) return [true, holds ? { holder: null, epoch: state.epoch } : state];
          return [holds, { holder: null, epoch: state.epoch }];
        }
        default:
          throw unknownOperation('lock', op);
      }
    },
    key: (state) => `${state.holder ?? '-'}|${state.epoch}`,
    // A failed tryAcquire or release changes nothing.
    isReadOnly: (op, output) =>
      (op.name === 'tryAcquire' && (output === false || output === null)) ||
      (op.name === 'release' && output === false),
    partition: partitionByKey,
    describeOperation: describeCall,
    describeState: (state) =>
      state.holder === null
        ? `free (last epoch ${state.epoch})`
        : `held by ${state.holder} (epoch ${state.epoch})`,
  };
}
