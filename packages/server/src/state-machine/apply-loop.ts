import { ClosedError, CommandFailureError, type Logger } from '@copycat/common';
import type { LogEntry, RaftLog } from '../raft/ports.js';
import { asApplicationError, type SessionRegistry } from '../session/session-registry.js';
import type { LogTimeExecutor } from './executor.js';

interface Waiter {
  term: number;
  resolve: (result: unknown) => void;
  reject: (error: Error) => void;
}

export interface ApplyLoopOptions {
  log: RaftLog;
  executor: LogTimeExecutor;
  sessions: SessionRegistry;
  logger: Logger;
  /** The state machine no longer needs this entry (Commit.close()). */
  release: (index: number) => void;
}

/**
 * Applies committed entries in index order, exactly once each (ordering rule 5): session entries
 * and commands go to the session registry, which calls the state machine. Whoever waits for an
 * index is completed: a waiter registered for (index, term) gets the entry's outcome if the entry
 * applied at that index has that term, and a `COMMAND_FAILURE` if it has another (its entry was
 * replaced by a new leader and will never be applied).
 *
 * What a waiter receives, by entry type: `command` → the registry's result (a `CommandResult`
 * for session commands, `{ value }` for internal ones); `register` → the session timeout in
 * force; others → undefined. Failures (unknown session, a throwing internal command) reject.
 */
export class ApplyLoop {
  lastApplied = 0;
  private readonly waiters = new Map<number, Waiter>();
  private readonly options: ApplyLoopOptions;
  private applying = false;
  private readonly appliedListeners = new Set<() => void>();

  constructor(options: ApplyLoopOptions) {
    this.options = options;
  }

  /** Waits for the entry (index, term) to be applied; resolves with its outcome. */
  waitFor(index: number, term: number): Promise<unknown> {
    if (index <= this.lastApplied) {
      return Promise.reject(
        new CommandFailureError(`index ${index} was applied before anyone waited for it`),
      );
    }
    return new Promise((resolve, reject) => this.waiters.set(index, { term, resolve, reject }));
  }

  /** Called after each round of applying (for queries waiting on the applied index). */
  onApplied(listener: () => void): { close(): void } {
    this.appliedListeners.add(listener);
    return { close: () => void this.appliedListeners.delete(listener) };
  }

  /** Applies every entry up to `commitIndex` that has not been applied yet. */
  applyUpTo(commitIndex: number): void {
    if (this.applying) return; // re-entrant call from a listener: the running loop picks it up
    this.applying = true;
    const before = this.lastApplied;
    try {
      while (this.lastApplied < commitIndex) {
        const index = this.lastApplied + 1;
        const entry = this.options.log.get(index);
        this.lastApplied = index;
        if (entry === undefined) continue; // compacted away: it no longer contributed to state
        this.applyEntry(entry);
      }
    } finally {
      this.applying = false;
    }
    if (this.lastApplied !== before) for (const listener of [...this.appliedListeners]) listener();
  }

  private applyEntry(entry: LogEntry): void {
    const { executor, sessions } = this.options;
    sessions.beginEntry(entry.index);
    executor.advance(entry.timestamp);
    const waiter = this.waiters.get(entry.index);
    if (waiter !== undefined) this.waiters.delete(entry.index);
    if (waiter !== undefined && waiter.term !== entry.term) {
      waiter.reject(
        new CommandFailureError(
          `entry ${entry.index} was replaced by a newer leader; the command was not applied`,
        ),
      );
    }
    const complete = waiter !== undefined && waiter.term === entry.term ? waiter : undefined;
    let outcome: unknown;
    try {
      outcome = this.applyByType(entry);
    } catch (error) {
      // Every replica fails the same way here, so state stays identical.
      const failure = asApplicationError(error);
      this.options.logger.debug('entry failed', {
        index: entry.index,
        type: entry.type,
        error: failure.message,
      });
      sessions.endEntry();
      complete?.reject(failure);
      return;
    }
    sessions.endEntry();
    complete?.resolve(outcome);
  }

  private applyByType(entry: LogEntry): unknown {
    const sessions = this.options.sessions;
    switch (entry.type) {
      case 'command': {
        let released = false;
        return sessions.applyCommand(entry, () => {
          if (released) return;
          released = true;
          this.options.release(entry.index);
        });
      }
      case 'register':
        return sessions.applyRegister(entry);
      case 'keepAlive':
        sessions.applyKeepAlive(entry);
        return undefined;
      case 'unregister':
        sessions.applyUnregister(entry);
        return undefined;
      case 'initialize':
        sessions.applyInitialize(entry);
        return undefined;
      case 'configuration':
      case 'noop':
        return undefined;
    }
  }

  /** Fails every waiter (server shutting down). */
  close(): void {
    const error = new ClosedError('server closed before the entry was applied');
    for (const waiter of this.waiters.values()) waiter.reject(error);
    this.waiters.clear();
    this.options.sessions.close(error);
  }
}
