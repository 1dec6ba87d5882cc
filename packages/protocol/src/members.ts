/** INTERNALS.md (Membership): active members vote, passive ones replicate committed entries, reserve ones wait. */
export type MemberType = 'active' | 'passive' | 'reserve';
export const MEMBER_TYPES: readonly MemberType[] = ['active', 'passive', 'reserve'];

/** Committed by the leader after failed heartbeats (`unavailable`) and on the first success (`available`). */
export type MemberStatus = 'available' | 'unavailable';
export const MEMBER_STATUSES: readonly MemberStatus[] = ['available', 'unavailable'];

/** A member of the cluster configuration, as configuration entries and responses carry it. */
export interface Member {
  /** The address servers and clients connect to (`host:port`, or any string the transport understands). */
  readonly address: string;
  readonly type: MemberType;
  readonly status: MemberStatus;
}
