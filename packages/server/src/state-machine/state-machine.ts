import type { Cancellable } from '@copycat/common';

/** An operation as the state machine sees it: a registered name and its decoded arguments. */
export interface Operation<T = unknown> {
  readonly name: string;
  readonly args: T;
}

/**
 * A committed operation being applied. `time` is deterministic log time (identical on every
 * replica); `close()` tells the log this entry no longer contributes to the state, so compaction
 * may remove it according to the command's compaction mode.
 */
export interface Commit<T = unknown> {
  readonly index: number;
  readonly time: number;
  readonly operation: Operation<T>;
  close(): void;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- handlers declare their own argument type
export type CommitHandler<T = any, R = unknown> = (commit: Commit<T>) => R;

/**
 * What a state machine registers its operations and timers with. Timers run on log time, so
 * they fire at the same point of the log on every replica.
 */
export interface StateMachineExecutor {
  /** The state machine's clock: the log time of the entry being applied. */
  readonly time: number;
  register<T = unknown, R = unknown>(name: string, handler: CommitHandler<T, R>): void;
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
}
