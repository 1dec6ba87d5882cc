import type { ErrorCode } from '@copycat/common';
import type { SessionEvent } from '@copycat/protocol';

export type SessionState = 'open' | 'expired' | 'closed';

/**
 * A client session as a state machine sees it (`commit.session`, session hooks). The same on
 * every replica: it is built from the log.
 */
export interface Session {
  /** The index of the session's `register` entry. */
  readonly id: number;
  /** The id the client chose for itself. */
  readonly client: string;
  readonly state: SessionState;
  /**
   * Sends an event to this session's client: in order, once, across failover. Allowed only
   * while a command (or a log-time timer, or a session hook) is being applied; a no-op for a
   * session that is no longer open.
   */
  publish(event: string, message?: unknown): void;
}

/** The answer to one command, kept until the client acknowledges it (so retries get it again). */
export interface CommandResult {
  /** Log index the command was applied at. */
  readonly index: number;
  /** The session's last event index before this command: those events precede the response. */
  readonly eventIndex: number;
  /** The result, encoded by the server's serializer (absent when `error` is set). */
  readonly result?: Uint8Array;
  readonly error?: { readonly code: ErrorCode; readonly message: string };
}

/** The events raised for one session while applying the entry at `eventIndex`. */
export interface EventBatch {
  readonly eventIndex: number;
  readonly previousIndex: number;
  readonly events: readonly SessionEvent[];
}

/** What a session needs from its registry to publish. */
export interface EventSink {
  publish(session: ServerSession, event: string, message: unknown): void;
}

/**
 * A session's replicated state: identical on every replica that applied the same entries.
 * Leader-only and connection state lives elsewhere (LeaderSessions, ClientService).
 */
export class ServerSession implements Session {
  state: SessionState = 'open';
  /** Log time of the last keep-alive (or registration, or new leader's initialize entry). */
  lastKeepAlive: number;
  /** Highest command sequence applied. */
  commandSequence = 0;
  /** Highest command sequence the client acknowledged (its results were dropped). */
  acknowledgedSequence = 0;
  /** Results not yet acknowledged, by sequence. Insertion order is sequence order. */
  readonly results = new Map<number, CommandResult>();
  /** Index of this session's last event batch (0 before the first). */
  lastEventIndex = 0;
  /** Event batches not yet acknowledged, oldest first. */
  readonly batches: EventBatch[] = [];

  constructor(
    readonly id: number,
    readonly client: string,
    readonly timeout: number,
    time: number,
    private readonly sink: EventSink,
  ) {
    this.lastKeepAlive = time;
  }

  publish(event: string, message?: unknown): void {
    this.sink.publish(this, event, message);
  }

  /** The client received every result up to `sequence` and every event up to `eventIndex`. */
  acknowledge(sequence: number, eventIndex: number): void {
    if (sequence > this.acknowledgedSequence) {
      this.acknowledgedSequence = sequence;
      for (const key of this.results.keys()) {
        if (key > sequence) break;
        this.results.delete(key);
      }
    }
    let drop = 0;
    while (drop < this.batches.length && this.batches[drop]!.eventIndex <= eventIndex) drop++;
    if (drop > 0) this.batches.splice(0, drop);
  }

  /** Event batches after `index`, for a resend. */
  batchesAfter(index: number): EventBatch[] {
    return this.batches.filter((batch) => batch.eventIndex > index);
  }
}
