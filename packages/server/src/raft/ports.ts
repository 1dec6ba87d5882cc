/**
 * What the Raft core needs from the outside world, as small interfaces. `RaftServer` adapts
 * @copycat/storage, @copycat/protocol connections and the Scheduler to them; tests can pass
 * in-memory versions. Keeping the core behind these ports keeps it small and readable.
 */
import type { Configuration } from '../cluster/configuration.js';
import type { Entry } from '@copycat/storage';
import type { RaftRequest, RaftResponseFor } from './messages.js';

/**
 * A log entry: the storage layer's own `Entry` (index, term, type, timestamp, flags, payload),
 * so the leader can replicate the stored records as they are.
 */
export type LogEntry = Entry;

/**
 * The replicated log. Reads and appends are synchronous and immediately visible; durability
 * comes from `flush()`, which resolves once everything appended before the call is on disk.
 */
export interface RaftLog {
  readonly firstIndex: number;
  readonly lastIndex: number;
  readonly lastTerm: number;
  /** Term of the entry at `index`; undefined if there is none (beyond the end, or removed). */
  termAt(index: number): number | undefined;
  get(index: number): LogEntry | undefined;
  append(entries: readonly LogEntry[]): void;
  /** Removes every entry after `index`. */
  truncate(index: number): void;
  flush(): Promise<void>;
}

/** Term, vote and configuration: persisted atomically before the promise resolves. */
export interface HardState {
  readonly term: number;
  readonly votedFor: string | undefined;
  readonly configuration: Configuration | undefined;
}

export interface MetaPort {
  load(): HardState;
  store(state: HardState): Promise<void>;
}

/** Sends a request to a peer; rejects on timeout or connection failure. */
export interface PeerPort {
  send<R extends RaftRequest>(to: string, request: R): Promise<RaftResponseFor<R>>;
}
