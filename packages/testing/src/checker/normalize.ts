/** Turns a recorded history or hand-written operations into the checker's `Operation`s. */
import { History } from '../history/history.js';
import type { Operation, OperationInput } from '../history/types.js';

export type CheckInput = History | readonly Operation[] | readonly OperationInput[];

export function toOperations(input: CheckInput): Operation[] {
  if (input instanceof History) return input.operations();
  return input.map((op, index) => (isOperation(op) ? op : fromInput(op, index)));
}

function isOperation(op: Operation | OperationInput): op is Operation {
  return (
    'invokedAt' in op &&
    typeof op.outcome === 'string' &&
    typeof op.id === 'number' &&
    typeof op.return === 'number'
  );
}

function fromInput(op: OperationInput, index: number): Operation {
  if (!Number.isFinite(op.call))
    throw new RangeError(`operation ${op.id ?? index}: call must be a finite time`);
  const outcome = op.outcome ?? (op.return === undefined ? 'info' : 'ok');
  const known = outcome !== 'info' && op.return !== undefined;
  if (known && op.return < op.call)
    throw new RangeError(`operation ${op.id ?? index}: returns (${op.return}) before its call (${op.call})`);
  if (outcome === 'ok' && op.return === undefined)
    throw new RangeError(`operation ${op.id ?? index}: an ok operation needs a return time`);
  const result: Operation = {
    id: op.id ?? index,
    process: op.process,
    name: op.name,
    outcome,
    call: op.call,
    return: known ? op.return : Infinity,
    invokedAt: op.call,
    ...(op.key === undefined ? {} : { key: op.key }),
    ...(op.input === undefined ? {} : { input: op.input }),
    ...(op.output === undefined ? {} : { output: op.output }),
    ...(op.return === undefined ? {} : { completedAt: op.return }),
  };
  return result;
}
