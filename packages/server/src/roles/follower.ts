import type { Cancellable } from '@copycat/common';
import { VoteTally } from '../quorum.js';
import type {
  AppendRequest,
  AppendResponse,
  PollRequest,
  PollResponse,
  TimeoutNowRequest,
  TimeoutNowResponse,
  VoteRequest,
  VoteResponse,
} from '../raft/messages.js';
import { handleAppend, handlePoll, handleVote } from './handlers.js';
import { Role } from './role.js';

/**
 * An active member that is not leading. It replicates the leader's log and, when it has not
 * heard from a leader for an election timeout, polls the voters (pre-vote) and becomes a
 * candidate only if a majority would vote for it.
 */
export class FollowerRole extends Role {
  readonly name = 'follower';
  private electionTimer: Cancellable | undefined;
  private pollRound = 0;

  override open(): void {
    this.resetElectionTimer();
  }

  private resetElectionTimer(): void {
    this.electionTimer?.cancel();
    this.electionTimer = this.after(this.raft.randomElectionTimeout(), () => this.poll());
  }

  override onAppend(request: AppendRequest): AppendResponse {
    const response = handleAppend(this.raft, request);
    if (request.term >= this.raft.term) this.resetElectionTimer();
    return response;
  }

  override onVote(request: VoteRequest): VoteResponse {
    const response = handleVote(this.raft, request, () => {});
    if (response.voted) this.resetElectionTimer();
    return response;
  }

  override onPoll(request: PollRequest): PollResponse {
    return handlePoll(this.raft, request);
  }

  /** Leadership transfer: the leader asks us to start an election at once. */
  override onTimeoutNow(request: TimeoutNowRequest): TimeoutNowResponse {
    if (request.term < this.raft.term || !this.raft.isVoter())
      return { term: this.raft.term, accepted: false };
    this.observeTerm(request.term);
    this.raft.transferElection = true;
    this.raft.schedule(0, () => {
      if (!this.closed) this.raft.transition('candidate');
    });
    return { term: this.raft.term, accepted: true };
  }

  /** Pre-vote round: ask every voter whether it would vote for us in the next term. */
  private poll(): void {
    this.resetElectionTimer();
    const voters = this.raft.voters();
    const tally = new VoteTally(new Set(voters));
    if (tally.record(this.raft.address, true) === 'won') {
      this.raft.transition('candidate');
      return;
    }
    this.raft.counters.pollsStarted++;
    this.raft.setLeader(undefined);
    const round = ++this.pollRound;
    const term = this.raft.term;
    const request: PollRequest = {
      kind: 'poll',
      term: term + 1,
      candidate: this.raft.address,
      lastLogIndex: this.raft.log.lastIndex,
      lastLogTerm: this.raft.log.lastTerm,
    };
    for (const voter of voters) {
      if (voter === this.raft.address) continue;
      this.raft.peers.send(voter, request).then(
        (response) => {
          if (this.closed || round !== this.pollRound || this.raft.term !== term) return;
          if (response.term > this.raft.term) {
            this.observeTerm(response.term);
            return;
          }
          if (tally.record(voter, response.accepted) === 'won') {
            this.pollRound++;
            this.raft.transition('candidate');
          }
        },
        () => tally.record(voter, false),
      );
    }
  }
}
