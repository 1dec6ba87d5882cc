/**
 * What both visualisations share: which operations to show, on which row, and how each is
 * marked. One row per process (extra lanes when a process's operations overlap, which happens
 * when an `info` operation is still in flight), operations as bars from invocation to completion.
 */
import type { CheckResult } from '../checker/check.js';
import { counterexampleWindow } from '../checker/counterexample.js';
import { toOperations, type CheckInput } from '../checker/normalize.js';
import type { Operation } from '../history/types.js';
import { describeCall, UNKNOWN } from '../models/model.js';

export type Mark = 'window' | 'blocking' | 'normal';

export interface Bar {
  readonly op: Operation;
  readonly start: number;
  /** Completion time, or the end of the timeline for unknown outcomes. */
  readonly end: number;
  readonly open: boolean;
  readonly mark: Mark;
  /** 1-based position in the linearization (prefix) found, if placed. */
  readonly order?: number;
  readonly label: string;
}

export interface Row {
  readonly process: string;
  readonly lanes: Bar[][];
}

export interface Layout {
  readonly from: number;
  readonly to: number;
  readonly rows: Row[];
  readonly bars: Bar[];
  readonly title: string;
}

export interface VisualizeOptions {
  /** Which operations to draw. Default: for an illegal result, the failing partition around the window; otherwise all. */
  scope?: 'all' | 'partition' | 'window';
  /** How to print an operation. Default `name(key, input) -> output`. */
  describe?: (op: Operation) => string;
}

/** How many operations of the linearized prefix the window view shows before the window. */
const CONTEXT = 5;

export function layout(
  history: CheckInput,
  result: CheckResult | undefined,
  options: VisualizeOptions = {},
): Layout {
  const all = toOperations(history);
  const describe =
    options.describe ??
    ((op: Operation) =>
      describeCall(op, op.outcome === 'ok' ? op.output : op.outcome === 'fail' ? undefined : UNKNOWN));
  const counterexample = result?.result === 'illegal' ? result.counterexample : undefined;
  const scope = options.scope ?? (counterexample === undefined ? 'all' : 'window');

  const window = new Set<number>(
    counterexample === undefined ? [] : counterexampleWindow(counterexample).map((op) => op.id),
  );
  const blocking = counterexample?.blocking?.id;
  const order = new Map<number, number>();
  if (counterexample !== undefined) counterexample.prefix.forEach(({ op }, i) => order.set(op.id, i + 1));
  else if (result?.result === 'ok' && result.linearizations.length === 1)
    result.linearizations[0]!.forEach((op, i) => order.set(op.id, i + 1));

  let ops = all;
  if (counterexample !== undefined && scope !== 'all') {
    const inPartition = new Set(counterexample.operations.map((op) => op.id));
    ops = all.filter((op) => inPartition.has(op.id));
    // The window, plus the last operations of the prefix that led to its state, for context.
    // Operations with unknown outcome may have been invoked long before: they do not widen it.
    const context = [
      ...ops.filter((op) => window.has(op.id)),
      ...counterexample.prefix.slice(-CONTEXT).map((p) => p.op),
    ].filter((op) => op.outcome === 'ok');
    if (scope === 'window' && context.length > 0) {
      const start = min(context.map((op) => op.invokedAt));
      const end = max(context.map((op) => op.completedAt ?? op.invokedAt));
      ops = ops.filter(
        (op) =>
          op.invokedAt <= end &&
          (op.outcome === 'info' || op.outcome === 'pending' || (op.completedAt ?? Infinity) >= start),
      );
    }
  }

  const times = ops.flatMap((op) =>
    op.completedAt === undefined ? [op.invokedAt] : [op.invokedAt, op.completedAt],
  );
  const from = times.length === 0 ? 0 : min(times);
  const lastTime = times.length === 0 ? 1 : max(times);
  const to = lastTime > from ? lastTime : from + 1;

  const bars = ops
    .map((op): Bar => {
      const open = op.outcome === 'info' || op.outcome === 'pending';
      const mark: Mark = op.id === blocking ? 'blocking' : window.has(op.id) ? 'window' : 'normal';
      const bar = {
        op,
        start: op.invokedAt,
        end: open ? to : (op.completedAt ?? to),
        open,
        mark,
        label: describe(op),
      };
      const position = order.get(op.id);
      return position === undefined ? bar : { ...bar, order: position };
    })
    .sort((a, b) => a.start - b.start || a.op.id - b.op.id);

  const byProcess = new Map<string, Bar[][]>();
  for (const bar of bars) {
    const key = String(bar.op.process);
    const lanes = byProcess.get(key) ?? [];
    byProcess.set(key, lanes);
    const lane = lanes.find((l) => l.at(-1)!.end < bar.start);
    if (lane === undefined) lanes.push([bar]);
    else lane.push(bar);
  }
  const rows = [...byProcess.entries()]
    .sort(([a], [b]) => a.localeCompare(b, 'en', { numeric: true }))
    .map(([process, lanes]) => ({ process, lanes }));

  const title =
    result === undefined
      ? 'history'
      : result.result === 'illegal'
        ? 'NOT linearizable'
        : result.result === 'ok'
          ? 'linearizable'
          : `unknown: ${result.reason}`;
  return { from, to, rows, bars, title };
}

// Loops rather than Math.min(...values): histories can be longer than the argument limit.
function min(values: readonly number[]): number {
  let result = Infinity;
  for (const v of values) if (v < result) result = v;
  return result;
}

function max(values: readonly number[]): number {
  let result = -Infinity;
  for (const v of values) if (v > result) result = v;
  return result;
}
