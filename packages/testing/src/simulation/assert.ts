/** Throwing forms of the checker, for tests. */
import { checkLinearizable, type CheckOptions, type CheckResult } from '../checker/check.js';
import type { CheckInput } from '../checker/normalize.js';
import type { Model } from '../models/model.js';
import { renderHistoryText } from '../visualize/text.js';

/** A history was not shown linearizable; `result` says whether it is illegal or undecided. */
export class LinearizabilityError extends Error {
  constructor(
    readonly result: Exclude<CheckResult, { result: 'ok' }>,
    readonly history: CheckInput,
  ) {
    super(
      result.result === 'illegal'
        ? `${result.describe()}\n\n${renderHistoryText(history, result, { width: 80 })}`
        : `linearizability undecided: ${result.reason}`,
    );
    this.name = 'LinearizabilityError';
  }
}

/** Checks the history and throws a `LinearizabilityError` unless it is linearizable. */
export function assertLinearizable<S>(
  history: CheckInput,
  model: Model<S>,
  options: CheckOptions = {},
): CheckResult & { result: 'ok' } {
  const result = checkLinearizable(history, model, options);
  if (result.result !== 'ok') throw new LinearizabilityError(result, history);
  return result;
}
