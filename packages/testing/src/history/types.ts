/**
 * The shapes of a history (TESTING.md item 3), as Jepsen records them: a process invokes an
 * operation, which later completes as `ok` (it happened, with this output), `fail` (it certainly
 * did not happen) or `info` (unknown: it may have happened at any time after its invocation,
 * or never, e.g. a timeout or a crash).
 */

/** A sequential client, as the history sees it. */
export type ProcessId = string | number;

/** What was asked: the operation's name, the object (key) it acts on, and its argument. */
export interface OperationCall {
  readonly name: string;
  /** The key, or the name of the object; models partition by it where that is sound. */
  readonly key?: string;
  readonly input?: unknown;
}

export type Outcome = 'ok' | 'fail' | 'info';

export interface InvokeEvent {
  readonly type: 'invoke';
  readonly id: number;
  readonly process: ProcessId;
  readonly time: number;
  readonly op: OperationCall;
}

export interface OkEvent {
  readonly type: 'ok';
  readonly id: number;
  readonly process: ProcessId;
  readonly time: number;
  readonly output?: unknown;
}

export interface FailEvent {
  readonly type: 'fail' | 'info';
  readonly id: number;
  readonly process: ProcessId;
  readonly time: number;
  /** The error, as text, for reading. */
  readonly error?: string;
}

export type CompletionEvent = OkEvent | FailEvent;
export type HistoryEvent = InvokeEvent | CompletionEvent;

/**
 * One operation, paired from its events: what the checker and the visualisation consume.
 * `call` and `return` order operations in real time; for a recorded history they are positions
 * in the event list (ties cannot arise), for hand-written ones they are times.
 */
export interface Operation extends OperationCall {
  readonly id: number;
  readonly process: ProcessId;
  /** `pending` means no completion was recorded: treated like `info`. */
  readonly outcome: Outcome | 'pending';
  readonly output?: unknown;
  readonly error?: string;
  readonly call: number;
  /** `Infinity` when the outcome is unknown (`info` or `pending`). */
  readonly return: number;
  /** Clock time of the invocation, for display. */
  readonly invokedAt: number;
  /** Clock time of the completion, for display; absent when none was recorded. */
  readonly completedAt?: number;
}

/**
 * A hand-written operation, for fixtures and external tools: `call` and `return` are times
 * (equal times count as concurrent). Without `return`, or with `outcome` `info`, the outcome is
 * unknown.
 */
export interface OperationInput extends OperationCall {
  readonly process: ProcessId;
  readonly call: number;
  readonly return?: number;
  readonly output?: unknown;
  readonly outcome?: Outcome;
  readonly id?: number;
}
