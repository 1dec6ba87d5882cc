import {
  ApplicationError,
  ClosedError,
  CommandFailureError,
  isCopycatError,
  type Logger,
} from '@copycat/common';
import type { LogEntry, RaftLog } from '../raft/ports.js';
import type { LogTimeExecutor } from './executor.js';
import type { Operation } from './state-machine.js';

interface Waiter {
  term: number;
  resolve: (result: unknown) => void;
  reject: (error: Error) => void;
}

export interface ApplyLoopOptions {
  log: RaftLog;
  executor: LogTimeExecutor;
  logger: Logger;
  /** Decodes a command entry's payload into the operation the state machine sees. */
  decodeCommand: (entry: LogEntry) => Operation;
  /** The state machine no longer needs this entry (Commit.close()). */
  release: (index: number) => void;
}

/**
 * Applies committed entries to the state machine in index order, exactly once each (ordering
 * rule 5), and completes whoever waits for an index. A waiter registered for (index, term) is
 * resolved if the entry applied at that index has that term, and rejected if it has another:
 * then its entry was replaced by a new leader and will never be applied.
 */
export class ApplyLoop {
  lastApplied = 0;
  private readonly waiters = new Map<number, Waiter>();
  private readonly options: ApplyLoopOptions;
  private applying = false;

  constructor(options: ApplyLoopOptions) {
    this.options = options;
  }

  /** Waits for the entry (index, term) to be applied; resolves with the state machine's result. */
  waitFor(index: number, term: number): Promise<unknown> {
    if (index <= this.lastApplied) {
      return Promise.reject(
        new CommandFailureError(`index ${index} was applied before anyone waited for it`),
      );
    }
    return new Promise((resolve, reject) => this.waiters.set(index, { term, resolve, reject }));
  }

  /** Applies every entry up to `commitIndex` that has not been applied yet. */
  applyUpTo(commitIndex: number): void {
    if (this.applying) return; // re-entrant call from a listener: the running loop picks it up
    this.applying = true;
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
  }

  private applyEntry(entry: LogEntry): void {
    const { executor } = this.options;
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
    if (entry.type !== 'command') {
      complete?.resolve(undefined);
      return;
    }
    let released = false;
    try {
      const operation = this.options.decodeCommand(entry);
      const result = executor.apply({
        index: entry.index,
        time: executor.time,
        operation,
        close: () => {
          if (released) return;
          released = true;
          this.options.release(entry.index);
        },
      });
      complete?.resolve(result);
    } catch (error) {
      // The user's handler threw: every replica throws the same way, so state stays identical.
      const failure = isCopycatError(error)
        ? error
        : new ApplicationError(error instanceof Error ? error.message : String(error), { cause: error });
      this.options.logger.debug('command failed', { index: entry.index, error: failure.message });
      complete?.reject(failure);
    }
  }

  /** Fails every waiter (server shutting down). */
  close(): void {
    for (const waiter of this.waiters.values())
      waiter.reject(new ClosedError('server closed before the command was applied'));
    this.waiters.clear();
  }
}
