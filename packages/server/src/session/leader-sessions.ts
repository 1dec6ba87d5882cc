import {
  CommandFailureError,
  NoLeaderError,
  UnknownSessionError,
  type Cancellable,
  type Logger,
  type Scheduler,
} from '@copycat/common';
import type { Serializer } from '@copycat/io';
import type { LogEntry } from '../raft/ports.js';
import type { ApplyLoop } from '../state-machine/apply-loop.js';
import type { LeaderRole } from '../roles/leader.js';
import { encodeCommand, encodeUnregister } from './session-entries.js';
import type { CommandResult } from './server-session.js';
import type { SessionRegistry } from './session-registry.js';

export interface LeaderSessionsOptions {
  leader: LeaderRole;
  applyLoop: ApplyLoop;
  sessions: SessionRegistry;
  serializer: Serializer;
  scheduler: Scheduler;
  logger: Logger;
  /** Index of this term's `initialize` entry: sessions are known once it is applied. */
  initializeIndex: number;
  /** How often expiry is checked (the heartbeat interval). */
  checkInterval: number;
  /** How long an out-of-order command waits for the commands before it (ms). */
  gapTimeout: number;
  /** Commands waiting for a gap, per session, at most. */
  maxQueuedPerSession: number;
}

interface QueuedCommand {
  operation: Uint8Array;
  resolve: () => void;
  reject: (error: Error) => void;
  timer: Cancellable;
}

/**
 * What only the leader does for sessions during one term: it puts each session's commands in
 * the log in sequence order (holding one that arrives early until the gap fills), and proposes
 * expiry for sessions whose keep-alives stopped. Nothing here is replicated; a new leader starts
 * afresh from the applied session state once its `initialize` entry is applied.
 */
export class LeaderSessions {
  private readonly options: LeaderSessionsOptions;
  /** Highest sequence appended per session in this term (above the applied one). */
  private readonly appended = new Map<number, number>();
  private readonly queued = new Map<number, Map<number, QueuedCommand>>();
  /** Sessions whose expiry we proposed, with the keep-alive time we judged by. */
  private readonly expiring = new Map<number, number>();
  private readonly expiryTimer: Cancellable;
  private readyPromise: Promise<void> | undefined;
  private closed = false;

  constructor(options: LeaderSessionsOptions) {
    this.options = options;
    this.expiryTimer = options.scheduler.scheduleAtFixedRate(
      options.checkInterval,
      options.checkInterval,
      () => this.expireSessions(),
    );
  }

  /** Resolves once the state machine has applied everything committed before this term. */
  ready(): Promise<void> {
    if (this.closed) return Promise.reject(new NoLeaderError('no longer the leader'));
    const { applyLoop, initializeIndex } = this.options;
    if (applyLoop.lastApplied >= initializeIndex) return Promise.resolve();
    this.readyPromise ??= new Promise<void>((resolve) => {
      const registration = applyLoop.onApplied(() => {
        if (applyLoop.lastApplied >= initializeIndex) {
          registration.close();
          resolve();
        }
      });
    });
    return this.readyPromise;
  }

  /** Appends an entry of this term (the leader refuses if it is stepping down or transferring). */
  append(type: LogEntry['type'], payload: Uint8Array): LogEntry {
    if (this.closed) throw new NoLeaderError('no longer the leader');
    return this.options.leader.append(type, payload);
  }

  /**
   * Logs command `sequence` of a session once, in order, and resolves with its result. A
   * duplicate waits for (or returns) the result of the first; an early one waits until the
   * commands before it arrive, or fails with the gap so the client resends.
   */
  async command(sessionId: number, sequence: number, operation: Uint8Array): Promise<CommandResult> {
    await this.ready();
    const { sessions } = this.options;
    const session = sessions.get(sessionId);
    if (session === undefined || session.state !== 'open')
      throw new UnknownSessionError(`session ${sessionId} is not open`);
    const next = this.lastSequence(sessionId) + 1;
    if (sequence > next) await this.queue(sessionId, sequence, operation);
    else if (sequence === next) this.appendCommand(sessionId, sequence, operation);
    return sessions.awaitResult(sessionId, sequence);
  }

  /** The highest sequence of a session that is in the log: applied, or appended in this term. */
  lastSequence(sessionId: number): number {
    const applied = this.options.sessions.get(sessionId)?.commandSequence ?? 0;
    return Math.max(applied, this.appended.get(sessionId) ?? 0);
  }

  private appendCommand(sessionId: number, sequence: number, operation: Uint8Array): void {
    this.append(
      'command',
      encodeCommand(this.options.serializer, { session: sessionId, sequence, operation }),
    );
    this.appended.set(sessionId, sequence);
    // Commands that arrived early and are next now follow in order.
    const waiting = this.queued.get(sessionId);
    const following = waiting?.get(sequence + 1);
    if (waiting !== undefined && following !== undefined) {
      waiting.delete(sequence + 1);
      if (waiting.size === 0) this.queued.delete(sessionId);
      following.timer.cancel();
      try {
        this.appendCommand(sessionId, sequence + 1, following.operation);
        following.resolve();
      } catch (error) {
        following.reject(error as Error);
      }
    }
  }

  private queue(sessionId: number, sequence: number, operation: Uint8Array): Promise<void> {
    let waiting = this.queued.get(sessionId);
    if (waiting === undefined) this.queued.set(sessionId, (waiting = new Map<number, QueuedCommand>()));
    const previous = waiting.get(sequence);
    if (previous !== undefined) {
      // A retry of a command still waiting: the newest request takes its place.
      previous.timer.cancel();
      previous.reject(this.gapError(sessionId, sequence));
    } else if (waiting.size >= this.options.maxQueuedPerSession) {
      return Promise.reject(this.gapError(sessionId, sequence));
    }
    return new Promise<void>((resolve, reject) => {
      const timer = this.options.scheduler.schedule(this.options.gapTimeout, () => {
        if (waiting.get(sequence)?.timer !== timer) return;
        waiting.delete(sequence);
        if (waiting.size === 0 && this.queued.get(sessionId) === waiting) this.queued.delete(sessionId);
        reject(this.gapError(sessionId, sequence));
      });
      waiting.set(sequence, { operation, resolve, reject, timer });
    });
  }

  private gapError(sessionId: number, sequence: number): CommandFailureError & { lastSequence: number } {
    const lastSequence = this.lastSequence(sessionId);
    return Object.assign(
      new CommandFailureError(`command ${sequence} arrived before ${lastSequence + 1}; resend from there`),
      { lastSequence },
    );
  }

  /**
   * Proposes expiry for sessions whose last keep-alive is older than their timeout. The
   * `unregister` entry itself carries log time, and replicas re-check the rule when applying it.
   */
  private expireSessions(): void {
    if (this.closed || this.options.applyLoop.lastApplied < this.options.initializeIndex) return;
    const now = this.options.scheduler.now();
    for (const session of this.options.sessions.open()) {
      if (now - session.lastKeepAlive <= session.timeout) continue;
      if (this.expiring.get(session.id) === session.lastKeepAlive) continue; // already proposed
      try {
        this.append(
          'unregister',
          encodeUnregister(this.options.serializer, { session: session.id, expired: true }),
        );
        this.expiring.set(session.id, session.lastKeepAlive);
        this.options.logger.info('session expired', { session: session.id, client: session.client });
      } catch {
        return; // stepping down or transferring: the next leader will do it
      }
    }
    for (const id of this.expiring.keys())
      if (this.options.sessions.get(id) === undefined) this.expiring.delete(id);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.expiryTimer.cancel();
    for (const waiting of this.queued.values()) {
      for (const command of waiting.values()) {
        command.timer.cancel();
        command.reject(new NoLeaderError('lost leadership before the command was logged'));
      }
    }
    this.queued.clear();
  }
}
