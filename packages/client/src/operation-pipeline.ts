import { TimeoutError, type Cancellable, type CopycatError, type Scheduler } from '@copycat/common';
import { type Serializer } from '@copycat/io';
import {
  MessageType,
  asCopycatError,
  type Command,
  type CommandResponse,
  type Connection,
  type ConsistencyLevel,
  type ErrorResponse,
  type Query,
  type QueryResponse,
} from '@copycat/protocol';
import { type Backoff } from './backoff.js';
import { CommandSequencer, type PendingOperation } from './command-sequencer.js';
import { type SubmitOptions } from './operations.js';
import { failureAction } from './retry-policy.js';

/** What the pipeline needs from the client that owns the session and the connection. */
export interface PipelineHost {
  /** The connection to send on while the session is confirmed on it; undefined: wait. */
  readyConnection(): Connection | undefined;
  sessionId(): number;
  /** The session generation (bumped on expiry). */
  epoch(): number;
  /** The last event batch index delivered to listeners. */
  lastEventIndex(): number;
  /** The cluster no longer knows the session of generation `epoch`. */
  expired(epoch: number): void;
  /** `connection` cannot serve the session now: move to another server (the leader, if hinted). */
  connectionFailed(connection: Connection, leaderHint: string | undefined): void;
  /** The error an error response stands for (the host learns its hints). */
  errorFrom(response: ErrorResponse): CopycatError;
}

export interface PipelineOptions {
  readonly scheduler: Scheduler;
  readonly serializer: Serializer;
  readonly backoff: Backoff;
  readonly requestTimeout: number;
  readonly defaultConsistency: ConsistencyLevel;
}

/**
 * The session's operations on the wire: sends them (commands with the sequence fixed at submit),
 * retries them by the retry policy, and completes callers in order once their answers and the
 * events before them are in (`CommandSequencer`).
 */
export class OperationPipeline {
  private readonly sequencer = new CommandSequencer();
  /** The highest log index seen (session id, command and query indexes): queries carry it. */
  private highestIndex = 0;
  private holdoff: Cancellable | undefined;
  private eventWait: Cancellable | undefined;
  private resetInFlight: number | undefined;

  constructor(
    private readonly host: PipelineHost,
    private readonly options: PipelineOptions,
  ) {}

  /** The highest sequence whose answer and all before it were received (for keep-alives). */
  get commandSequence(): number {
    return this.sequencer.commandSequence;
  }

  /** A log index the client has seen (e.g. its session's id). */
  sawIndex(index: number): void {
    this.highestIndex = Math.max(this.highestIndex, index);
  }

  /** Queues an encoded operation; the promise settles with its decoded result or its error. */
  submit(operation: Command | Query, bytes: Uint8Array, options: SubmitOptions): Promise<unknown> {
    return new Promise((resolve, reject) => {
      const base = {
        epoch: this.host.epoch(),
        operation: bytes,
        resolve,
        reject,
        attempt: 0,
        queued: true,
        connection: undefined,
        outcome: undefined,
        settled: false,
        timer: undefined,
      };
      const pending: PendingOperation =
        operation.kind === 'command'
          ? {
              ...base,
              kind: 'command',
              sequence: this.sequencer.nextSequence(),
              compaction: operation.compaction ?? 'release',
            }
          : {
              ...base,
              kind: 'query',
              sequence: this.sequencer.lastSequence,
              index: this.highestIndex,
              consistency: options.consistency ?? operation.consistency ?? this.options.defaultConsistency,
            };
      this.sequencer.add(pending);
      const timeout = options.timeout;
      if (timeout !== undefined) {
        pending.timer = this.options.scheduler.schedule(timeout, () => this.timedOut(pending, timeout));
      }
      this.flush();
    });
  }

  /** The session is confirmed on `connection`: resend there, in order, whatever was in flight elsewhere. */
  ready(connection: Connection): void {
    this.sequencer.requeueNotOn(connection);
    this.flush();
  }

  /** Fails every pending operation with `error`; a new session numbers its commands from 1. */
  failAll(error: CopycatError): void {
    for (const operation of this.sequencer.clear()) this.settle(operation, error);
    this.drain();
  }

  /** Stops the timers (the client closes). */
  stop(): void {
    this.holdoff?.cancel();
    this.eventWait?.cancel();
  }

  /** Completes, in order, every answer that may reach its caller now (e.g. after events arrived). */
  drain(): void {
    const { completed, waitingForEvents } = this.sequencer.drain(this.host.lastEventIndex());
    for (const operation of completed) this.complete(operation);
    this.watchEvents(waitingForEvents);
  }

  /** Sends `reset`: the server resends the session's event batches after `index`. */
  requestEvents(index: number): void {
    const connection = this.host.readyConnection();
    if (connection === undefined || this.resetInFlight === index) return;
    const epoch = this.host.epoch();
    this.resetInFlight = index;
    const done = (): void => {
      if (this.resetInFlight === index) this.resetInFlight = undefined;
    };
    connection
      .send(
        { type: MessageType.reset, session: this.host.sessionId(), index },
        { timeout: this.options.requestTimeout },
      )
      .then((response) => {
        done();
        if (response.status === 'error' && response.error.code === 'UNKNOWN_SESSION')
          this.host.expired(epoch);
      }, done);
  }

  /** Sends every queued operation, if the connection is ready and no backoff holds them. */
  private flush(): void {
    const connection = this.host.readyConnection();
    if (connection === undefined || this.holdoff !== undefined) return;
    for (const operation of this.sequencer.queued()) this.send(operation, connection);
  }

  private send(operation: PendingOperation, connection: Connection): void {
    const attempt = ++operation.attempt;
    operation.queued = false;
    operation.connection = connection;
    const session = this.host.sessionId();
    const options = { timeout: this.options.requestTimeout };
    const sent: Promise<CommandResponse | QueryResponse> =
      operation.kind === 'command'
        ? connection.send(
            {
              type: MessageType.command,
              session,
              sequence: operation.sequence,
              operation: operation.operation,
              compaction: operation.compaction,
            },
            options,
          )
        : connection.send(
            {
              type: MessageType.query,
              session,
              sequence: operation.sequence,
              index: operation.index,
              operation: operation.operation,
              consistency: operation.consistency,
            },
            options,
          );
    sent.then(
      (response) => this.answered(operation, attempt, connection, response),
      (error: unknown) => this.failed(operation, attempt, connection, asCopycatError(error), undefined),
    );
  }

  private answered(
    operation: PendingOperation,
    attempt: number,
    connection: Connection,
    response: CommandResponse | QueryResponse,
  ): void {
    if (!this.sequencer.has(operation) || operation.outcome !== undefined) return;
    if (response.status === 'ok') {
      // A result is final whichever attempt it answers: every attempt carries the same sequence.
      this.sawIndex(response.index);
      const { index, eventIndex, result } = response;
      this.sequencer.record(operation, { ok: true, index, eventIndex, result });
      this.drain();
      return;
    }
    this.failed(operation, attempt, connection, this.host.errorFrom(response), response);
  }

  private failed(
    operation: PendingOperation,
    attempt: number,
    connection: Connection,
    error: CopycatError,
    response: ErrorResponse | undefined,
  ): void {
    if (!this.sequencer.has(operation) || operation.outcome !== undefined) return;
    // An older attempt's failure says nothing about the attempt in flight now.
    if (attempt !== operation.attempt) return;
    if (response?.lastSequence !== undefined) {
      // A gap: the server has the session's commands up to lastSequence only. Resend the rest, in order.
      this.sequencer.requeueAfter(response.lastSequence);
      operation.queued = true;
      this.holdOff();
      return;
    }
    if (error.code === 'FRAME_TOO_LARGE' && response === undefined && !connection.closed) {
      this.refused(operation, error);
      return;
    }
    switch (failureAction(error.code)) {
      case 'expired':
        this.host.expired(operation.epoch);
        return;
      case 'reconnect':
        operation.queued = true;
        this.host.connectionFailed(connection, response?.leader);
        this.flush(); // resends at once if it failed on a connection that is no longer the current one
        return;
      case 'holdoff':
        operation.queued = true;
        this.holdOff();
        return;
      case 'fail':
        this.sequencer.record(operation, { ok: false, error });
        this.drain();
        return;
    }
  }

  /** The connection refused to send the request (over the frame size limit): it never reached a server. */
  private refused(operation: PendingOperation, error: CopycatError): void {
    if (operation.kind === 'command') this.sequencer.withdraw(operation);
    else this.sequencer.forget(operation);
    this.settle(operation, error);
    this.flush();
    this.drain();
  }

  /** Retries on the same connection after a backoff; new operations wait too, to keep their order. */
  private holdOff(): void {
    if (this.holdoff !== undefined) return;
    this.holdoff = this.options.scheduler.schedule(this.options.backoff.next(), () => {
      this.holdoff = undefined;
      this.flush();
    });
  }

  private timedOut(operation: PendingOperation, timeout: number): void {
    operation.timer = undefined;
    if (operation.settled || !this.sequencer.has(operation)) return;
    this.settle(
      operation,
      new TimeoutError(`the ${operation.kind} did not complete within ${timeout} ms; its outcome is unknown`),
    );
    // A query can be dropped; a command keeps its sequence and is retried until answered.
    if (operation.kind === 'query') this.sequencer.forget(operation);
    this.drain();
  }

  private complete(operation: PendingOperation): void {
    const outcome = operation.outcome;
    if (outcome === undefined) return;
    if (!outcome.ok) {
      this.settle(operation, outcome.error);
      return;
    }
    operation.timer?.cancel();
    if (operation.settled) return;
    operation.settled = true;
    let value: unknown;
    try {
      value = this.options.serializer.decode(outcome.result);
    } catch (error) {
      operation.reject(asCopycatError(error));
      return;
    }
    operation.resolve(value);
  }

  private settle(operation: PendingOperation, error: CopycatError): void {
    operation.timer?.cancel();
    if (operation.settled) return;
    operation.settled = true;
    operation.reject(error);
  }

  /**
   * While an answer waits for events that have not come, asks for them again every
   * `requestTimeout / 2` (a lost `publish` would otherwise hold it until the next keep-alive).
   */
  private watchEvents(waiting: boolean): void {
    if (!waiting) {
      this.eventWait?.cancel();
      this.eventWait = undefined;
      return;
    }
    if (this.eventWait !== undefined) return;
    this.eventWait = this.options.scheduler.schedule(this.options.requestTimeout / 2, () => {
      this.eventWait = undefined;
      this.requestEvents(this.host.lastEventIndex());
      this.drain();
    });
  }
}
