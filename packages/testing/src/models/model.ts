/**
 * A sequential specification for the linearizability checker, in the style of Porcupine's
 * `Model`: an initial state and a step function that says whether an operation with a given
 * output is legal in a state, and what state follows. States are immutable values; `key(state)`
 * must be injective (equal keys exactly when states are equal) because the checker memoises on it.
 */
import type { Operation, OperationCall, ProcessId } from '../history/types.js';

/** The output of an operation whose outcome is unknown (`info`): the step decides it. */
export const UNKNOWN: unique symbol = Symbol('unknown output');
export type Unknown = typeof UNKNOWN;

/**
 * Stands for every written value that no operation of the history ever observes. All such
 * values behave alike (no read returns them, no compare-and-set expects them), so `simplify`
 * may replace them by this one placeholder: lost writes of unread values then become
 * interchangeable, which prunes the search a lot.
 */
export const UNREAD: unique symbol = Symbol('unread value');

/** What the step function sees of an operation. */
export interface ModelOperation extends OperationCall {
  readonly process: ProcessId;
}

/** `[legal, next state]`; the next state is ignored when the step is illegal. */
export type StepResult<State> = readonly [ok: boolean, state: State];

export interface Model<State> {
  readonly name: string;
  init(): State;
  /**
   * Applies `op` with `output` to `state`. `output` is `UNKNOWN` for an operation whose outcome
   * is unknown: the step must then apply whatever the operation would have done in `state`.
   * Throws (TypeError) for an operation the model does not know: a malformed history.
   */
  step(state: State, op: ModelOperation, output: unknown): StepResult<State>;
  /** An injective encoding of a state, for memoisation. */
  key(state: State): string;
  /**
   * Splits a history into independent sub-histories (P-compositionality): a history is
   * linearizable if and only if each part is. Only sound when operations of different parts
   * never touch the same state (e.g. different keys of a map).
   */
  partition?(operations: readonly Operation[]): Operation[][];
  /**
   * True for an operation that, with this output, never changes the state (`UNKNOWN` for an
   * unknown outcome): a read, a failed compare-and-set, a dequeue that found the queue empty.
   * The checker drops such operations when their outcome is unknown (they constrain nothing),
   * and linearizes completed ones as soon as they are legal without trying other orders.
   * Answering true for an operation that can change the state makes the checker unsound.
   */
  isReadOnly?(op: OperationCall, output: unknown): boolean;
  /**
   * Returns a history with the same verdict that is cheaper to check: e.g. without lost
   * enqueues nobody could observe, or with written values nobody reads replaced by `UNREAD`.
   * Operations keep their ids (counterexamples show the original operations).
   */
  simplify?(operations: readonly Operation[]): Operation[];
  /**
   * Orderings the history itself forces, for the checker to respect from the start instead of
   * discovering them by search: pairs `[before, after]` of indices into `operations` (one
   * partition, after `simplify`) such that every linearization that contains `after` also
   * contains `before`, earlier. A queue, for instance, knows that an element dequeued before
   * another (in real time) was enqueued before it. Pairs implied by others may be left out.
   * A pair that does not hold in every linearization makes the checker unsound.
   */
  precedence?(operations: readonly Operation[]): ReadonlyArray<readonly [before: number, after: number]>;
  /**
   * Declare `true` when `step` never reads `op.process`. The checker may then treat
   * unknown-outcome operations of different processes with the same name, key and input as
   * interchangeable, which prunes the search. Leave it unset if in doubt.
   */
  readonly ignoresProcess?: boolean;
  describeOperation?(op: ModelOperation, output: unknown): string;
  describeState?(state: State): string;
}

/**
 * A canonical text for a JSON-like value: object keys sorted, `undefined` as `null`, so two
 * values are equal exactly when their texts are. Used to compare outputs and to key states.
 */
export function canonical(value: unknown): string {
  if (value === undefined || value === null) return 'null';
  if (value === UNREAD) return UNREAD_TEXT; // not JSON-like, so it equals no real value's text
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return JSON.stringify(value);
    case 'number':
      return Number.isFinite(value) ? String(value) : JSON.stringify(String(value));
    case 'bigint':
      return `${value}n`;
    case 'object': {
      if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
      if (value instanceof Uint8Array) return `bytes:${Buffer.from(value).toString('base64')}`;
      const entries = Object.entries(value as Record<string, unknown>)
        .filter(([, v]) => v !== undefined)
        .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
      return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonical(v)}`).join(',')}}`;
    }
    default:
      throw new TypeError(`cannot compare values of type ${typeof value}`);
  }
}

/** Groups operations by `key`, keeping their order; operations without a key form one group. */
export function partitionByKey(operations: readonly Operation[]): Operation[][] {
  const groups = new Map<string | undefined, Operation[]>();
  for (const op of operations) {
    const group = groups.get(op.key);
    if (group === undefined) groups.set(op.key, [op]);
    else group.push(op);
  }
  return [...groups.values()];
}

/** `name(key, input) -> output`, the default way to print an operation. */
export function describeCall(op: ModelOperation, output: unknown): string {
  const args: string[] = [];
  if (op.key !== undefined) args.push(op.key);
  if (op.input !== undefined) args.push(formatValue(op.input));
  const call = `${op.name}(${args.join(', ')})`;
  if (output === undefined) return call;
  return `${call} -> ${output === UNKNOWN ? '?' : formatValue(output)}`;
}

/** `canonical(UNREAD)`. */
export const UNREAD_TEXT = '~unread';

export function formatValue(value: unknown): string {
  if (value === undefined) return 'undefined';
  if (value === UNKNOWN) return '?';
  if (value === UNREAD) return '(a value nobody reads)';
  if (typeof value === 'function' || typeof value === 'symbol') return `[${typeof value}]`;
  return canonical(value);
}

/** The error for an operation a model does not define. */
export function unknownOperation(model: string, op: OperationCall): TypeError {
  return new TypeError(`${model} model: unknown operation '${op.name}'`);
}

/** Reads `{ expect, update }` from a compare-and-set input. */
export function casInput(model: string, input: unknown): { expect: unknown; update: unknown } {
  if (typeof input !== 'object' || input === null || !('expect' in input) || !('update' in input)) {
    throw new TypeError(`${model} model: cas input must be { expect, update }`);
  }
  const { expect, update } = input;
  return { expect, update };
}

/** Reads a boolean output, for operations that report success. */
export function booleanOutput(model: string, op: OperationCall, output: unknown): boolean {
  if (typeof output !== 'boolean')
    throw new TypeError(`${model} model: ${op.name} output must be a boolean, got ${formatValue(output)}`);
  return output;
}

/**
 * One compare-and-set step on a register whose state is canonical text: legal if the reported
 * outcome matches whether `expect` equals the state. An unknown outcome may have done either.
 */
export function casStep(model: string, state: string, op: OperationCall, output: unknown): [boolean, string] {
  const { expect, update } = casInput(model, op.input);
  const matches = canonical(expect) === state;
  if (output === UNKNOWN) return [true, matches ? canonical(update) : state];
  return booleanOutput(model, op, output) ? [matches, canonical(update)] : [!matches, state];
}

/** A canonical state text for people: the placeholder of unread values is spelled out. */
export function describeCanonical(text: string): string {
  return text.split(UNREAD_TEXT).join('(a value nobody reads)');
}

/**
 * `simplify` for registers and maps: written values (by `writeNames` and by a cas `update`)
 * that no operation observes become `UNREAD`. Observed: returned by a completed read (`readNames`)
 * or as a previous value (`previousNames`, when the model checks them), or expected by any cas.
 * Sound because every operation behaves the same on any two unobserved values.
 */
export function replaceUnreadValues(
  model: string,
  operations: readonly Operation[],
  names: { reads: readonly string[]; writes: readonly string[]; previous: readonly string[] },
): Operation[] {
  const observed = new Set<string>();
  for (const op of operations) {
    if (op.outcome === 'ok' && (names.reads.includes(op.name) || names.previous.includes(op.name)))
      observed.add(canonical(op.output));
    if (op.name === 'cas') observed.add(canonical(casInput(model, op.input).expect));
  }
  return operations.map((op) => {
    if (names.writes.includes(op.name) && !observed.has(canonical(op.input))) return { ...op, input: UNREAD };
    if (op.name === 'cas') {
      const { expect, update } = casInput(model, op.input);
      if (!observed.has(canonical(update))) return { ...op, input: { expect, update: UNREAD } };
    }
    return op;
  });
}
