/**
 * Membership changes, one member at a time (INTERNALS.md: Membership), and leadership transfer.
 * All are sent to any member and forwarded to the leader; the answer is the configuration that
 * results.
 */
import { type MessageType } from '../message-type.js';
import { type Member } from '../members.js';
import { type ResponseOf } from './common.js';

/** A configuration as membership responses carry it. */
export interface ConfigurationFields {
  /** Index of the configuration entry. */
  readonly index: number;
  /** Term of the configuration entry. */
  readonly term: number;
  /** Log time of the configuration entry (ms). */
  readonly time: number;
  readonly members: readonly Member[];
}

/** A server asks to join; the leader adds it as `passive` and promotes it once caught up. */
export interface JoinRequest {
  readonly type: typeof MessageType.join;
  readonly id: number;
  readonly member: Member;
}
export type JoinResponse = ResponseOf<ConfigurationFields>;

/** A server asks to leave the cluster. */
export interface LeaveRequest {
  readonly type: typeof MessageType.leave;
  readonly id: number;
  readonly member: Member;
}
export type LeaveResponse = ResponseOf<ConfigurationFields>;

/** Changes a member's type (promote/demote) or status, based on the configuration at `index`/`term`. */
export interface ReconfigureRequest {
  readonly type: typeof MessageType.reconfigure;
  readonly id: number;
  /** The member with its new type and status. */
  readonly member: Member;
  /** Index of the configuration the change is based on: refused if another change came since. */
  readonly index: number;
  readonly term: number;
}
export type ReconfigureResponse = ResponseOf<ConfigurationFields>;

/** Asks the leader to hand leadership to `member`. */
export interface TransferRequest {
  readonly type: typeof MessageType.transfer;
  readonly id: number;
  /** Address of the member that should become leader. */
  readonly member: string;
}
export type TransferResponse = ResponseOf<{
  readonly term: number;
  /** The leader after the transfer, if known. */
  readonly leader?: string;
}>;
