/**
 * The Raft messages between servers, as the core sees them. Field names follow the Raft paper;
 * they are carried by the matching @copycat/protocol messages.
 */
import type { Member, MemberType } from '../cluster/configuration.js';
import type { LogEntry } from './ports.js';

export interface AppendRequest {
  readonly kind: 'append';
  readonly term: number;
  readonly leader: string;
  readonly prevLogIndex: number;
  readonly prevLogTerm: number;
  readonly entries: readonly LogEntry[];
  readonly commitIndex: number;
}

export interface AppendResponse {
  readonly term: number;
  readonly succeeded: boolean;
  /** On success: the last index this request made match the leader's log. On failure: the follower's last index. */
  readonly lastLogIndex: number;
  /** On failure: where the leader should retry from (fast backtracking). */
  readonly conflictIndex?: number;
  /** On failure: the term of the follower's entry at prevLogIndex, if it had one. */
  readonly conflictTerm?: number;
}

/** Pre-vote (§9.6 of the dissertation): would you vote for me at `term`? Changes no state. */
export interface PollRequest {
  readonly kind: 'poll';
  readonly term: number;
  readonly candidate: string;
  readonly lastLogIndex: number;
  readonly lastLogTerm: number;
}

export interface PollResponse {
  readonly term: number;
  readonly accepted: boolean;
}

export interface VoteRequest {
  readonly kind: 'vote';
  readonly term: number;
  readonly candidate: string;
  readonly lastLogIndex: number;
  readonly lastLogTerm: number;
  /** Set when a leader transfers leadership: voters ignore their leader stickiness. */
  readonly transfer?: boolean;
}

export interface VoteResponse {
  readonly term: number;
  readonly voted: boolean;
}

/** Sent by a leader transferring leadership: start an election now. */
export interface TimeoutNowRequest {
  readonly kind: 'timeoutNow';
  readonly term: number;
  readonly leader: string;
}

export interface TimeoutNowResponse {
  readonly term: number;
  readonly accepted: boolean;
}

/** Leader to reserve members: the configuration only (they store no log). */
export interface ConfigureRequest {
  readonly kind: 'configure';
  readonly term: number;
  readonly leader: string;
  readonly index: number;
  readonly time: number;
  readonly members: readonly Member[];
}

export interface ConfigureResponse {
  readonly term: number;
}

/** A server asks to join the cluster as `type` (it joins as passive first if `type` is active). */
export interface JoinRequest {
  readonly kind: 'join';
  readonly address: string;
  readonly type: MemberType;
}

/** A server asks to be removed from the configuration. */
export interface LeaveRequest {
  readonly kind: 'leave';
  readonly address: string;
}

/** Promote or demote a member to `type`. */
export interface ReconfigureRequest {
  readonly kind: 'reconfigure';
  readonly address: string;
  readonly type: MemberType;
}

/** Answer to join, leave and reconfigure: the committed configuration after the change. */
export interface MembershipResponse {
  /** Index, term and log time of the configuration entry. */
  readonly index: number;
  readonly term: number;
  readonly time: number;
  readonly members: readonly Member[];
}

export type MembershipRequest = JoinRequest | LeaveRequest | ReconfigureRequest;

export type RaftRequest =
  AppendRequest | PollRequest | VoteRequest | TimeoutNowRequest | ConfigureRequest | MembershipRequest;

export type RaftResponseFor<R extends RaftRequest> = R extends AppendRequest
  ? AppendResponse
  : R extends PollRequest
    ? PollResponse
    : R extends VoteRequest
      ? VoteResponse
      : R extends TimeoutNowRequest
        ? TimeoutNowResponse
        : R extends ConfigureRequest
          ? ConfigureResponse
          : R extends MembershipRequest
            ? MembershipResponse
            : never;
