/**
 * `checkLinearizable`: decides whether a history is linearizable with respect to a model
 * (TESTING.md item 3). Returns `ok`, `illegal` with a counterexample, or `unknown` when the
 * time budget ran out, never hangs.
 */
import { performance } from 'node:perf_hooks';
import type { Operation } from '../history/types.js';
import { UNKNOWN, type Model } from '../models/model.js';
import { buildCounterexample, describeCounterexample, type Counterexample } from './counterexample.js';
import { toOperations, type CheckInput } from './normalize.js';
import { searchLinearization } from './search.js';

export interface CheckOptions {
  /** Time budget in ms; past it the verdict is `unknown`. Default 30,000. */
  timeoutMs?: number;
}

interface Common {
  /** Operations checked: completed ones, and those with unknown outcome that may have mattered. */
  readonly operations: number;
  readonly partitions: number;
  readonly elapsedMs: number;
  /** A readable summary; for `illegal`, the counterexample. */
  describe(): string;
}

export interface CheckOk extends Common {
  readonly result: 'ok';
  /** One linearization per partition (operations with unknown outcome appear only if placed). */
  readonly linearizations: readonly (readonly Operation[])[];
}

export interface CheckIllegal extends Common {
  readonly result: 'illegal';
  readonly counterexample: Counterexample;
}

export interface CheckUnknown extends Common {
  readonly result: 'unknown';
  readonly reason: string;
}

export type CheckResult = CheckOk | CheckIllegal | CheckUnknown;

const DEFAULT_TIMEOUT_MS = 30_000;

export function checkLinearizable<S>(
  history: CheckInput,
  model: Model<S>,
  options: CheckOptions = {},
): CheckResult {
  const started = performance.now();
  const deadline = started + (options.timeoutMs ?? DEFAULT_TIMEOUT_MS);
  const now = () => performance.now();

  // Failed operations did not happen. A read-only operation with unknown outcome changed
  // nothing and its output is unknown: it constrains nothing, so leave it out of the search.
  const all = toOperations(history);
  const relevant = all.filter(
    (op) => op.outcome !== 'fail' && !(op.outcome !== 'ok' && model.isReadOnly?.(op, UNKNOWN) === true),
  );
  const partitions = (model.partition === undefined ? [relevant] : model.partition(relevant))
    .map((part) => (model.simplify === undefined ? part : model.simplify(part)))
    .filter((part) => part.length > 0);
  const checked = partitions.reduce((sum, part) => sum + part.length, 0);
  const common = (n: number) => ({
    operations: checked,
    partitions: n,
    elapsedMs: performance.now() - started,
  });

  // `simplify` may rewrite operations; people are shown the ones they recorded.
  const byId = new Map(all.map((op) => [op.id, op]));
  const original = (op: Operation) => byId.get(op.id) ?? op;
  const linearizations: Operation[][] = [];
  for (let index = 0; index < partitions.length; index++) {
    const ops = partitions[index]!;
    const outcome = searchLinearization(ops, model, deadline, now);
    switch (outcome.kind) {
      case 'ok':
        linearizations.push(outcome.order.map((i) => original(ops[i]!)));
        break;
      case 'illegal': {
        const counterexample = buildCounterexample(
          model,
          partitionLabel(ops, index, partitions.length),
          ops,
          outcome.longest,
          original,
        );
        return {
          result: 'illegal',
          counterexample,
          ...common(partitions.length),
          describe: () => describeCounterexample(counterexample, model),
        };
      }
      case 'timeout': {
        const reason = `timed out after ${options.timeoutMs ?? DEFAULT_TIMEOUT_MS} ms with ${index} of ${partitions.length} partitions decided (partition of ${ops.length} operations undecided)`;
        return {
          result: 'unknown',
          reason,
          ...common(partitions.length),
          describe: () => `unknown: ${reason}`,
        };
      }
    }
  }
  const summary = common(partitions.length);
  return {
    result: 'ok',
    linearizations,
    ...summary,
    describe: () =>
      `linearizable: ${summary.operations} operations in ${summary.partitions} partition${summary.partitions === 1 ? '' : 's'}, decided in ${summary.elapsedMs.toFixed(1)} ms`,
  };
}

function partitionLabel(ops: readonly Operation[], index: number, count: number): string {
  const key = ops[0]?.key;
  const sameKey = ops.every((op) => op.key === key);
  const where = count === 1 ? 'the whole history' : `partition ${index + 1} of ${count}`;
  return sameKey && key !== undefined ? `${where}, key ${JSON.stringify(key)}` : where;
}
