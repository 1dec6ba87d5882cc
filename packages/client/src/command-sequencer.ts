import { type Cancellable, type CopycatError } from '@copycat/common';
import { type CompactionMode, type Connection, type ConsistencyLevel } from '@copycat/protocol';

/** A response that counts as the answer of an operation. */
export type Outcome =
  | { readonly ok: true; readonly index: number; readonly eventIndex: number; readonly result: Uint8Array }
  | { readonly ok: false; readonly error: CopycatError };

interface PendingBase {
  /** The session generation it belongs to (a new session after expiry is a new generation). */
  readonly epoch: number;
  /** The encoded operation, sent as is on every attempt. */
  readonly operation: Uint8Array;
  readonly resolve: (value: unknown) => void;
  readonly reject: (error: CopycatError) => void;
  /** Incremented on every send: answers of older attempts are stale (except a result, which is final). */
  attempt: number;
  /** Waiting to be (re)sent on the next flush. */
  queued: boolean;
  /** The connection of the last attempt. */
  connection: Connection | undefined;
  outcome: Outcome | undefined;
  /** The user's promise already settled (per-call timeout): the outcome, when it comes, is dropped. */
  settled: boolean;
  timer: Cancellable | undefined;
}

export interface PendingCommand extends PendingBase {
  readonly kind: 'command';
  sequence: number;
  readonly compaction: CompactionMode;
}

export interface PendingQuery extends PendingBase {
  readonly kind: 'query';
  /** The last command sequence submitted before the query: the server evaluates it after those. */
  sequence: number;
  /** The highest log index the client had seen. */
  readonly index: number;
  readonly consistency: ConsistencyLevel;
}

export type PendingOperation = PendingCommand | PendingQuery;

export interface DrainResult {
  /** Operations whose user promises complete now, in this order. */
  readonly completed: readonly PendingOperation[];
  /** Some answer is held until the session's events up to its `eventIndex` have arrived. */
  readonly waitingForEvents: boolean;
}

/**
 * The session's pending operations: command sequence numbers, what must be resent, and the order
 * in which answers reach the user (INTERNALS.md: Client sessions, Session events):
 * - commands complete in sequence order;
 * - a query completes after every command submitted before it;
 * - an answer completes only once the events up to its `eventIndex` were delivered.
 */
export class CommandSequencer {
  /** Commands without a delivered outcome, by sequence; Map order is ascending sequence. */
  private commands = new Map<number, PendingCommand>();
  private readonly queries = new Set<PendingQuery>();
  private allocated = 0;
  private received = 0;

  /** The last sequence handed out (what a query submitted now must observe). */
  get lastSequence(): number {
    return this.allocated;
  }

  /** The highest sequence such that the answers of it and all before it were received (for keep-alives). */
  get commandSequence(): number {
    return this.received;
  }

  get size(): number {
    return this.commands.size + this.queries.size;
  }

  nextSequence(): number {
    return ++this.allocated;
  }

  add(operation: PendingOperation): void {
    if (operation.kind === 'command') this.commands.set(operation.sequence, operation);
    else this.queries.add(operation);
  }

  has(operation: PendingOperation): boolean {
    return operation.kind === 'command'
      ? this.commands.get(operation.sequence) === operation
      : this.queries.has(operation);
  }

  /** What waits to be sent: commands in sequence order first, then queries in submit order. */
  queued(): PendingOperation[] {
    const queued: PendingOperation[] = [];
    for (const command of this.commands.values())
      if (command.queued && !command.outcome) queued.push(command);
    for (const query of this.queries) if (query.queued && !query.outcome) queued.push(query);
    return queued;
  }

  /** Queues every unanswered operation last sent on another connection than `current`. */
  requeueNotOn(current: Connection): void {
    for (const operation of this.all()) {
      if (!operation.queued && operation.outcome === undefined && operation.connection !== current) {
        operation.queued = true;
      }
    }
  }

  /** The server has the session's commands up to `lastSequence` only: queue every unanswered one after it. */
  requeueAfter(lastSequence: number): void {
    for (const command of this.commands.values()) {
      if (command.sequence > lastSequence && command.outcome === undefined) command.queued = true;
    }
  }

  record(operation: PendingOperation, outcome: Outcome): void {
    operation.outcome = outcome;
    if (operation.kind === 'command') this.advanceReceived();
  }

  /** Forgets a query whose caller gave up (queries have no sequence that others wait on). */
  forget(query: PendingQuery): void {
    this.queries.delete(query);
  }

  /**
   * Takes back a command that provably never left the client (refused before sending, e.g. over
   * the frame size limit): its sequence would be a gap the server waits on forever. The commands
   * after it cannot have been applied (the server applies a session's commands in order), so
   * they move down one sequence and are resent.
   */
  withdraw(command: PendingCommand): void {
    if (this.commands.get(command.sequence) !== command) return;
    this.commands.delete(command.sequence);
    const rest = [...this.commands.values()];
    this.commands = new Map();
    for (const other of rest) {
      if (other.sequence > command.sequence) {
        other.sequence--;
        other.attempt++;
        if (other.outcome === undefined) other.queued = true;
      }
      this.commands.set(other.sequence, other);
    }
    for (const query of this.queries) {
      if (query.sequence >= command.sequence) {
        query.sequence--;
        query.attempt++;
        if (query.outcome === undefined) query.queued = true;
      }
    }
    this.allocated--;
    this.advanceReceived();
  }

  /** Removes and returns the operations whose user promises may complete now, in order. */
  drain(lastEventIndex: number): DrainResult {
    const completed: PendingOperation[] = [];
    let waitingForEvents = false;
    for (const command of this.commands.values()) {
      if (command.outcome === undefined) {
        // A caller that gave up does not hold back the answers after it.
        if (command.settled) continue;
        break;
      }
      if (!command.settled && held(command, lastEventIndex)) {
        waitingForEvents = true;
        break;
      }
      this.commands.delete(command.sequence);
      completed.push(command);
    }
    let firstUnsettled = Number.POSITIVE_INFINITY;
    for (const command of this.commands.values()) {
      if (!command.settled) {
        firstUnsettled = command.sequence;
        break;
      }
    }
    for (const query of this.queries) {
      if (query.outcome === undefined || query.sequence >= firstUnsettled) continue;
      if (!query.settled && held(query, lastEventIndex)) {
        waitingForEvents = true;
        continue;
      }
      this.queries.delete(query);
      completed.push(query);
    }
    return { completed, waitingForEvents };
  }

  /** Removes every pending operation (session expired or client closed); sequences restart at 1. */
  clear(): PendingOperation[] {
    const all = this.all();
    this.commands.clear();
    this.queries.clear();
    this.allocated = 0;
    this.received = 0;
    return all;
  }

  private all(): PendingOperation[] {
    return [...this.commands.values(), ...this.queries];
  }

  private advanceReceived(): void {
    while (this.received < this.allocated) {
      const next = this.commands.get(this.received + 1);
      if (next !== undefined && next.outcome === undefined) break;
      this.received++;
    }
  }
}

function held(operation: PendingOperation, lastEventIndex: number): boolean {
  const outcome = operation.outcome;
  return outcome !== undefined && outcome.ok && outcome.eventIndex > lastEventIndex;
}
