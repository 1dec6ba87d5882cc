import type { Cancellable } from '@copycat/common';
import { VoteTally } from '../quorum.js';
import type {
  AppendRequest,
  AppendResponse,
  PollRequest,
  PollResponse,
  VoteRequest,
  VoteResponse,
} from '../raft/messages.js';
import { handlePoll, handleVote } from './handlers.js';
import { Role } from './role.js';

/**
 * Campaigning for leadership (§5.2): a new term, a vote for ourselves, made durable before any
 * vote request leaves, then a majority of votes makes us leader. Losing, or timing out, sends us
 * back to follower, which polls again before the next real election.
 */
export class CandidateRole extends Role {
  readonly name = 'candidate';
  private electionTimer: Cancellable | undefined;

  override open(): void {
    const raft = this.raft;
    const transfer = raft.transferElection;
    raft.transferElection = false;
    raft.advanceTerm(raft.term + 1);
    raft.vote(raft.address);
    raft.setLeader(undefined);
    raft.counters.electionsStarted++;
    const term = raft.term;
    this.electionTimer = this.after(raft.randomElectionTimeout(), () => raft.transition(raft.restingRole()));

    const voters = raft.voters();
    const tally = new VoteTally(new Set(voters));
    const won = tally.record(raft.address, true) === 'won';
    const request: VoteRequest = {
      kind: 'vote',
      term,
      candidate: raft.address,
      lastLogIndex: raft.log.lastIndex,
      lastLogTerm: raft.log.lastTerm,
      ...(transfer ? { transfer: true } : {}),
    };
    // Ordering rule 3: the new term and our own vote are durable before anyone hears of them.
    raft.persisted().then(
      () => {
        if (this.closed || raft.term !== term) return;
        if (won) {
          raft.transition('leader');
          return;
        }
        for (const voter of voters) {
          if (voter === raft.address) continue;
          raft.peers.send(voter, request).then(
            (response) => {
              if (this.closed || raft.term !== term) return;
              if (response.term > raft.term) {
                this.observeTerm(response.term);
                return;
              }
              if (tally.record(voter, response.voted) === 'won') raft.transition('leader');
            },
            () => tally.record(voter, false),
          );
        }
      },
      (error: unknown) => {
        raft.logger.error('could not persist the election term', { error });
        if (!this.closed) raft.transition(raft.restingRole());
      },
    );
  }

  override close(): void {
    this.electionTimer?.cancel();
    super.close();
  }

  override onAppend(request: AppendRequest): AppendResponse {
    // A leader of our term or later exists (§5.2): step down and let the follower handle it.
    if (request.term >= this.raft.term) {
      this.raft.advanceTerm(request.term);
      this.raft.transition(this.raft.restingRole());
      return this.raft.role.onAppend(request);
    }
    return { term: this.raft.term, succeeded: false, lastLogIndex: this.raft.log.lastIndex };
  }

  override onVote(request: VoteRequest): VoteResponse {
    return handleVote(this.raft, request, () => this.raft.transition(this.raft.restingRole()));
  }

  override onPoll(request: PollRequest): PollResponse {
    return handlePoll(this.raft, request);
  }
}
