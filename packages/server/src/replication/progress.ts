import { Inflights } from './inflights.js';

/**
 * The leader's view of one member's log (etcd's tracker.Progress, Raft paper's nextIndex and
 * matchIndex). In `probe` state the leader sends one batch at a time until it finds where the
 * logs match; in `replicate` state it pipelines batches optimistically.
 */
export type ProgressState = 'probe' | 'replicate';

export class Progress {
  /** Highest index known to be replicated on the member (§5.3). */
  matchIndex = 0;
  /** Next index to send. */
  nextIndex: number;
  state: ProgressState = 'probe';
  readonly inflights: Inflights;
  /** Scheduler time of the last response of any kind (for check quorum and leases). */
  lastContact = Number.NEGATIVE_INFINITY;
  /**
   * Send time of the latest request the member acknowledged in this term: the member heard from
   * us at or after this instant (leases count these, not response times).
   */
  lastAckedSend = Number.NEGATIVE_INFINITY;
  /**
   * Leader-wide send number of the latest request the member acknowledged (read index counts
   * these: a clock of millisecond resolution cannot order a send and a read in the same tick).
   */
  lastAckedSendNumber = 0;
  /** Send number of the heartbeat sent to confirm reads that is still unanswered (0: none). */
  readProbe = 0;
  /** Scheduler time the last request was sent (heartbeats go out only when idle). */
  lastSent = Number.NEGATIVE_INFINITY;
  consecutiveFailures = 0;

  constructor(
    readonly address: string,
    lastLogIndex: number,
    maxInflightBatches: number,
    maxInflightBytes: number,
  ) {
    this.nextIndex = lastLogIndex + 1;
    this.inflights = new Inflights(maxInflightBatches, maxInflightBytes);
  }

  /** A success up to `index`: advance, and switch to pipelining. Returns true if match moved. */
  acknowledge(index: number): boolean {
    const advanced = index > this.matchIndex;
    if (advanced) this.matchIndex = index;
    if (this.state === 'probe') {
      // Found where the logs match: start pipelining from there, forgetting the probe in flight
      // (like etcd's BecomeReplicate). Resending a little is harmless; appends are idempotent.
      this.state = 'replicate';
      this.inflights.reset();
      this.nextIndex = this.matchIndex + 1;
    } else {
      this.inflights.freeTo(index);
      if (this.nextIndex <= index) this.nextIndex = index + 1;
    }
    return advanced;
  }

  /** The logs did not match: restart from `nextIndex`, one batch at a time. */
  backtrack(nextIndex: number): void {
    this.state = 'probe';
    this.inflights.reset();
    this.nextIndex = Math.max(this.matchIndex + 1, Math.min(nextIndex, this.nextIndex));
  }

  /** A request failed (timeout, connection): forget what is in flight and probe again. */
  fail(): void {
    this.consecutiveFailures++;
    this.state = 'probe';
    this.inflights.reset();
    this.nextIndex = this.matchIndex + 1;
  }

  /** May another batch be sent now? */
  get canSend(): boolean {
    if (this.state === 'probe') return this.inflights.count === 0;
    return !this.inflights.full;
  }
}
