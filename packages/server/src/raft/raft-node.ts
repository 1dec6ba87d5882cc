import {
  ConfigurationError,
  NoLeaderError,
  noopLogger,
  type Listener,
  type ListenerRegistration,
  type Logger,
  type Scheduler,
} from '@copycat/common';
import { Serializer } from '@copycat/io';
import {
  findMember,
  validateMembers,
  type Configuration,
  type Member,
  type MemberType,
} from '../cluster/configuration.js';
import { MembershipManager } from '../cluster/membership.js';
import type { RaftTiming } from '../config.js';
import { createRole, LeaderRole, type RoleName } from '../roles/index.js';
import { ApplyLoop } from '../state-machine/apply-loop.js';
import { LogTimeExecutor } from '../state-machine/executor.js';
import type { StateMachine } from '../state-machine/state-machine.js';
import { encodeOperation } from '@copycat/protocol';
import { LeaderSessions } from '../session/leader-sessions.js';
import { encodeCommand } from '../session/session-entries.js';
import { SessionRegistry } from '../session/session-registry.js';
import { RaftContext, type RaftCounters, type UnsafeRaftOptions } from './context.js';
import type { MembershipResponse, RaftRequest, RaftResponseFor } from './messages.js';
import type { MetaPort, PeerPort, RaftLog } from './ports.js';

export interface RaftNodeOptions {
  address: string;
  log: RaftLog;
  meta: MetaPort;
  peers: PeerPort;
  scheduler: Scheduler;
  timing: RaftTiming;
  stateMachine: StateMachine;
  logger?: Logger;
  serializer?: Serializer;
  /** Marks an entry removable by compaction (Commit.close()). */
  release?: (index: number) => void;
  /** Unacknowledged command results kept per session (oldest dropped first). Default 16384. */
  maxResultsPerSession?: number;
  unsafe?: UnsafeRaftOptions;
}

export interface NodeStatus {
  address: string;
  state: RoleName;
  term: number;
  leader: string | undefined;
  commitIndex: number;
  lastApplied: number;
  lastIndex: number;
  members: readonly Member[];
  counters: RaftCounters;
}

/**
 * One Raft server's algorithm, wired to its ports: the role state machine (`RaftContext`), the
 * apply loop and the user's state machine. `RaftServer` adds storage and a transport around it;
 * tests use it directly with in-memory ports.
 */
export class RaftNode {
  readonly context: RaftContext;
  readonly applyLoop: ApplyLoop;
  readonly executor: LogTimeExecutor;
  readonly sessions: SessionRegistry;
  private readonly serializer: Serializer;
  private currentLeaderSessions: LeaderSessions | undefined;
  private readonly subscriptions: ListenerRegistration[] = [];

  constructor(options: RaftNodeOptions) {
    const logger = options.logger ?? noopLogger;
    this.serializer = options.serializer ?? new Serializer();
    const serializer = this.serializer;
    this.context = new RaftContext({
      address: options.address,
      log: options.log,
      meta: options.meta,
      peers: options.peers,
      scheduler: options.scheduler,
      timing: options.timing,
      logger,
      createRole,
      configurationCodec: {
        encode: (members) =>
          serializer.encode(members.map((m) => ({ address: m.address, type: m.type, status: m.status }))),
        decode: (payload) => {
          const members = serializer.decode<Member[]>(payload);
          validateMembers(members);
          return members;
        },
      },
      ...(options.unsafe === undefined ? {} : { unsafe: options.unsafe }),
    });
    this.executor = new LogTimeExecutor((error) => logger.error('state machine timer failed', { error }));
    options.stateMachine.configure(this.executor);
    this.sessions = new SessionRegistry({
      serializer,
      executor: this.executor,
      stateMachine: options.stateMachine,
      logger,
      defaultTimeout: options.timing.sessionTimeout,
      maxResultsPerSession: options.maxResultsPerSession ?? 16384,
    });
    this.applyLoop = new ApplyLoop({
      log: options.log,
      executor: this.executor,
      sessions: this.sessions,
      logger,
      release: options.release ?? (() => {}),
    });
    this.subscriptions.push(this.context.commits.add((index) => this.applyLoop.applyUpTo(index)));
    this.membership = new MembershipManager(this);
    // A new leader reports members it cannot reach (or reaches again) as configuration changes.
    this.subscriptions.push(
      this.context.roleChanges.add((role) => {
        const current = this.context.role;
        this.currentLeaderSessions?.close();
        this.currentLeaderSessions = undefined;
        if (role === 'leader' && current instanceof LeaderRole) {
          this.currentLeaderSessions = new LeaderSessions({
            leader: current,
            applyLoop: this.applyLoop,
            sessions: this.sessions,
            serializer,
            scheduler: options.scheduler,
            logger,
            initializeIndex: this.context.log.lastIndex,
            checkInterval: options.timing.heartbeatInterval,
            gapTimeout: options.timing.electionTimeout,
            maxQueuedPerSession: 1024,
          });
          current.availabilityChanges.add(({ address, status }) =>
            this.membership.setStatus(address, status),
          );
        }
      }),
    );
  }

  readonly membership: MembershipManager;

  /**
   * Forms a new cluster from `members` (all active). On a server that already has a
   * configuration (a restart), the stored one wins and `members` is ignored.
   */
  bootstrap(members: readonly string[]): void {
    if (this.context.configuration.members.length === 0) {
      const list: Member[] = members.map((address) => ({ address, type: 'active', status: 'available' }));
      validateMembers(list);
      if (!list.some((m) => m.address === this.context.address)) {
        throw new ConfigurationError(`bootstrap members must include this server (${this.context.address})`);
      }
      this.context.setCommittedConfiguration({ index: 0, term: 0, time: 0, members: list });
    }
    this.context.start();
  }

  /** Starts with whatever configuration is stored (a restart). */
  start(): void {
    this.context.start();
  }

  handle<R extends RaftRequest>(request: R): Promise<RaftResponseFor<R>> {
    if (request.kind === 'join' || request.kind === 'leave' || request.kind === 'reconfigure') {
      return this.membership.handle(request) as Promise<RaftResponseFor<R>>;
    }
    return this.context.handle(request);
  }

  /** Joins a running cluster through any of `members`, ending as `type` (default active). */
  async join(members: readonly string[], type: MemberType = 'active'): Promise<void> {
    if (findMember(this.context.configuration, this.context.address) !== undefined) {
      this.context.start(); // a restart: the stored configuration already includes us
      return;
    }
    this.context.start();
    const response = await this.membership.request(members, {
      kind: 'join',
      address: this.context.address,
      type,
    });
    this.adopt(response);
  }

  /** Leaves the cluster: a configuration without this server is committed. */
  async leave(): Promise<void> {
    const members = this.context.configuration.members
      .map((m) => m.address)
      .filter((a) => a !== this.context.address);
    const response = await this.membership.request([this.context.address, ...members], {
      kind: 'leave',
      address: this.context.address,
    });
    this.adopt(response);
  }

  /** Changes a member's type (promote: reserve → passive → active; demote the other way). */
  async setMemberType(address: string, type: MemberType): Promise<void> {
    const members = this.context.configuration.members.map((m) => m.address);
    const response = await this.membership.request([this.context.address, ...members], {
      kind: 'reconfigure',
      address,
      type,
    });
    this.adopt(response);
  }

  private adopt(response: MembershipResponse): void {
    this.context.setCommittedConfiguration({
      index: response.index,
      term: response.term,
      time: 0,
      members: response.members,
    });
  }

  leaderRole(): LeaderRole {
    const role = this.context.role;
    if (!(role instanceof LeaderRole)) {
      const leader = this.context.leader;
      throw new NoLeaderError(
        leader === undefined ? 'no leader is known' : `not the leader; the leader is ${leader}`,
      );
    }
    return role;
  }

  /** The leader's session bookkeeping for this term; NO_LEADER on any other server. */
  leaderSessions(): LeaderSessions {
    const sessions = this.currentLeaderSessions;
    if (sessions === undefined || !(this.context.role instanceof LeaderRole)) {
      this.leaderRole(); // throws the NoLeaderError with the leader hint
      throw new NoLeaderError('no longer the leader');
    }
    return sessions;
  }

  /**
   * Appends a command without a session and resolves with the state machine's result once it is
   * applied (no exactly-once across retries: that is what client sessions are for).
   */
  async submit(name: string, args: unknown): Promise<unknown> {
    const operation = encodeOperation(this.serializer, { name, args });
    const entry = this.leaderRole().append(
      'command',
      encodeCommand(this.serializer, { session: 0, sequence: 0, operation }),
    );
    const outcome = (await this.applyLoop.waitFor(entry.index, entry.term)) as { value: unknown };
    return outcome.value;
  }

  /** Replaces the member list through a configuration entry (one change at a time). */
  async reconfigure(members: readonly Member[]): Promise<Configuration> {
    validateMembers(members);
    const entry = this.leaderRole().reconfigure(this.context.configurationCodec.encode(members));
    await this.applyLoop.waitFor(entry.index, entry.term);
    return this.context.committed;
  }

  async transferLeadership(target: string): Promise<void> {
    return this.leaderRole().transferLeadership(target);
  }

  onStateChange(listener: Listener<RoleName>): ListenerRegistration {
    return this.context.roleChanges.add(listener);
  }

  status(): NodeStatus {
    const c = this.context;
    return {
      address: c.address,
      state: c.roleName,
      term: c.term,
      leader: c.leader,
      commitIndex: c.commitIndex,
      lastApplied: this.applyLoop.lastApplied,
      lastIndex: c.log.lastIndex,
      members: c.configuration.members,
      counters: { ...c.counters, entriesApplied: this.applyLoop.lastApplied },
    };
  }

  close(): void {
    for (const s of this.subscriptions) s.close();
    this.currentLeaderSessions?.close();
    this.currentLeaderSessions = undefined;
    this.context.close();
    this.applyLoop.close();
  }
}
