import {
  ApplicationError,
  CommandFailureError,
  IllegalMemberStateError,
  Listeners,
  UnknownSessionError,
  isCopycatError,
  type CopycatError,
  type Logger,
} from '@copycat/common';
import type { Serializer } from '@copycat/io';
import { decodeOperation, type SessionEvent } from '@copycat/protocol';
import type { LogEntry } from '../raft/ports.js';
import type { LogTimeExecutor } from '../state-machine/executor.js';
import type { StateMachine } from '../state-machine/state-machine.js';
import { decodeCommand, decodeKeepAlive, decodeRegister, decodeUnregister } from './session-entries.js';
import { ServerSession, type CommandResult, type EventBatch, type EventSink } from './server-session.js';

export interface SessionRegistryOptions {
  serializer: Serializer;
  executor: LogTimeExecutor;
  stateMachine: StateMachine;
  logger: Logger;
  /** Session timeout used when a client asks for none (ms). */
  defaultTimeout: number;
  /** Unacknowledged command results kept per session; older ones are dropped first. */
  maxResultsPerSession: number;
}

interface ResultWaiter {
  resolve: (result: CommandResult) => void;
  reject: (error: Error) => void;
}

/** A new event batch for a session, for whoever delivers events to its client. */
export interface BatchEvent {
  readonly session: ServerSession;
  readonly batch: EventBatch;
}

/**
 * The sessions part of the replicated state (INTERNALS.md, Client sessions and Session events):
 * applies session entries and session commands exactly once in sequence order, caches results
 * until acknowledged, collects the events a state machine publishes into one batch per entry,
 * and expires sessions at the index of their `unregister` entry. Everything here is decided by
 * the log, so every replica holds the same sessions, results and event batches.
 */
export class SessionRegistry implements EventSink {
  private readonly sessions = new Map<number, ServerSession>();
  private readonly waiters = new Map<number, Map<number, ResultWaiter[]>>();
  private readonly options: SessionRegistryOptions;
  /** Index of the entry being applied, or 0 outside of apply. */
  private applyingIndex = 0;
  private readonly pending = new Map<ServerSession, SessionEvent[]>();
  /** A new event batch was formed (every replica forms it; only the client's server sends it). */
  readonly batches = new Listeners<BatchEvent>();
  /** A session expired or was closed. */
  readonly closed = new Listeners<ServerSession>();

  constructor(options: SessionRegistryOptions) {
    this.options = options;
  }

  get(id: number): ServerSession | undefined {
    return this.sessions.get(id);
  }

  /** Open sessions, in registration order. */
  open(): ServerSession[] {
    return [...this.sessions.values()].filter((s) => s.state === 'open');
  }

  /** The lowest event index some open session has not acknowledged (bounds compaction later). */
  lowestUnacknowledgedEvent(): number | undefined {
    let lowest: number | undefined;
    for (const session of this.sessions.values()) {
      const first = session.batches[0];
      if (first !== undefined && (lowest === undefined || first.eventIndex < lowest))
        lowest = first.eventIndex;
    }
    return lowest;
  }

  // ---- applying entries -----------------------------------------------------------------------

  /** Called before an entry is applied (and before log-time timers due by it run). */
  beginEntry(index: number): void {
    this.applyingIndex = index;
  }

  /** Called after an entry was applied: the events it raised become one batch per session. */
  endEntry(): void {
    const index = this.applyingIndex;
    this.applyingIndex = 0;
    if (this.pending.size === 0) return;
    const formed: BatchEvent[] = [];
    for (const [session, events] of this.pending) {
      const batch: EventBatch = { eventIndex: index, previousIndex: session.lastEventIndex, events };
      session.lastEventIndex = index;
      session.batches.push(batch);
      formed.push({ session, batch });
    }
    this.pending.clear();
    for (const event of formed) this.batches.emit(event);
  }

  publish(session: ServerSession, event: string, message: unknown): void {
    if (this.applyingIndex === 0)
      throw new IllegalMemberStateError('session.publish is allowed only while a command is applied');
    if (typeof event !== 'string' || event === '')
      throw new IllegalMemberStateError('event name must be a non-empty string');
    if (session.state !== 'open') return;
    const encoded: SessionEvent = { name: event, message: this.options.serializer.encode(message) };
    const list = this.pending.get(session);
    if (list === undefined) this.pending.set(session, [encoded]);
    else list.push(encoded);
  }

  /** A new leader's first entry: every session's keep-alive clock restarts (elections take time). */
  applyInitialize(entry: LogEntry): void {
    for (const session of this.sessions.values()) {
      if (session.state === 'open') session.lastKeepAlive = entry.timestamp;
    }
  }

  /** Opens a session whose id is the entry's index; returns the timeout in force. */
  applyRegister(entry: LogEntry): number {
    const { client, timeout } = decodeRegister(this.options.serializer, entry.payload);
    const effective = timeout > 0 ? timeout : this.options.defaultTimeout;
    const session = new ServerSession(entry.index, client, effective, entry.timestamp, this);
    this.sessions.set(session.id, session);
    this.hook('onSessionRegistered', session);
    return effective;
  }

  /** Renews a session and drops what its client has acknowledged; UNKNOWN_SESSION if not open. */
  applyKeepAlive(entry: LogEntry): void {
    const request = decodeKeepAlive(this.options.serializer, entry.payload);
    const session = this.openSession(request.session);
    session.lastKeepAlive = Math.max(session.lastKeepAlive, entry.timestamp);
    session.acknowledge(request.commandSequence, request.eventIndex);
  }

  /**
   * Closes a session. An expiry proposed by the leader is re-checked against log time here: if a
   * keep-alive was applied in between, the session lives on (every replica decides the same).
   */
  applyUnregister(entry: LogEntry): void {
    const request = decodeUnregister(this.options.serializer, entry.payload);
    const session = this.sessions.get(request.session);
    if (session === undefined || session.state !== 'open') {
      if (!request.expired) throw new UnknownSessionError(`session ${request.session} is not open`);
      return;
    }
    if (request.expired) {
      if (entry.timestamp - session.lastKeepAlive < session.timeout) return;
      session.state = 'expired';
      this.hook('onSessionExpired', session);
    } else {
      session.state = 'closed';
    }
    this.hook('onSessionClosed', session);
    this.sessions.delete(session.id);
    this.failWaiters(session.id, new UnknownSessionError(`session ${session.id} is ${session.state}`));
    this.closed.emit(session);
  }

  /**
   * Applies a command exactly once per (session, sequence): a sequence applied before returns
   * its cached result. Session 0 (internal commands) has no sequence. The result is what the
   * waiter at this index receives; session results also go to sequence waiters.
   */
  applyCommand(entry: LogEntry, close: () => void): CommandResult | { value: unknown } {
    const command = decodeCommand(this.options.serializer, entry.payload);
    if (command.session === 0) return { value: this.execute(entry, undefined, command.operation, close) };
    const session = this.sessions.get(command.session);
    if (session === undefined || session.state !== 'open') {
      return failure(entry.index, 0, new UnknownSessionError(`session ${command.session} is not open`));
    }
    if (command.sequence <= session.commandSequence) {
      return (
        session.results.get(command.sequence) ??
        failure(
          entry.index,
          session.lastEventIndex,
          new CommandFailureError(`result of command ${command.sequence} was already acknowledged`),
        )
      );
    }
    let result: CommandResult;
    if (command.sequence !== session.commandSequence + 1) {
      // The leader orders each session's commands, so this means a bug; refuse deterministically.
      this.options.logger.error('command sequence gap in the log', {
        session: session.id,
        expected: session.commandSequence + 1,
        sequence: command.sequence,
      });
      return failure(
        entry.index,
        session.lastEventIndex,
        new CommandFailureError(`command ${command.sequence} skipped ${session.commandSequence + 1}`),
      );
    }
    const eventIndex = session.lastEventIndex;
    try {
      const value = this.execute(entry, session, command.operation, close);
      result = { index: entry.index, eventIndex, result: this.options.serializer.encode(value) };
    } catch (error) {
      result = failure(entry.index, eventIndex, asApplicationError(error));
    }
    session.commandSequence = command.sequence;
    session.results.set(command.sequence, result);
    if (session.results.size > this.options.maxResultsPerSession) {
      const oldest = session.results.keys().next().value;
      if (oldest !== undefined) session.results.delete(oldest);
    }
    this.resolveWaiters(session.id, command.sequence, result);
    return result;
  }

  private execute(
    entry: LogEntry,
    session: ServerSession | undefined,
    bytes: Uint8Array,
    close: () => void,
  ): unknown {
    const operation = decodeOperation(this.options.serializer, bytes);
    return this.options.executor.apply({
      index: entry.index,
      time: this.options.executor.time,
      session,
      operation,
      close,
    });
  }

  /**
   * Evaluates a query against the current state (the caller made sure the state is recent
   * enough). Queries may not publish events: `applyingIndex` is 0.
   */
  query(session: ServerSession | undefined, bytes: Uint8Array, index: number): unknown {
    const operation = decodeOperation(this.options.serializer, bytes);
    return this.options.executor.apply(
      {
        index,
        time: this.options.executor.time,
        session,
        operation,
        close: () => {},
      },
      'query',
    );
  }

  private openSession(id: number): ServerSession {
    const session = this.sessions.get(id);
    if (session === undefined || session.state !== 'open')
      throw new UnknownSessionError(`session ${id} is not open`);
    return session;
  }

  private hook(
    name: 'onSessionRegistered' | 'onSessionExpired' | 'onSessionClosed',
    session: ServerSession,
  ): void {
    const machine = this.options.stateMachine;
    if (machine[name] === undefined) return;
    try {
      machine[name](session, { index: this.applyingIndex, time: this.options.executor.time });
    } catch (error) {
      // Every replica throws the same way; the session's fate is decided by the log regardless.
      this.options.logger.error(`state machine ${name} failed`, { session: session.id, error });
    }
  }

  // ---- waiting for results (local, not replicated) ---------------------------------------------

  /**
   * Resolves with the result of command (session, sequence) once it is applied on this server,
   * or at once if it is cached. Rejects with UNKNOWN_SESSION if the session closes first.
   */
  awaitResult(sessionId: number, sequence: number): Promise<CommandResult> {
    const session = this.sessions.get(sessionId);
    if (session === undefined || session.state !== 'open')
      return Promise.reject(new UnknownSessionError(`session ${sessionId} is not open`));
    if (sequence <= session.commandSequence) {
      const cached = session.results.get(sequence);
      if (cached !== undefined) return Promise.resolve(cached);
      return Promise.reject(
        new CommandFailureError(`result of command ${sequence} is no longer held (acknowledged or evicted)`),
      );
    }
    return new Promise((resolve, reject) => {
      let bySequence = this.waiters.get(sessionId);
      if (bySequence === undefined)
        this.waiters.set(sessionId, (bySequence = new Map<number, ResultWaiter[]>()));
      const list = bySequence.get(sequence);
      if (list === undefined) bySequence.set(sequence, [{ resolve, reject }]);
      else list.push({ resolve, reject });
    });
  }

  private resolveWaiters(sessionId: number, sequence: number, result: CommandResult): void {
    const bySequence = this.waiters.get(sessionId);
    const list = bySequence?.get(sequence);
    if (list === undefined) return;
    bySequence!.delete(sequence);
    if (bySequence!.size === 0) this.waiters.delete(sessionId);
    for (const waiter of list) waiter.resolve(result);
  }

  private failWaiters(sessionId: number, error: Error): void {
    const bySequence = this.waiters.get(sessionId);
    if (bySequence === undefined) return;
    this.waiters.delete(sessionId);
    for (const list of bySequence.values()) for (const waiter of list) waiter.reject(error);
  }

  /** Fails every waiter (server shutting down). */
  close(error: Error): void {
    for (const id of [...this.waiters.keys()]) this.failWaiters(id, error);
  }
}

function failure(index: number, eventIndex: number, error: CopycatError): CommandResult {
  return { index, eventIndex, error: { code: error.code, message: error.message } };
}

export function asApplicationError(error: unknown): CopycatError {
  return isCopycatError(error)
    ? error
    : new ApplicationError(error instanceof Error ? error.message : String(error), { cause: error });
}
