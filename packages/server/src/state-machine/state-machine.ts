import type { Cancellable } from '@copycat/common';
import type { Session } from '../session/server-session.js';

/** An operation as the state machine sees it: a registered name and its decoded arguments. */
export interface Operation<T = unknown> {
  readonly name: string;
  readonly args: T;
}

/**
 * A committed operation being applied (or a query being evaluated). `time` is deterministic log
 * time (identical on every replica); `session` is the client session that submitted it
 * (undefined for `RaftServer.submitInternal`); `close()` tells the log this entry no longer
 * contributes to the state, so compaction may remove it according to the command's compaction
 * mode (a no-op for queries).
 */
export interface Commit<T = unknown> {
  readonly index: number;
  readonly time: number;
  readonly session: Session | undefined;
  readonly operation: Operation<T>;
  close(): void;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- handlers declare their own argument type
export type CommitHandler<T = any, R = unknown> = (commit: Commit<T>) => R;

/**
 * What an operation handler may be used for. A `query` is evaluated on one server without being
 * logged, so its handler must not change state: declaring `kind: 'command'` for handlers that
 * do makes the server refuse them as queries (else a client submitting a write as a query would
 * change one replica only). `any` (the default) trusts the client to use the handler rightly.
 */
export type OperationKind = 'command' | 'query' | 'any';

export interface RegisterOptions {
  kind?: OperationKind;
}

/**
 * What a state machine registers its operations and timers with. Timers run on log time, so
 * they fire at the same point of the log on every replica.
 */
export interface StateMachineExecutor {
  /** The state machine's clock: the log time of the entry being applied. */
  readonly time: number;
  register<T = unknown, R = unknown>(
    name: string,
    handler: CommitHandler<T, R>,
    options?: RegisterOptions,
  ): void;
  /** Runs `callback` once log time has advanced by `delay` ms. */
  schedule(delay: number, callback: () => void): Cancellable;
  /** Runs `callback` after `initialDelay` ms of log time and then every `period` ms. */
  scheduleAtFixedRate(initialDelay: number, period: number, callback: () => void): Cancellable;
}

export interface SnapshotWriter {
  write(value: unknown): void;
}

export interface SnapshotReader {
  hasMore(): boolean;
  read<T = unknown>(): T;
}

/** Where in the log a session hook runs: the same index and log time on every replica. */
export interface SessionEventContext {
  readonly index: number;
  readonly time: number;
}

/**
 * The user's replicated state machine. Handlers must be deterministic and synchronous: every
 * replica applies the same commits in the same order and must reach the same state.
 */
export abstract class StateMachine {
  abstract configure(executor: StateMachineExecutor): void;
  /** Optional: write the whole state; then entries covered by the snapshot can be compacted. */
  snapshot?(writer: SnapshotWriter): void;
  /** Optional: replace the state with a snapshot written by `snapshot`. */
  install?(reader: SnapshotReader): void;
  /** Optional: a client session was opened (at its `register` entry, on every replica). */
  onSessionRegistered?(session: Session, at: SessionEventContext): void;
  /**
   * Optional: a session expired (its client stopped keeping it alive). Called at the same log
   * index on every replica, then `onSessionClosed`. Release the session's locks etc. here or
   * there; events may be published to other sessions.
   */
  onSessionExpired?(session: Session, at: SessionEventContext): void;
  /** Optional: a session ended, closed by its client or expired. */
  onSessionClosed?(session: Session, at: SessionEventContext): void;
}
