/**
 * Raft between servers (INTERNALS.md: Raft, as we run it). Field names follow the paper:
 * `term`, `prevLogIndex`, `commitIndex`, ...
 */
import { type MessageType } from '../message-type.js';
import { type Member } from '../members.js';
import { type ResponseOf } from './common.js';

/**
 * Leader to follower: replicate entries (empty `entries` is a heartbeat). Entries travel as the
 * leader's stored bytes: a concatenation of storage records, opaque to the protocol, which the
 * follower appends as received after checking each record's checksum.
 */
export interface AppendRequest {
  readonly type: typeof MessageType.append;
  readonly id: number;
  readonly term: number;
  /** The leader's address. */
  readonly leader: string;
  readonly prevLogIndex: number;
  readonly prevLogTerm: number;
  /** Concatenated storage records (empty for a heartbeat). */
  readonly entries: Uint8Array;
  readonly commitIndex: number;
  /** Lowest match index over all stateful members: bounds tombstone compaction. */
  readonly globalIndex: number;
}
export type AppendResponse = ResponseOf<{
  readonly term: number;
  readonly succeeded: boolean;
  /** The follower's last log index after handling the request. */
  readonly lastLogIndex: number;
  /** On a mismatch: the first index of the conflicting term (or lastLogIndex + 1 if the log is short). */
  readonly conflictIndex?: number;
  /** On a mismatch: the term of the entry at `prevLogIndex`, if the follower has one. */
  readonly conflictTerm?: number;
}>;

/** Pre-vote (Raft dissertation §9.6): would you vote for me? Nobody's term changes. */
export interface PollRequest {
  readonly type: typeof MessageType.poll;
  readonly id: number;
  /** The term the candidate would campaign in. */
  readonly term: number;
  readonly candidate: string;
  readonly lastLogIndex: number;
  readonly lastLogTerm: number;
}
export type PollResponse = ResponseOf<{
  readonly term: number;
  readonly accepted: boolean;
}>;

/** RequestVote (§5.2). */
export interface VoteRequest {
  readonly type: typeof MessageType.vote;
  readonly id: number;
  readonly term: number;
  readonly candidate: string;
  readonly lastLogIndex: number;
  readonly lastLogTerm: number;
  /** Set in a leadership transfer: voters grant it even while they hear from a live leader. */
  readonly transfer?: boolean;
}
export type VoteResponse = ResponseOf<{
  readonly term: number;
  readonly voted: boolean;
}>;

/** Leader to members that do not receive the log (reserve): the configuration in force. */
export interface ConfigureRequest {
  readonly type: typeof MessageType.configure;
  readonly id: number;
  readonly term: number;
  readonly leader: string;
  /** Index of the configuration entry. */
  readonly index: number;
  /** Log time of the configuration entry (ms). */
  readonly time: number;
  readonly members: readonly Member[];
}
export type ConfigureResponse = ResponseOf<{
  readonly term: number;
}>;

/** Leader to a lagging follower: one chunk of the snapshot at `index` (InstallSnapshot, §7). */
export interface InstallRequest {
  readonly type: typeof MessageType.install;
  readonly id: number;
  readonly term: number;
  readonly leader: string;
  /** Index covered by the snapshot. */
  readonly index: number;
  /** Term of the entry at `index`. */
  readonly snapshotTerm: number;
  /** Log time at `index` (ms): the state machine clock resumes from it. */
  readonly time: number;
  /** Byte offset of `data` in the snapshot. */
  readonly offset: number;
  readonly data: Uint8Array;
  /** True on the last chunk. */
  readonly complete: boolean;
}
export type InstallResponse = ResponseOf<{
  readonly term: number;
}>;

/** Leader to the transfer target: start an election now (leadership transfer, dissertation §3.10). */
export interface TimeoutNowRequest {
  readonly type: typeof MessageType.timeoutNow;
  readonly id: number;
  readonly term: number;
  readonly leader: string;
}
export type TimeoutNowResponse = ResponseOf<{
  readonly term: number;
}>;
