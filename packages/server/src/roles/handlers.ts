/**
 * Request handling shared by several roles, written as close to the Raft paper as we can.
 */
import { ProtocolError } from '@copycat/common';
import type { RaftContext } from '../raft/context.js';
import type {
  AppendRequest,
  AppendResponse,
  PollRequest,
  PollResponse,
  VoteRequest,
  VoteResponse,
} from '../raft/messages.js';

/**
 * AppendEntries receiver (§5.3, Figure 2). Entries at or below our commit index are committed
 * and so, by Log Matching, equal to the leader's: they are skipped without comparing terms.
 */
export function handleAppend(raft: RaftContext, request: AppendRequest): AppendResponse {
  const log = raft.log;
  if (request.term < raft.term) return { term: raft.term, succeeded: false, lastLogIndex: log.lastIndex };
  raft.advanceTerm(request.term);
  raft.heardFromLeader(request.leader);

  const prev = request.prevLogIndex;
  request.entries.forEach((entry, i) => {
    if (entry.index !== prev + 1 + i)
      throw new ProtocolError(`append entries must follow prevLogIndex ${prev} without gaps`);
  });

  // 2. Reply false if the log does not contain an entry at prevLogIndex whose term matches.
  if (prev > log.lastIndex) {
    return {
      term: raft.term,
      succeeded: false,
      lastLogIndex: log.lastIndex,
      conflictIndex: log.lastIndex + 1,
    };
  }
  if (prev > raft.commitIndex) {
    const term = log.termAt(prev);
    if (term !== request.prevLogTerm) {
      // Fast backtracking hint: the first index of the conflicting term, so the leader skips
      // the whole term in one round trip instead of one entry at a time.
      let conflictIndex = prev;
      if (term !== undefined) {
        while (conflictIndex - 1 > raft.commitIndex && log.termAt(conflictIndex - 1) === term)
          conflictIndex--;
      }
      return {
        term: raft.term,
        succeeded: false,
        lastLogIndex: log.lastIndex,
        conflictIndex,
        ...(term === undefined ? {} : { conflictTerm: term }),
      };
    }
  }

  // 3. If an existing entry conflicts with a new one (same index, different term), delete it
  //    and all that follow. 4. Append any new entries not already in the log.
  let first = 0;
  for (; first < request.entries.length; first++) {
    const entry = request.entries[first]!;
    if (entry.index <= raft.commitIndex) continue;
    if (entry.index > log.lastIndex) break;
    if (log.termAt(entry.index) !== entry.term) {
      raft.truncateAfter(entry.index - 1);
      break;
    }
  }
  raft.appendEntries(request.entries.slice(first));

  // 5. commitIndex = min(leaderCommit, index of last new entry).
  const lastNew = prev + request.entries.length;
  raft.setCommitIndex(Math.min(request.commitIndex, lastNew));
  return { term: raft.term, succeeded: true, lastLogIndex: lastNew };
}

/**
 * RequestVote receiver (§5.2, §5.4.1), with leader stickiness (§4.2.3 of the dissertation): a
 * server that has heard from a live leader ignores vote requests, without even adopting their
 * term, unless the request comes from a leadership transfer.
 */
export function handleVote(raft: RaftContext, request: VoteRequest, stepDown: () => void): VoteResponse {
  if (request.term < raft.term) return { term: raft.term, voted: false };
  if (!request.transfer && raft.hasLiveLeader() && raft.leader !== request.candidate) {
    return { term: raft.term, voted: false };
  }
  // Votes do not consult the configuration (dissertation §4.1): the candidate's configuration
  // decides whose votes count, and pre-vote plus stickiness keep removed servers from disrupting.
  if (raft.advanceTerm(request.term)) stepDown();
  const free = raft.votedFor === undefined || raft.votedFor === request.candidate;
  if (free && raft.isUpToDate(request.lastLogIndex, request.lastLogTerm)) {
    raft.vote(request.candidate);
    return { term: raft.term, voted: true };
  }
  return { term: raft.term, voted: false };
}

/**
 * Pre-vote receiver (§9.6): answers whether we would vote for the candidate at `term`, without
 * changing any state. A node rejoining from a partition with a stale log or while the cluster has
 * a live leader gathers no majority, so it never bumps everyone's term.
 */
export function handlePoll(raft: RaftContext, request: PollRequest): PollResponse {
  if (request.term < raft.term || raft.hasLiveLeader()) {
    return { term: raft.term, accepted: false };
  }
  const couldVote =
    request.term > raft.term || raft.votedFor === undefined || raft.votedFor === request.candidate;
  return {
    term: raft.term,
    accepted: couldVote && raft.isUpToDate(request.lastLogIndex, request.lastLogTerm),
  };
}
