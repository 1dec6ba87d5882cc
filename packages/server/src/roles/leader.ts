import {
  ConfigurationError,
  IllegalMemberStateError,
  Listeners,
  NoLeaderError,
  TimeoutError,
  type ListenerRegistration,
} from '@copycat/common';
import { majority, quorumIndex } from '../quorum.js';
import { Progress } from '../replication/progress.js';
import type { EntryType } from '@copycat/storage';
import { findMember, type MemberStatus } from '../cluster/configuration.js';
import type {
  AppendRequest,
  AppendResponse,
  ConfigureRequest,
  PollRequest,
  PollResponse,
  VoteRequest,
  VoteResponse,
} from '../raft/messages.js';
import type { LogEntry } from '../raft/ports.js';
import { handleVote } from './handlers.js';
import { Role } from './role.js';

/** Bytes an entry costs in a batch besides its payload (header fields, msgpack framing). */
const ENTRY_OVERHEAD = 32;

interface PendingRead {
  /** Leadership is confirmed by acknowledgements of requests with at least this send number. */
  since: number;
  resolve: () => void;
  reject: (error: Error) => void;
}

interface Transfer {
  target: string;
  resolve: () => void;
}

/**
 * The leader (§5.3): appends proposals to its log, replicates them through a bounded pipeline
 * per member, and commits entries of its own term once a majority of voters stores them
 * (§5.4.2). It steps down when it has not heard from a majority for an election timeout
 * (check quorum), or on seeing a newer term.
 */
export class LeaderRole extends Role {
  readonly name = 'leader';
  private readonly progress = new Map<string, Progress>();
  private transfer: Transfer | undefined;
  private lastTimestamp = 0;
  private membersListener: ListenerRegistration | undefined;
  private commitListener: ListenerRegistration | undefined;
  private pushedConfiguration = -1;
  /** Reads waiting for confirmation, in increasing `since` order. */
  private reads: PendingRead[] = [];
  /** Every append request of this term gets the next number. */
  private sendNumber = 0;
  /**
   * Set once a transfer starts: its votes skip stickiness, and a late `timeoutNow` can still
   * elect the target after the transfer timed out here, so no lease holds for the rest of the term.
   */
  private leaseRevoked = false;
  /** A member's reachability changed: the node turns this into a configuration change. */
  readonly availabilityChanges = new Listeners<{ address: string; status: MemberStatus }>();

  override open(): void {
    const raft = this.raft;
    raft.setLeader(raft.address);
    raft.counters.termsAsLeader++;
    this.syncMembers();
    this.membersListener = raft.configurationChanges.add(() => {
      if (!this.closed) this.syncMembers();
    });
    this.lastTimestamp = raft.log.lastIndex > 0 ? (raft.log.get(raft.log.lastIndex)?.timestamp ?? 0) : 0;
    // The first entry of a term (§8, dissertation §6.4): committing it commits everything before.
    this.append('initialize', new Uint8Array(0));
    this.every(raft.timing.heartbeatInterval, () => this.heartbeat());
    this.every(raft.timing.electionTimeout, () => {
      this.checkQuorum();
      this.pushConfiguration();
    });
    this.commitListener = raft.commits.add(() => {
      if (this.closed) return;
      // Passive members are sent committed entries only: a commit is news for them.
      for (const progress of this.progress.values()) {
        if (this.isPassive(progress.address)) this.replicate(progress, false);
      }
      if (raft.committed.index !== this.pushedConfiguration) this.pushConfiguration();
    });
  }

  private isPassive(address: string): boolean {
    return findMember(this.raft.configuration, address)?.type === 'passive';
  }

  /**
   * Sends the committed configuration to members without a vote. Passive members also learn it
   * from the log, but a server that just joined (still inactive) and reserve members (no log)
   * learn it only this way.
   */
  private pushConfiguration(): void {
    const raft = this.raft;
    const configuration = raft.committed;
    this.pushedConfiguration = configuration.index;
    const request: ConfigureRequest = {
      kind: 'configure',
      term: raft.term,
      leader: raft.address,
      index: configuration.index,
      time: configuration.time,
      members: configuration.members,
    };
    for (const member of configuration.members) {
      if (member.type === 'active' || member.address === raft.address) continue;
      raft.peers.send(member.address, request).then(
        (response) => {
          if (!this.closed && response.term > raft.term) this.observeTerm(response.term);
        },
        () => {},
      );
    }
  }

  /** The highest index known replicated on `address` (0 if unknown). */
  matchIndexOf(address: string): number {
    return address === this.raft.address
      ? this.raft.flushedIndex
      : (this.progress.get(address)?.matchIndex ?? 0);
  }

  override close(): void {
    this.membersListener?.close();
    this.commitListener?.close();
    const transfer = this.transfer;
    this.transfer = undefined;
    // Stepping down is what a transfer asks for; the target's election decides who leads next.
    transfer?.resolve();
    const reads = this.reads;
    this.reads = [];
    for (const read of reads) read.reject(new NoLeaderError('lost leadership before the read was confirmed'));
    super.close();
  }

  /** Keeps one Progress per member that the leader replicates to (active members, for now). */
  private syncMembers(): void {
    const raft = this.raft;
    const wanted = new Set(
      raft.configuration.members
        .filter((m) => m.address !== raft.address && m.type !== 'reserve')
        .map((m) => m.address),
    );
    for (const address of this.progress.keys()) if (!wanted.has(address)) this.progress.delete(address);
    for (const address of wanted) {
      if (!this.progress.has(address)) {
        this.progress.set(
          address,
          new Progress(
            address,
            raft.log.lastIndex,
            raft.timing.maxInflightBatches,
            raft.timing.maxInflightBytes,
          ),
        );
      }
    }
  }

  /** Appends a new entry of this term and starts replicating it. */
  append(type: EntryType, payload: Uint8Array): LogEntry {
    if (this.closed) throw new NoLeaderError('no longer the leader');
    if (this.transfer !== undefined && type !== 'initialize') {
      throw new NoLeaderError(`leadership is being transferred to ${this.transfer.target}`);
    }
    const raft = this.raft;
    // Entry time never goes backwards, even if the wall clock does (INTERNALS.md, Entry time).
    this.lastTimestamp = Math.max(this.lastTimestamp, raft.scheduler.now());
    const entry: LogEntry = {
      index: raft.log.lastIndex + 1,
      term: raft.term,
      type,
      timestamp: this.lastTimestamp,
      payload,
    };
    raft.appendEntries([entry]);
    raft.flush().catch((error: unknown) => raft.logger.error('log flush failed', { error }));
    for (const progress of this.progress.values()) this.replicate(progress, false);
    this.advanceCommit();
    return entry;
  }

  /** Appends a configuration entry: at most one uncommitted change at a time (§4.1). */
  reconfigure(payload: Uint8Array): LogEntry {
    if (this.raft.configurationPending) {
      throw new ConfigurationError('a configuration change is already in progress');
    }
    return this.append('configuration', payload);
  }

  override onFlushed(): void {
    this.advanceCommit();
  }

  private heartbeat(): void {
    const now = this.raft.scheduler.now();
    for (const progress of this.progress.values()) {
      if (progress.inflights.count > 0) continue;
      // Unreachable members are retried with exponential backoff, not every heartbeat.
      const excess = progress.consecutiveFailures - this.raft.timing.unavailableAfterFailures;
      if (
        excess >= 0 &&
        now - progress.lastSent < this.raft.timing.heartbeatInterval * 2 ** Math.min(excess + 1, 5)
      )
        continue;
      this.replicate(progress, true);
    }
  }

  /**
   * Availability (INTERNALS.md, Membership): after a few consecutive failures a member is
   * reported unavailable, and available again on its first success. The node commits the
   * change as a configuration entry.
   */
  private updateAvailability(progress: Progress): void {
    const member = findMember(this.raft.configuration, progress.address);
    if (member === undefined) return;
    const failing = progress.consecutiveFailures >= this.raft.timing.unavailableAfterFailures;
    const status = failing ? 'unavailable' : 'available';
    if (member.status !== status) this.availabilityChanges.emit({ address: progress.address, status });
  }

  /**
   * Sends what the member lacks, as long as its pipeline has room. In probe state one batch at
   * a time; in replicate state optimistically several. An empty append is a heartbeat.
   */
  private replicate(progress: Progress, heartbeat: boolean): void {
    const raft = this.raft;
    const log = raft.log;
    while (!this.closed && progress.canSend) {
      const prevLogIndex = progress.nextIndex - 1;
      const prevLogTerm = prevLogIndex === 0 ? 0 : log.termAt(prevLogIndex);
      if (prevLogTerm === undefined) {
        raft.logger.warn('entry needed for replication is not in the log', {
          member: progress.address,
          index: prevLogIndex,
        });
        return;
      }
      const entries: LogEntry[] = [];
      let bytes = 0;
      const limit = this.isPassive(progress.address) ? raft.commitIndex : log.lastIndex;
      for (let index = progress.nextIndex; index <= limit; index++) {
        const entry = log.get(index);
        if (entry === undefined) break;
        const size = entry.payload.length + ENTRY_OVERHEAD;
        if (entries.length > 0 && bytes + size > raft.timing.maxBatchBytes) break;
        entries.push(entry);
        bytes += size;
      }
      if (entries.length === 0 && !heartbeat) return;
      const request: AppendRequest = {
        kind: 'append',
        term: raft.term,
        leader: raft.address,
        prevLogIndex,
        prevLogTerm,
        entries,
        commitIndex: raft.commitIndex,
      };
      if (entries.length > 0) {
        const last = prevLogIndex + entries.length;
        progress.inflights.add(last, bytes);
        if (progress.state === 'replicate') progress.nextIndex = last + 1;
      }
      this.send(progress, request);
      if (entries.length === 0 || progress.state === 'probe') return;
      heartbeat = false;
    }
  }

  private send(progress: Progress, request: AppendRequest): void {
    const raft = this.raft;
    raft.counters.appendsSent++;
    const sentAt = raft.scheduler.now();
    const number = ++this.sendNumber;
    progress.lastSent = sentAt;
    raft.peers.send(progress.address, request).then(
      (response) => {
        if (!this.closed && response.term === raft.term && this.progress.get(progress.address) === progress) {
          progress.lastAckedSend = Math.max(progress.lastAckedSend, sentAt);
          progress.lastAckedSendNumber = Math.max(progress.lastAckedSendNumber, number);
        }
        this.onAppendResponse(progress, request, response);
        if (this.reads.length > 0) this.settleReads(progress);
      },
      () => {
        if (progress.readProbe === number) progress.readProbe = 0;
        if (this.closed) return;
        raft.counters.appendsFailed++;
        progress.fail();
        this.updateAvailability(progress);
      },
    );
  }

  private onAppendResponse(progress: Progress, request: AppendRequest, response: AppendResponse): void {
    const raft = this.raft;
    if (response.term > raft.term) {
      this.observeTerm(response.term);
      return;
    }
    if (this.closed || response.term < raft.term || this.progress.get(progress.address) !== progress) return;
    progress.lastContact = raft.scheduler.now();
    if (progress.consecutiveFailures > 0) {
      progress.consecutiveFailures = 0;
      this.updateAvailability(progress);
    }
    if (response.succeeded) {
      if (progress.acknowledge(response.lastLogIndex)) this.advanceCommit();
      this.replicate(progress, false);
      this.maybeSendTimeoutNow();
      return;
    }
    // Stale rejections (for a probe point we have already moved past) carry no news.
    if (progress.state === 'probe' && request.prevLogIndex !== progress.nextIndex - 1) return;
    progress.backtrack(this.nextIndexFromHint(request, response));
    // Retry at once only if the hint moved us back; a refusal without progress (a member that
    // takes no appends yet, e.g. one still joining) waits for the next heartbeat, or the two
    // would ping-pong as fast as the network allows.
    if (progress.nextIndex <= request.prevLogIndex) this.replicate(progress, false);
  }

  /** Where to retry after a rejection, using the follower's conflict hint. */
  private nextIndexFromHint(request: AppendRequest, response: AppendResponse): number {
    const log = this.raft.log;
    if (response.conflictTerm !== undefined) {
      // If we have entries of the conflicting term, resume after our last one of that term.
      for (let index = Math.min(request.prevLogIndex, log.lastIndex); index > 0; index--) {
        const term = log.termAt(index);
        if (term === undefined || term < response.conflictTerm) break;
        if (term === response.conflictTerm) return index + 1;
      }
    }
    return response.conflictIndex ?? Math.min(request.prevLogIndex, response.lastLogIndex + 1);
  }

  /** §5.3/§5.4.2: commit the highest index stored on a majority, if it is of our term. */
  private advanceCommit(): void {
    const raft = this.raft;
    const voters = raft.voters();
    if (voters.length === 0) return;
    const matches = voters.map((address) =>
      address === raft.address ? raft.flushedIndex : (this.progress.get(address)?.matchIndex ?? 0),
    );
    const index = quorumIndex(matches);
    if (index <= raft.commitIndex) return;
    if (raft.log.termAt(index) === raft.term || raft.unsafe.commitPreviousTermEntries === true) {
      raft.setCommitIndex(index);
      this.stepDownIfRemoved();
    }
  }

  /** A leader that committed a configuration without itself steps down (§4.2.2). */
  private stepDownIfRemoved(): void {
    const raft = this.raft;
    if (!raft.configurationPending && !raft.isVoter()) {
      raft.setLeader(undefined);
      raft.transition(raft.restingRole());
    }
  }

  /** Check quorum: without contact with a majority for an election timeout, step down. */
  private checkQuorum(): void {
    const raft = this.raft;
    const voters = raft.voters();
    const now = raft.scheduler.now();
    let live = 0;
    for (const voter of voters) {
      if (voter === raft.address) live++;
      else if (
        now - (this.progress.get(voter)?.lastContact ?? Number.NEGATIVE_INFINITY) <
        raft.timing.electionTimeout
      )
        live++;
    }
    if (live < majority(voters.length)) {
      raft.logger.info('stepping down: no contact with a majority', {
        term: raft.term,
        live,
        voters: voters.length,
      });
      raft.setLeader(undefined);
      raft.transition(raft.restingRole());
    }
  }

  /**
   * Read index (dissertation §6.4): resolves once a majority of voters acknowledged an append
   * request sent after this call (by send number, not time), which proves no other leader was
   * elected before the call. Queries
   * then read at the commit index as of the call. Rejects with NO_LEADER if we step down first.
   */
  confirmLeadership(): Promise<void> {
    if (this.closed) return Promise.reject(new NoLeaderError('no longer the leader'));
    const since = this.sendNumber + 1;
    if (this.raft.voters().length <= 1 && this.raft.isVoter()) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      this.reads.push({ since, resolve, reject });
      // One heartbeat per member serves every read that arrived before it was sent; a member
      // with a probe or appends in flight is asked again by settleReads when they are answered.
      for (const progress of this.progress.values()) this.probeForReads(progress);
    });
  }

  /** Sends `progress` a heartbeat for the oldest waiting read, unless one is already on its way. */
  private probeForReads(progress: Progress): void {
    const oldest = this.reads[0];
    if (oldest === undefined || progress.lastAckedSendNumber >= oldest.since) return;
    if (progress.readProbe > progress.lastAckedSendNumber || progress.inflights.count > 0) return;
    if (this.isPassive(progress.address)) return;
    const before = this.sendNumber;
    this.replicate(progress, true);
    if (this.sendNumber > before) progress.readProbe = this.sendNumber;
  }

  /** After an acknowledgement: complete the reads it confirmed; ask this member again if needed. */
  private settleReads(progress: Progress): void {
    if (this.closed) return;
    const confirmed = this.ackedQuorum((p) => p.lastAckedSendNumber, 0);
    let done = 0;
    while (done < this.reads.length && this.reads[done]!.since <= confirmed) this.reads[done++]!.resolve();
    if (done > 0) this.reads.splice(0, done);
    const oldest = this.reads[0];
    if (
      oldest !== undefined &&
      progress.lastAckedSendNumber < oldest.since &&
      progress.inflights.count === 0
    ) {
      this.replicate(progress, true);
    }
  }

  /**
   * The highest value V such that a majority of voters acknowledged with `value(progress) >= V`
   * (this server counts as acknowledging everything).
   */
  private ackedQuorum(value: (progress: Progress) => number, none: number): number {
    const raft = this.raft;
    const voters = raft.voters();
    if (voters.length === 0) return none;
    const values = voters.map((v) => {
      if (v === raft.address) return Number.POSITIVE_INFINITY;
      const progress = this.progress.get(v);
      return progress === undefined ? none : value(progress);
    });
    values.sort((a, b) => b - a);
    return values[majority(voters.length) - 1] ?? none;
  }

  /**
   * Whether the leader lease holds (INTERNALS.md, Queries): a majority acknowledged a request
   * sent less than an election timeout ago, shortened by the clock-drift bound. Followers ignore
   * other candidates for an election timeout after hearing from us (stickiness), so no other
   * leader can exist yet. Never during a leadership transfer, whose votes skip stickiness.
   */
  hasLease(): boolean {
    if (this.closed || this.transfer !== undefined || this.leaseRevoked) return false;
    const raft = this.raft;
    const lease = raft.timing.electionTimeout * (1 - raft.timing.clockDriftBound);
    const since = this.ackedQuorum((p) => p.lastAckedSend, Number.NEGATIVE_INFINITY);
    return raft.scheduler.now() - since < lease;
  }

  /** Hands leadership to `target` (dissertation §3.10). Resolves when we have stepped down. */
  transferLeadership(target: string): Promise<void> {
    const raft = this.raft;
    if (target === raft.address) return Promise.resolve();
    if (!raft.isVoter(target)) {
      return Promise.reject(new IllegalMemberStateError(`${target} is not an active member`));
    }
    if (this.transfer !== undefined) {
      return Promise.reject(
        new IllegalMemberStateError(`already transferring leadership to ${this.transfer.target}`),
      );
    }
    this.leaseRevoked = true;
    return new Promise<void>((resolve, reject) => {
      this.after(raft.timing.electionTimeout, () => {
        if (this.transfer?.target !== target) return;
        this.transfer = undefined;
        reject(
          new TimeoutError(`leadership transfer to ${target} did not complete within the election timeout`),
        );
      });
      this.transfer = { target, resolve };
      const progress = this.progress.get(target);
      if (progress !== undefined) this.replicate(progress, true);
      this.maybeSendTimeoutNow();
    });
  }

  private maybeSendTimeoutNow(): void {
    const transfer = this.transfer;
    if (transfer === undefined) return;
    const progress = this.progress.get(transfer.target);
    if (progress === undefined || progress.matchIndex < this.raft.log.lastIndex) return;
    const raft = this.raft;
    raft.peers.send(transfer.target, { kind: 'timeoutNow', term: raft.term, leader: raft.address }).then(
      (response) => {
        if (response.term > raft.term) this.observeTerm(response.term);
      },
      () => {},
    );
  }

  override onAppend(request: AppendRequest): AppendResponse {
    if (request.term > this.raft.term) {
      this.observeTerm(request.term);
      return this.raft.role.onAppend(request);
    }
    // Two leaders in one term cannot happen (Election Safety); refuse rather than corrupt.
    return { term: this.raft.term, succeeded: false, lastLogIndex: this.raft.log.lastIndex };
  }

  override onVote(request: VoteRequest): VoteResponse {
    return handleVote(this.raft, request, () => this.raft.transition(this.raft.restingRole()));
  }

  override onPoll(_request: PollRequest): PollResponse {
    return { term: this.raft.term, accepted: false };
  }
}
