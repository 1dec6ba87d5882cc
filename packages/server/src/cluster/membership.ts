import { ConfigurationError, NoLeaderError, TimeoutError, isCopycatError, sleep } from '@copycat/common';
import type { MembershipRequest, MembershipResponse } from '../raft/messages.js';
import type { RaftNode } from '../raft/raft-node.js';
import {
  findMember,
  voters,
  withMember,
  withoutMember,
  type Member,
  type MemberType,
  type MemberStatus,
} from './configuration.js';

const RANK: Record<MemberType, number> = { reserve: 0, passive: 1, active: 2 };

/**
 * Single-member configuration changes (dissertation §4.1): join, leave, promote, demote. The
 * leader runs them one at a time; each is one configuration entry, and a server joining as
 * active first joins as passive and is promoted once its log has caught up, so that a new
 * voter never makes the cluster wait for it to replicate the whole log.
 */
export class MembershipManager {
  private queue: Promise<unknown> = Promise.resolve();

  constructor(private readonly node: RaftNode) {}

  /** On the leader: runs a membership request after the ones before it. */
  handle(request: MembershipRequest): Promise<MembershipResponse> {
    const run = this.queue.then(() => this.apply(request));
    this.queue = run.catch(() => {});
    return run;
  }

  private response(): MembershipResponse {
    const { index, term, time, members } = this.node.context.committed;
    return { index, term, time, members };
  }

  private async apply(request: MembershipRequest): Promise<MembershipResponse> {
    const context = this.node.context;
    this.node.leaderRole(); // throws NoLeaderError with a hint when we are not the leader
    const current = findMember(context.configuration, request.address);
    switch (request.kind) {
      case 'join':
        if (current === undefined) {
          await this.change({
            address: request.address,
            type: request.type === 'reserve' ? 'reserve' : 'passive',
            status: 'available',
          });
        }
        await this.moveTo(request.address, request.type);
        break;
      case 'leave':
        if (current !== undefined) await this.remove(request.address);
        break;
      case 'reconfigure':
        if (current === undefined) throw new ConfigurationError(`${request.address} is not a member`);
        await this.moveTo(request.address, request.type);
        break;
    }
    return this.response();
  }

  /** Records a member's reachability in the configuration (leader only; skipped if not leading). */
  setStatus(address: string, status: MemberStatus): void {
    const run = this.queue.then(async () => {
      const member = findMember(this.node.context.configuration, address);
      if (member === undefined || member.status === status) return;
      await this.change({ ...member, status });
    });
    this.queue = run.catch(() => {});
  }

  /** Steps a member's type one rank at a time; promotion to active waits until it caught up. */
  private async moveTo(address: string, type: MemberType): Promise<void> {
    for (;;) {
      const member = findMember(this.node.context.configuration, address);
      if (member === undefined) throw new ConfigurationError(`${address} is not a member`);
      if (member.type === type) return;
      const up = RANK[type] > RANK[member.type];
      const next: MemberType = up
        ? member.type === 'reserve'
          ? 'passive'
          : 'active'
        : member.type === 'active'
          ? 'passive'
          : 'reserve';
      if (next === 'active') await this.awaitCaughtUp(address);
      await this.change({ ...member, type: next });
    }
  }

  private async remove(address: string): Promise<void> {
    await this.awaitNoPendingChange();
    const context = this.node.context;
    const members = withoutMember(context.configuration.members, address);
    this.checkVoters(members);
    await this.node.reconfigure(members);
  }

  private async change(member: Member): Promise<void> {
    await this.awaitNoPendingChange();
    const members = withMember(this.node.context.configuration.members, member);
    this.checkVoters(members);
    await this.node.reconfigure(members);
  }

  /** One uncommitted change at a time: wait for one inherited from a previous leader to commit. */
  private async awaitNoPendingChange(): Promise<void> {
    const context = this.node.context;
    const deadline = context.scheduler.now() + 10 * context.timing.electionTimeout;
    while (context.configurationPending) {
      this.node.leaderRole();
      if (context.scheduler.now() >= deadline)
        throw new TimeoutError('a previous configuration change did not commit in time');
      await sleep(context.scheduler, context.timing.heartbeatInterval);
    }
  }

  private checkVoters(members: readonly Member[]): void {
    if (voters({ index: 0, term: 0, time: 0, members }).length === 0) {
      throw new ConfigurationError('the change would leave the cluster without an active member');
    }
  }

  /**
   * Waits until the member's log has reached the commit index as it was when we started
   * waiting: a new voter then adds no delay to commits. Bounded by 20 election timeouts.
   */
  private async awaitCaughtUp(address: string): Promise<void> {
    const context = this.node.context;
    const target = context.commitIndex;
    const deadline = context.scheduler.now() + 20 * context.timing.electionTimeout;
    while (this.node.leaderRole().matchIndexOf(address) < target) {
      if (context.scheduler.now() >= deadline) {
        throw new TimeoutError(`${address} did not catch up to index ${target} in time to be promoted`);
      }
      await sleep(context.scheduler, context.timing.heartbeatInterval);
    }
  }

  /**
   * On any server: sends a membership request to the cluster, trying each address and
   * following leader hints, with a pause between rounds, for at most 20 election timeouts.
   */
  async request(addresses: readonly string[], request: MembershipRequest): Promise<MembershipResponse> {
    const context = this.node.context;
    const deadline = context.scheduler.now() + 20 * context.timing.electionTimeout;
    let lastError: unknown = new NoLeaderError('no member answered');
    while (context.scheduler.now() < deadline) {
      const targets = [...new Set([...(context.leader === undefined ? [] : [context.leader]), ...addresses])];
      for (const address of targets) {
        try {
          if (address === context.address) {
            if (context.roleName === 'leader') return await this.handle(request);
            continue;
          }
          return await context.peers.send(address, request);
        } catch (error) {
          lastError = error;
          // A configuration error (e.g. the last voter leaving) will not fix itself.
          if (isCopycatError(error, 'CONFIGURATION_ERROR')) throw error;
        }
      }
      await sleep(context.scheduler, context.timing.heartbeatInterval);
    }
    throw lastError instanceof Error ? lastError : new TimeoutError(`${request.kind} did not complete`);
  }
}
