import { ConfigurationError } from '@copycat/common';

export type MemberType = 'active' | 'passive' | 'reserve';
export type MemberStatus = 'available' | 'unavailable';

export interface Member {
  readonly address: string;
  readonly type: MemberType;
  readonly status: MemberStatus;
}

/**
 * A cluster configuration as logged in a configuration entry. Configurations take effect as soon
 * as they are appended (Raft dissertation §4.1), so `index` is the entry that holds it.
 */
export interface Configuration {
  readonly index: number;
  readonly term: number;
  readonly time: number;
  readonly members: readonly Member[];
}

export const EMPTY_CONFIGURATION: Configuration = { index: 0, term: 0, time: 0, members: [] };

export function findMember(configuration: Configuration, address: string): Member | undefined {
  return configuration.members.find((m) => m.address === address);
}

/** Addresses of the voting members, in configuration order. */
export function voters(configuration: Configuration): string[] {
  return configuration.members.filter((m) => m.type === 'active').map((m) => m.address);
}

export function membersOfType(configuration: Configuration, type: MemberType): string[] {
  return configuration.members.filter((m) => m.type === type).map((m) => m.address);
}

/** Checks a member list: non-empty addresses, no duplicates, valid types and statuses. */
export function validateMembers(members: readonly Member[]): void {
  const seen = new Set<string>();
  for (const member of members) {
    if (typeof member.address !== 'string' || member.address === '') {
      throw new ConfigurationError('every member needs a non-empty address');
    }
    if (seen.has(member.address)) throw new ConfigurationError(`member ${member.address} is listed twice`);
    seen.add(member.address);
    if (!['active', 'passive', 'reserve'].includes(member.type)) {
      throw new ConfigurationError(`member ${member.address} has an unknown type '${String(member.type)}'`);
    }
    if (!['available', 'unavailable'].includes(member.status)) {
      throw new ConfigurationError(
        `member ${member.address} has an unknown status '${String(member.status)}'`,
      );
    }
  }
}

/** The same members with `address` changed by `change` (or added, if absent and `add` given). */
export function withMember(members: readonly Member[], member: Member): Member[] {
  const index = members.findIndex((m) => m.address === member.address);
  if (index === -1) return [...members, member];
  const copy = [...members];
  copy[index] = member;
  return copy;
}

export function withoutMember(members: readonly Member[], address: string): Member[] {
  return members.filter((m) => m.address !== address);
}

/**
 * Which follower replicates committed entries to which passive member: a deterministic
 * assignment from the member list alone, so every server computes the same one. Passive members
 * are spread round-robin over the active members other than the leader, in address order; with
 * no such followers the leader serves them all (INTERNALS.md, Membership).
 */
export function passiveAssignments(configuration: Configuration, leader: string): Map<string, string[]> {
  const servers = voters(configuration)
    .filter((a) => a !== leader)
    .sort();
  const passive = membersOfType(configuration, 'passive').sort();
  const assignment = new Map<string, string[]>();
  const targets = servers.length > 0 ? servers : [leader];
  passive.forEach((address, i) => {
    const server = targets[i % targets.length]!;
    assignment.set(server, [...(assignment.get(server) ?? []), address]);
  });
  return assignment;
}
