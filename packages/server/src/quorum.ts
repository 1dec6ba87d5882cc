/**
 * Majority arithmetic, in one place. Raft needs a majority of the *voting* (active) members to
 * elect a leader (§5.2) and to commit an entry (§5.3).
 */

/** Votes needed out of `voters` for a majority. Zero voters need zero votes. */
export function majority(voters: number): number {
  return voters === 0 ? 0 : Math.floor(voters / 2) + 1;
}

/**
 * The highest index stored on a majority, given every voter's match index (the leader counts
 * its own last log index). Sorting descending, the majority-th value is on at least a majority.
 */
export function quorumIndex(matchIndexes: readonly number[]): number {
  if (matchIndexes.length === 0) return 0;
  const sorted = [...matchIndexes].sort((a, b) => b - a);
  return sorted[majority(sorted.length) - 1]!;
}

export type TallyResult = 'won' | 'lost' | 'pending';

/** Counts the answers of a vote or pre-vote among a fixed set of voters. */
export class VoteTally {
  private readonly granted = new Set<string>();
  private readonly rejected = new Set<string>();

  constructor(private readonly voters: ReadonlySet<string>) {}

  record(voter: string, granted: boolean): TallyResult {
    if (this.voters.has(voter) && !this.granted.has(voter) && !this.rejected.has(voter)) {
      (granted ? this.granted : this.rejected).add(voter);
    }
    return this.result();
  }

  result(): TallyResult {
    const needed = majority(this.voters.size);
    if (this.granted.size >= needed) return 'won';
    if (this.rejected.size > this.voters.size - needed) return 'lost';
    return 'pending';
  }
}
