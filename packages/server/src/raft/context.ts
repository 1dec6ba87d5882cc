import {
  IllegalMemberStateError,
  Listeners,
  randomInt,
  type Cancellable,
  type Logger,
  type Scheduler,
} from '@copycat/common';
import {
  EMPTY_CONFIGURATION,
  findMember,
  voters,
  type Configuration,
  type Member,
} from '../cluster/configuration.js';
import type { RaftTiming } from '../config.js';
import type { HardState, LogEntry, MetaPort, PeerPort, RaftLog } from './ports.js';
import type { AppendResponse, RaftRequest, RaftResponseFor } from './messages.js';
import type { Role, RoleName } from '../roles/role.js';

export interface ConfigurationCodec {
  encode(members: readonly Member[]): Uint8Array;
  decode(payload: Uint8Array): Member[];
}

export interface RaftCounters {
  electionsStarted: number;
  pollsStarted: number;
  termsAsLeader: number;
  appendsSent: number;
  appendsFailed: number;
  entriesAppended: number;
  entriesApplied: number;
}

/** Test-only switches that break a Raft rule on purpose, to prove the simulation catches it. */
export interface UnsafeRaftOptions {
  /** Commit an entry of a previous term by counting replicas (the figure 8 hazard, §5.4.2). */
  commitPreviousTermEntries?: boolean;
  /** Grant votes and pre-votes without the up-to-date log check (§5.4.1 election restriction). */
  grantVotesWithoutLogCheck?: boolean;
  /**
   * Grant votes right after start instead of waiting an election timeout (see hasLiveLeader).
   * Breaks lease reads across restarts; for scenario tests that script elections at once.
   */
  voteImmediatelyAfterStart?: boolean;
}

export interface RaftContextOptions {
  address: string;
  log: RaftLog;
  meta: MetaPort;
  peers: PeerPort;
  scheduler: Scheduler;
  timing: RaftTiming;
  logger: Logger;
  configurationCodec: ConfigurationCodec;
  createRole: (name: RoleName, context: RaftContext) => Role;
  unsafe?: UnsafeRaftOptions;
}

/**
 * The state every role works on: the persistent state (term, vote, log, configuration), the
 * volatile state (commit index, leader) and the ports. Roles are swapped by `transition`.
 *
 * Ordering rules (our version of etcd's Ready contract):
 * 1. State changes happen synchronously inside a request handler or timer callback.
 * 2. A response to a request is sent only after the term, vote and every log entry it speaks
 *    for are durable (`durable()`), and only if no truncation happened meanwhile.
 * 3. A candidate sends vote requests only after its new term and self-vote are durable.
 * 4. A leader sends appends before its own flush (§10.2.1); it counts itself in the commit
 *    quorum only up to its flushed index.
 * 5. Entries are applied in index order, only up to the commit index.
 */
export class RaftContext {
  readonly address: string;
  readonly log: RaftLog;
  readonly scheduler: Scheduler;
  readonly timing: RaftTiming;
  readonly logger: Logger;
  readonly peers: PeerPort;
  readonly unsafe: UnsafeRaftOptions;
  readonly configurationCodec: ConfigurationCodec;

  term = 0;
  votedFor: string | undefined;
  leader: string | undefined;
  commitIndex = 0;
  /** Scheduler time a leader was last heard from (leader stickiness, §4.2.3). */
  lastLeaderContact = Number.NEGATIVE_INFINITY;
  /** When this server started (see hasLiveLeader). */
  private startedAt = Number.NEGATIVE_INFINITY;
  /** Bumped when the log is truncated: acknowledgements computed before it are void. */
  truncations = 0;
  /** Highest index known durable in the local log. */
  flushedIndex = 0;
  /** Set by a timeout-now request: the next election is a leadership transfer. */
  transferElection = false;

  readonly counters: RaftCounters = {
    electionsStarted: 0,
    pollsStarted: 0,
    termsAsLeader: 0,
    appendsSent: 0,
    appendsFailed: 0,
    entriesAppended: 0,
    entriesApplied: 0,
  };

  readonly roleChanges = new Listeners<RoleName>();
  readonly commits = new Listeners<number>();
  readonly leaderChanges = new Listeners<string | undefined>();
  readonly configurationChanges = new Listeners<Configuration>();

  private readonly meta: MetaPort;
  private readonly createRole: (name: RoleName, context: RaftContext) => Role;
  private currentRole: Role | undefined;
  /** Configurations from the log newer than the committed one, oldest first. */
  private pendingConfigurations: Configuration[] = [];
  private committedConfiguration: Configuration = EMPTY_CONFIGURATION;
  private persisting: Promise<void> = Promise.resolve();
  private persistedVersion = 0;
  private stateVersion = 0;
  private flushing: Promise<void> | undefined;
  private flushAgain = false;
  private closed = false;

  constructor(options: RaftContextOptions) {
    this.address = options.address;
    this.log = options.log;
    this.meta = options.meta;
    this.peers = options.peers;
    this.scheduler = options.scheduler;
    this.timing = options.timing;
    this.logger = options.logger;
    this.configurationCodec = options.configurationCodec;
    this.createRole = options.createRole;
    this.unsafe = options.unsafe ?? {};
    const hard = this.meta.load();
    this.term = hard.term;
    this.votedFor = hard.votedFor;
    this.committedConfiguration = hard.configuration ?? EMPTY_CONFIGURATION;
    this.flushedIndex = this.log.lastIndex;
    this.recoverConfigurations();
  }

  // ---- roles ---------------------------------------------------------------------------------

  get role(): Role {
    if (this.currentRole === undefined) throw new IllegalMemberStateError('server not started');
    return this.currentRole;
  }

  get roleName(): RoleName {
    return this.currentRole?.name ?? 'inactive';
  }

  /** Swaps the role object; a no-op if already in that role unless `force`. */
  transition(name: RoleName, force = false): void {
    if (this.closed) return;
    const previous = this.currentRole;
    if (previous?.name === name && !force) return;
    previous?.close();
    const role = this.createRole(name, this);
    this.currentRole = role;
    this.logger.debug('role', { from: previous?.name ?? 'none', to: name, term: this.term });
    role.open();
    if (previous?.name !== name) this.roleChanges.emit(name);
  }

  /**
   * The role this member's configuration calls for when it is not leading or campaigning. A
   * voter whose removal or demotion is appended but not committed keeps taking part in
   * elections as a follower (dissertation §4.2.2): it may hold the only copy of the change, and
   * the rest of the old configuration may need its vote, or it may need to lead to commit it.
   */
  restingRole(): RoleName {
    const effective = findMember(this.configuration, this.address);
    const committed = findMember(this.committedConfiguration, this.address);
    if (effective?.type === 'active' || committed?.type === 'active') return 'follower';
    return effective?.type ?? 'inactive';
  }

  start(): void {
    this.startedAt = this.scheduler.now();
    this.transition(this.restingRole(), true);
  }

  close(): void {
    this.closed = true;
    this.currentRole?.close();
    this.currentRole = undefined;
  }

  get isClosed(): boolean {
    return this.closed;
  }

  // ---- term, vote, leader --------------------------------------------------------------------

  /** Moves to a newer term (§5.1): forget the vote and the leader. Returns true if it changed. */
  advanceTerm(term: number): boolean {
    if (term <= this.term) return false;
    this.term = term;
    this.votedFor = undefined;
    this.setLeader(undefined);
    this.stateChanged();
    return true;
  }

  vote(candidate: string | undefined): void {
    this.votedFor = candidate;
    this.stateChanged();
  }

  setLeader(leader: string | undefined): void {
    if (leader === this.leader) return;
    this.leader = leader;
    this.leaderChanges.emit(leader);
  }

  /** Heard from the current leader: it is alive (stickiness) and our election timer restarts. */
  heardFromLeader(leader: string): void {
    this.setLeader(leader);
    this.lastLeaderContact = this.scheduler.now();
  }

  /**
   * True while a leader we know of was heard from within the minimum election timeout, and
   * during the first election timeout after start: a restarted server has forgotten whom it
   * heard from, and granting a vote at once could elect a new leader while the old one still
   * serves lease reads (INTERNALS.md, Queries).
   */
  hasLiveLeader(): boolean {
    if (this.roleName === 'leader') return true;
    const now = this.scheduler.now();
    if (this.unsafe.voteImmediatelyAfterStart !== true && now - this.startedAt < this.timing.electionTimeout)
      return true;
    return this.leader !== undefined && now - this.lastLeaderContact < this.timing.electionTimeout;
  }

  randomElectionTimeout(): number {
    return randomInt(this.scheduler, this.timing.electionTimeout, 2 * this.timing.electionTimeout);
  }

  schedule(delay: number, task: () => void): Cancellable {
    return this.scheduler.schedule(delay, () => {
      if (!this.closed) task();
    });
  }

  // ---- durability ----------------------------------------------------------------------------

  private stateChanged(): void {
    this.stateVersion++;
    const version = this.stateVersion;
    const state: HardState = {
      term: this.term,
      votedFor: this.votedFor,
      configuration: this.committedConfiguration,
    };
    // Chained so that stores happen in order and a later state never lands before an earlier one.
    this.persisting = this.persisting.then(async () => {
      await this.meta.store(state);
      this.persistedVersion = Math.max(this.persistedVersion, version);
    });
    // Whoever waits on persisted() sees a failure; the chain itself must not be reported as an
    // unhandled rejection (after a crash the store is closed and nobody waits any more).
    this.persisting.catch((error: unknown) => this.logger.warn('could not persist term and vote', { error }));
  }

  /** Resolves once the term, vote and configuration as of now are durable. */
  persisted(): Promise<void> {
    return this.persisting;
  }

  /** Flushes the log (group commit) and records the flushed index. */
  flush(): Promise<void> {
    if (this.flushing !== undefined) {
      this.flushAgain = true;
      return this.flushing;
    }
    const upTo = this.log.lastIndex;
    const truncations = this.truncations;
    this.flushing = this.log.flush().then(
      () => {
        this.flushing = undefined;
        // A truncation during the flush may have removed what we meant to count.
        if (truncations === this.truncations) this.flushedIndex = Math.max(this.flushedIndex, upTo);
        else this.flushedIndex = Math.min(upTo, this.log.lastIndex);
        this.currentRole?.onFlushed(this.flushedIndex);
        if (this.flushAgain) {
          this.flushAgain = false;
          return this.flush();
        }
        return undefined;
      },
      (error: unknown) => {
        this.flushing = undefined;
        throw error;
      },
    );
    return this.flushing;
  }

  /** Resolves when everything this server has said so far is durable: hard state and log. */
  async durable(): Promise<void> {
    const target = this.log.lastIndex;
    await this.persisted();
    while (this.flushedIndex < Math.min(target, this.log.lastIndex)) await this.flush();
  }

  // ---- log -----------------------------------------------------------------------------------

  /** Appends entries, tracking configuration entries (effective on append, §4.1). */
  appendEntries(entries: readonly LogEntry[]): void {
    if (entries.length === 0) return;
    this.log.append(entries);
    this.counters.entriesAppended += entries.length;
    let changed = false;
    for (const entry of entries) {
      // A member that was handed a newer committed configuration (configure) ignores older ones.
      if (entry.type === 'configuration' && entry.index > this.committedConfiguration.index) {
        this.pendingConfigurations.push({
          index: entry.index,
          term: entry.term,
          time: entry.timestamp,
          members: this.configurationCodec.decode(entry.payload),
        });
        changed = true;
      }
    }
    if (changed) this.configurationChanged();
  }

  /** Tells listeners, then moves to the role the new configuration calls for. */
  private configurationChanged(): void {
    this.configurationChanges.emit(this.configuration);
    this.reconcileRole();
  }

  /**
   * Keeps the role in line with this member's type: a promoted passive member becomes a
   * follower, a demoted follower becomes passive, a removed one inactive. A leader removed from
   * the configuration leads until the change commits (§4.2.2), so it is left alone here.
   */
  private reconcileRole(): void {
    if (this.currentRole === undefined || this.closed) return;
    const current = this.currentRole.name;
    const resting = this.restingRole();
    if (current === 'leader') return;
    if (current === 'candidate' && resting === 'follower') return;
    if (current !== resting) this.transition(resting);
  }

  /** Removes every entry after `index` and any configuration they held. */
  truncateAfter(index: number): void {
    if (index >= this.log.lastIndex) return;
    if (index < this.commitIndex) {
      throw new IllegalMemberStateError(
        `refusing to truncate committed entries (${index} < commit ${this.commitIndex})`,
      );
    }
    this.log.truncate(index);
    this.truncations++;
    this.flushedIndex = Math.min(this.flushedIndex, index);
    const before = this.pendingConfigurations.length;
    this.pendingConfigurations = this.pendingConfigurations.filter((c) => c.index <= index);
    if (this.pendingConfigurations.length !== before) this.configurationChanged();
  }

  /** The effective configuration: the latest one in the log, committed or not. */
  get configuration(): Configuration {
    return this.pendingConfigurations.at(-1) ?? this.committedConfiguration;
  }

  get committed(): Configuration {
    return this.committedConfiguration;
  }

  /** True while a configuration change is appended but not yet committed (one at a time). */
  get configurationPending(): boolean {
    return this.pendingConfigurations.length > 0;
  }

  /** Installs a configuration given at bootstrap or by a leader to a reserve member. */
  setCommittedConfiguration(configuration: Configuration): void {
    if (configuration.index < this.committedConfiguration.index) return;
    this.committedConfiguration = configuration;
    this.pendingConfigurations = this.pendingConfigurations.filter((c) => c.index > configuration.index);
    this.stateChanged();
    this.configurationChanged();
  }

  voters(): string[] {
    return voters(this.configuration);
  }

  isVoter(address: string = this.address): boolean {
    return findMember(this.configuration, address)?.type === 'active';
  }

  /** Raises the commit index (never lowers it) and commits configurations up to it. */
  setCommitIndex(index: number): void {
    const bounded = Math.min(index, this.log.lastIndex);
    if (bounded <= this.commitIndex) return;
    this.commitIndex = bounded;
    let committed: Configuration | undefined;
    while (this.pendingConfigurations.length > 0 && this.pendingConfigurations[0]!.index <= bounded) {
      committed = this.pendingConfigurations.shift();
    }
    if (committed !== undefined) {
      this.committedConfiguration = committed;
      this.stateChanged();
      this.reconcileRole(); // e.g. a removed follower retires once its removal is committed
    }
    this.commits.emit(bounded);
  }

  /** §5.4.1: is a candidate's log at least as up-to-date as ours? */
  isUpToDate(lastLogIndex: number, lastLogTerm: number): boolean {
    if (this.unsafe.grantVotesWithoutLogCheck === true) return true;
    const ourTerm = this.log.lastTerm;
    return lastLogTerm > ourTerm || (lastLogTerm === ourTerm && lastLogIndex >= this.log.lastIndex);
  }

  /**
   * On restart the committed configuration comes from the meta store; configuration entries
   * after it are found by scanning the log tail (they are effective as soon as appended).
   */
  private recoverConfigurations(): void {
    const from = Math.max(this.committedConfiguration.index + 1, this.log.firstIndex);
    for (let index = from; index <= this.log.lastIndex; index++) {
      const entry = this.log.get(index);
      if (entry?.type === 'configuration') {
        this.pendingConfigurations.push({
          index: entry.index,
          term: entry.term,
          time: entry.timestamp,
          members: this.configurationCodec.decode(entry.payload),
        });
      }
    }
  }

  // ---- requests ------------------------------------------------------------------------------

  /**
   * Handles a request from a peer: the role computes the answer synchronously, then the answer
   * waits until what it asserts is durable (ordering rule 2).
   */
  async handle<R extends RaftRequest>(request: R): Promise<RaftResponseFor<R>> {
    const truncations = this.truncations;
    const response = this.dispatch(request);
    await this.durable();
    if (request.kind === 'append' && truncations !== this.truncations) {
      // A later request truncated entries this answer would acknowledge: withdraw it.
      const append = response as AppendResponse;
      if (append.succeeded) {
        return {
          term: this.term,
          succeeded: false,
          lastLogIndex: this.log.lastIndex,
          conflictIndex: this.log.lastIndex + 1,
        } as RaftResponseFor<R>;
      }
    }
    return response;
  }

  private dispatch<R extends RaftRequest>(request: R): RaftResponseFor<R> {
    const role = this.role;
    const r = request;
    switch (r.kind) {
      case 'append':
        return role.onAppend(r) as RaftResponseFor<R>;
      case 'poll':
        return role.onPoll(r) as RaftResponseFor<R>;
      case 'vote':
        return role.onVote(r) as RaftResponseFor<R>;
      case 'timeoutNow':
        return role.onTimeoutNow(r) as RaftResponseFor<R>;
      case 'configure':
        return role.onConfigure(r) as RaftResponseFor<R>;
      case 'join':
      case 'leave':
      case 'reconfigure':
        throw new IllegalMemberStateError(`${r.kind} requests are handled by the node, not the role`);
    }
  }
}
