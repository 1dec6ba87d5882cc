/**
 * What a person needs when a history is not linearizable: the longest prefix the search could
 * linearize, the state it leads to, the completed operation that could not be placed before it
 * returned, and every operation that could have gone next, with why each one could not.
 */
import type { Operation } from '../history/types.js';
import { UNKNOWN, describeCall, type Model } from '../models/model.js';
import { entryOrder } from './search.js';

export interface Candidate {
  readonly op: Operation;
  /** `rejected`: the model forbids it next; `dead-end`: allowed, but every continuation failed. */
  readonly verdict: 'rejected' | 'dead-end';
}

export interface Counterexample {
  readonly model: string;
  /** Which sub-history (partition) failed, e.g. `key "x"`. */
  readonly partition: string;
  /** Every operation of that sub-history. */
  readonly operations: readonly Operation[];
  /** The longest linearizable prefix found, with the state after each step. */
  readonly prefix: readonly { readonly op: Operation; readonly state: string }[];
  /** The state after the prefix. */
  readonly state: string;
  /** The completed operation, not in the prefix, that returned first: it had to be placed. */
  readonly blocking: Operation | undefined;
  /** Operations that could have come next after the prefix, and none can. */
  readonly candidates: readonly Candidate[];
}

export function buildCounterexample<S>(
  model: Model<S>,
  partition: string,
  simplified: readonly Operation[],
  longest: readonly number[],
  /** Maps a (possibly simplified) operation to the one recorded. */
  original: (op: Operation) => Operation = (op) => op,
): Counterexample {
  // `Model.simplify` keeps every step's legality, so the recorded operations replay the same
  // prefix, and show the real values.
  const ops = simplified.map(original);
  const describe = (state: S) => (model.describeState ?? model.key)(state);
  const output = (op: Operation) => (op.outcome === 'ok' ? op.output : UNKNOWN);
  let state = model.init();
  const prefix: { op: Operation; state: string }[] = [];
  for (const index of longest) {
    const op = ops[index]!;
    state = model.step(state, op, output(op))[1];
    prefix.push({ op, state: describe(state) });
  }
  const placed = new Set(longest);
  const { rank } = entryOrder(ops);
  let blocking = -1;
  ops.forEach((op, i) => {
    if (placed.has(i) || op.outcome !== 'ok') return;
    if (blocking === -1 || rank[2 * i + 1]! < rank[2 * blocking + 1]!) blocking = i;
  });
  const candidates: Candidate[] = [];
  ops.forEach((op, i) => {
    if (placed.has(i)) return;
    if (blocking !== -1 && rank[2 * i]! > rank[2 * blocking + 1]!) return;
    const [ok] = model.step(state, op, output(op));
    candidates.push({ op, verdict: ok ? 'dead-end' : 'rejected' });
  });
  return {
    model: model.name,
    partition,
    operations: ops,
    prefix,
    state: describe(state),
    blocking: blocking === -1 ? undefined : ops[blocking],
    candidates,
  };
}

/** The operations that cannot be ordered: the blocking one and the candidates, by call. */
export function counterexampleWindow(counterexample: Counterexample): Operation[] {
  const ops = new Set(counterexample.candidates.map((c) => c.op));
  if (counterexample.blocking !== undefined) ops.add(counterexample.blocking);
  return [...ops].sort((a, b) => a.call - b.call || a.id - b.id);
}

const PREFIX_LINES = 12;

export function describeCounterexample<S>(counterexample: Counterexample, model: Model<S>): string {
  const line = (op: Operation) => describeOperation(op, model);
  const out: string[] = [];
  out.push(
    `not linearizable: ${counterexample.model} model, ${counterexample.partition} (${counterexample.operations.length} operation${counterexample.operations.length === 1 ? '' : 's'})`,
  );
  if (counterexample.prefix.length === 0) {
    out.push(`no operation can be linearized first; initial state ${counterexample.state}`);
  } else {
    // The end of the prefix is what matters; the full prefix is in `counterexample.prefix`.
    const shown = counterexample.prefix.length - Math.min(counterexample.prefix.length, PREFIX_LINES);
    out.push(
      `longest linearizable prefix (${counterexample.prefix.length} operations${shown > 0 ? `, last ${PREFIX_LINES} shown` : ''}):`,
    );
    if (shown > 0) out.push(`  ... ${shown} earlier operations`);
    counterexample.prefix
      .slice(shown)
      .forEach(({ op, state }, i) =>
        out.push(`  ${String(shown + i + 1).padStart(4)}. ${line(op)}    => ${state}`),
      );
  }
  out.push(`after it the state is ${counterexample.state}, and none of these can be next:`);
  for (const { op, verdict } of counterexample.candidates) {
    out.push(
      `  ${line(op)}    ${verdict === 'rejected' ? 'not allowed in this state' : 'allowed, but every continuation fails'}`,
    );
  }
  if (counterexample.blocking !== undefined) {
    out.push(
      `#${counterexample.blocking.id} must take effect before it returns, and no order of these operations allows it.`,
    );
  }
  return out.join('\n');
}

/** `#id p<process> name(args) -> output [call, return]` */
export function describeOperation<S>(op: Operation, model: Model<S>): string {
  const text = (model.describeOperation ?? describeCall)(op, op.outcome === 'ok' ? op.output : UNKNOWN);
  const end = op.completedAt === undefined || op.outcome === 'info' ? '...' : formatTime(op.completedAt);
  const outcome = op.outcome === 'ok' ? '' : ` (${op.outcome})`;
  return `#${op.id} ${String(op.process)}: ${text}${outcome} [${formatTime(op.invokedAt)}, ${end}]`;
}

function formatTime(t: number): string {
  return Number.isInteger(t) ? String(t) : t.toFixed(3);
}
