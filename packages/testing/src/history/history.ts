/**
 * The history recorder: wraps client calls and records invoke / ok / fail / info events in the
 * order they happen. That order is what the checker uses for real-time precedence (an operation
 * that completed before another was invoked must be ordered first), so timestamps that tie, as
 * they do under virtual time, lose nothing; the clock is kept for display.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { defaultClassifier, type ErrorClassifier } from './classify.js';
import type {
  CompletionEvent,
  HistoryEvent,
  InvokeEvent,
  Operation,
  OperationCall,
  ProcessId,
} from './types.js';

export class History {
  private readonly list: HistoryEvent[] = [];
  private readonly open = new Map<number, InvokeEvent>();
  private readonly used = new Set<number>();
  private nextId = 0;

  /** `clock` stamps events: `scheduler.now` in a simulation, `Date.now` for real processes. */
  constructor(private readonly clock: () => number = () => 0) {}

  /** Builds a history from events (e.g. read from a file), validating their pairing. */
  static fromEvents(events: Iterable<HistoryEvent>, clock?: () => number): History {
    const history = new History(clock);
    for (const event of events) history.append(event);
    return history;
  }

  /** Parses JSON lines, one event per line (the format `toJsonLines` writes). */
  static fromJsonLines(text: string): History {
    const events: HistoryEvent[] = [];
    text.split('\n').forEach((line, index) => {
      if (line.trim() === '') return;
      let value: unknown;
      try {
        value = JSON.parse(line);
      } catch (error) {
        throw new SyntaxError(`history line ${index + 1}: ${(error as Error).message}`);
      }
      events.push(parseEvent(value, index + 1));
    });
    return History.fromEvents(events);
  }

  static readFile(path: string): History {
    return History.fromJsonLines(readFileSync(path, 'utf8'));
  }

  /** Every event, in recorded order. */
  get events(): readonly HistoryEvent[] {
    return this.list;
  }

  /** Number of operations invoked. */
  get size(): number {
    return this.used.size;
  }

  /** Operations invoked and not completed yet. */
  pending(): readonly InvokeEvent[] {
    return [...this.open.values()];
  }

  /** Records an invocation and returns its id, for `ok` / `fail` / `info`. */
  invoke(process: ProcessId, op: OperationCall): number {
    const id = this.nextId;
    this.append({ type: 'invoke', id, process, time: this.clock(), op: copyCall(op) });
    return id;
  }

  /** The operation happened and returned `output`. */
  ok(id: number, output?: unknown): void {
    const invoke = this.invocation(id);
    this.append(
      output === undefined
        ? { type: 'ok', id, process: invoke.process, time: this.clock() }
        : { type: 'ok', id, process: invoke.process, time: this.clock(), output },
    );
  }

  /** The operation certainly did not happen. */
  fail(id: number, error?: unknown): void {
    this.complete('fail', id, error);
  }

  /** The outcome is unknown: it may take effect at any later time, or never. */
  info(id: number, error?: unknown): void {
    this.complete('info', id, error);
  }

  /**
   * Runs `fn` as operation `op` of `process`: records the invocation, then `ok` with its result,
   * or `fail` / `info` for its error as `classify` says (default: `defaultClassifier`). Returns
   * the result and rethrows the error, so it wraps a client call transparently.
   */
  async record<T>(
    process: ProcessId,
    op: OperationCall,
    fn: () => Promise<T>,
    classify: ErrorClassifier = defaultClassifier,
  ): Promise<T> {
    const id = this.invoke(process, op);
    let result: T;
    try {
      result = await fn();
    } catch (error) {
      if (classify(error) === 'fail') this.fail(id, error);
      else this.info(id, error);
      throw error;
    }
    this.ok(id, result);
    return result;
  }

  /** Pairs events into operations (including `fail` ones; the checker skips those). */
  operations(): Operation[] {
    const byId = new Map<
      number,
      { invoke: InvokeEvent; index: number; completion?: CompletionEvent; completionIndex?: number }
    >();
    this.list.forEach((event, index) => {
      if (event.type === 'invoke') byId.set(event.id, { invoke: event, index });
      else {
        const entry = byId.get(event.id)!;
        entry.completion = event;
        entry.completionIndex = index;
      }
    });
    const operations: Operation[] = [];
    for (const { invoke, index, completion, completionIndex } of byId.values()) {
      const base = {
        id: invoke.id,
        process: invoke.process,
        ...invoke.op,
        call: index,
        invokedAt: invoke.time,
      };
      if (completion === undefined) {
        operations.push({ ...base, outcome: 'pending', return: Infinity });
      } else if (completion.type === 'ok') {
        const op: Operation = {
          ...base,
          outcome: 'ok',
          return: completionIndex!,
          completedAt: completion.time,
        };
        operations.push(completion.output === undefined ? op : { ...op, output: completion.output });
      } else {
        const op: Operation = {
          ...base,
          outcome: completion.type,
          return: completion.type === 'info' ? Infinity : completionIndex!,
          completedAt: completion.time,
        };
        operations.push(completion.error === undefined ? op : { ...op, error: completion.error });
      }
    }
    return operations;
  }

  /** One JSON object per line; outputs and inputs must be JSON values. */
  toJsonLines(): string {
    return this.list.map((event) => JSON.stringify(event)).join('\n') + (this.list.length > 0 ? '\n' : '');
  }

  writeFile(path: string): void {
    writeFileSync(path, this.toJsonLines());
  }

  private complete(type: 'fail' | 'info', id: number, error: unknown): void {
    const invoke = this.invocation(id);
    const base = { type, id, process: invoke.process, time: this.clock() } as const;
    this.append(error === undefined ? base : { ...base, error: describeError(error) });
  }

  private invocation(id: number): InvokeEvent {
    const invoke = this.open.get(id);
    if (invoke === undefined)
      throw new Error(`operation ${id} is not outstanding (never invoked, or already completed)`);
    return invoke;
  }

  private append(event: HistoryEvent): void {
    if (event.type === 'invoke') {
      if (this.used.has(event.id)) throw new Error(`operation id ${event.id} was already used`);
      this.used.add(event.id);
      this.nextId = Math.max(this.nextId, event.id + 1);
      this.open.set(event.id, event);
    } else {
      const invoke = this.invocation(event.id);
      if (invoke.process !== event.process) {
        throw new Error(
          `operation ${event.id} was invoked by ${String(invoke.process)} but completed by ${String(event.process)}`,
        );
      }
      this.open.delete(event.id);
    }
    this.list.push(event);
  }
}

function copyCall(op: OperationCall): OperationCall {
  if (typeof op.name !== 'string' || op.name === '') throw new TypeError('an operation needs a name');
  const call: { name: string; key?: string; input?: unknown } = { name: op.name };
  if (op.key !== undefined) call.key = op.key;
  if (op.input !== undefined) call.input = op.input;
  return call;
}

function describeError(error: unknown): string {
  if (error instanceof Error) {
    const code = (error as { code?: unknown }).code;
    return typeof code === 'string' ? `${code}: ${error.message}` : `${error.name}: ${error.message}`;
  }
  return String(error);
}

function parseEvent(value: unknown, line: number): HistoryEvent {
  const bad = (why: string) => new SyntaxError(`history line ${line}: ${why}`);
  if (typeof value !== 'object' || value === null) throw bad('not an object');
  const v = value as Record<string, unknown>;
  if (typeof v.id !== 'number' || !Number.isInteger(v.id)) throw bad('id must be an integer');
  if (typeof v.process !== 'string' && typeof v.process !== 'number')
    throw bad('process must be a string or a number');
  if (typeof v.time !== 'number') throw bad('time must be a number');
  const base = { id: v.id, process: v.process, time: v.time };
  switch (v.type) {
    case 'invoke': {
      const op = v.op as Record<string, unknown> | undefined;
      if (typeof op !== 'object' || op === null || typeof op.name !== 'string')
        throw bad('invoke needs op.name');
      if (op.key !== undefined && typeof op.key !== 'string') throw bad('op.key must be a string');
      return { type: 'invoke', ...base, op: copyCall(op as unknown as OperationCall) };
    }
    case 'ok':
      return v.output === undefined ? { type: 'ok', ...base } : { type: 'ok', ...base, output: v.output };
    case 'fail':
    case 'info':
      return typeof v.error === 'string'
        ? { type: v.type, ...base, error: v.error }
        : { type: v.type, ...base };
    default:
      throw bad(`unknown event type ${JSON.stringify(v.type)}`);
  }
}
