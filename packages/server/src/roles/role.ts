import type { Cancellable } from '@copycat/common';
import type { RaftContext } from '../raft/context.js';
import { handlePoll, handleVote } from './handlers.js';
import type {
  AppendRequest,
  AppendResponse,
  ConfigureRequest,
  ConfigureResponse,
  PollRequest,
  PollResponse,
  TimeoutNowRequest,
  TimeoutNowResponse,
  VoteRequest,
  VoteResponse,
} from '../raft/messages.js';

export type RoleName = 'inactive' | 'reserve' | 'passive' | 'follower' | 'candidate' | 'leader';

/**
 * A server role. The context swaps role objects on transitions; a closed role ignores late
 * callbacks (responses and timers it started), so each role's code can assume it is current.
 * The defaults here are those of a member that takes no part: it refuses everything but
 * still learns newer terms.
 */
export abstract class Role {
  abstract readonly name: RoleName;
  private readonly timers = new Set<Cancellable>();
  protected closed = false;

  constructor(protected readonly raft: RaftContext) {}

  open(): void {}

  close(): void {
    this.closed = true;
    for (const timer of this.timers) timer.cancel();
    this.timers.clear();
  }

  /** Schedules a task that runs only while this role is current. */
  protected after(delay: number, task: () => void): Cancellable {
    const timer = this.raft.schedule(delay, () => {
      this.timers.delete(timer);
      if (!this.closed) task();
    });
    this.timers.add(timer);
    return {
      cancel: () => {
        timer.cancel();
        this.timers.delete(timer);
      },
    };
  }

  protected every(period: number, task: () => void): Cancellable {
    const timer = this.raft.scheduler.scheduleAtFixedRate(period, period, () => {
      if (!this.closed && !this.raft.isClosed) task();
    });
    this.timers.add(timer);
    return timer;
  }

  /** Called when the local log has been flushed up to `index`. */
  onFlushed(_index: number): void {}

  /** Learns a newer term from any message (§5.1); leaders and candidates step down. */
  protected observeTerm(term: number): void {
    if (this.raft.advanceTerm(term) && (this.name === 'leader' || this.name === 'candidate')) {
      this.raft.transition(this.raft.restingRole());
    }
  }

  onAppend(request: AppendRequest): AppendResponse {
    this.observeTerm(request.term);
    return { term: this.raft.term, succeeded: false, lastLogIndex: this.raft.log.lastIndex };
  }

  /** Any member answers polls and votes: whether they count is the candidate's configuration's call. */
  onPoll(request: PollRequest): PollResponse {
    return handlePoll(this.raft, request);
  }

  onVote(request: VoteRequest): VoteResponse {
    return handleVote(this.raft, request, () => {});
  }

  onTimeoutNow(_request: TimeoutNowRequest): TimeoutNowResponse {
    return { term: this.raft.term, accepted: false };
  }

  onConfigure(request: ConfigureRequest): ConfigureResponse {
    this.observeTerm(request.term);
    return { term: this.raft.term };
  }

  /**
   * For members without a vote (inactive, reserve, passive): adopt a newer committed
   * configuration pushed by the leader. This is how a joining server learns it is now passive,
   * and how a reserve member learns it was promoted.
   */
  protected adoptConfiguration(request: ConfigureRequest): ConfigureResponse {
    const raft = this.raft;
    if (request.term < raft.term) return { term: raft.term };
    raft.advanceTerm(request.term);
    raft.heardFromLeader(request.leader);
    if (request.index > raft.committed.index) {
      raft.setCommittedConfiguration({
        index: request.index,
        term: request.term,
        time: request.time,
        members: request.members,
      });
    }
    return { term: raft.term };
  }
}
