/**
 * `RaftClient`: one session with a Copycat cluster (INTERNALS.md: Client sessions, Session
 * events, Queries and consistency).
 *
 * Rules the client keeps, and where:
 * - One connection is current. Operations are sent on it only while it is `ready`: connected,
 *   and the session confirmed on it (by `register`, or a keep-alive that also tells the server
 *   to send the session's events there and resend those not yet acknowledged).
 * - A command gets its sequence number once, at submit, and every retry resends that number: the
 *   cluster applies each (session, sequence) once and answers duplicates from its cache.
 * - Anything that makes the current connection unfit (closed, timed out, no leader) starts one
 *   recovery (`establish`): reconnect after a backoff, confirm the session, then resend every
 *   unanswered operation, commands in sequence order first.
 * - Answers reach callers in order (`CommandSequencer.drain`), after the events they follow.
 * - Every time, timer and random draw comes from the injected `Scheduler` (design principle 1).
 */
import {
  ClosedError,
  ConfigurationError,
  TimeoutError,
  UnknownSessionError,
  type CopycatError,
  type Listener,
  type ListenerRegistration,
  type Logger,
  type Scheduler,
} from '@copycat/common';
import { type Serializer } from '@copycat/io';
import {
  MessageType,
  asCopycatError,
  encodeOperation,
  responseError,
  type Command,
  type Connection,
  type ErrorResponse,
  type PublishRequest,
  type Query,
} from '@copycat/protocol';
import { Backoff } from './backoff.js';
import { ConnectionManager } from './connection-manager.js';
import { EventReceiver } from './event-receiver.js';
import { KeepAliveTimer } from './keep-alive.js';
import { OperationPipeline, type PipelineHost } from './operation-pipeline.js';
import { checkSubmit, type ResultOf, type SubmitOptions } from './operations.js';
import { resolveOptions, show, type RaftClientOptions, type ResolvedOptions } from './options.js';
import { isFatalForSession } from './retry-policy.js';
import { SessionTracker, type SessionInfo, type SessionStateChange } from './session-state.js';

/** `idle` until `connect()`; `connecting` until the first session is up; `closing`/`closed` after `close()`. */
type Phase = 'idle' | 'connecting' | 'connected' | 'closing' | 'closed';

export class RaftClient {
  private readonly options: ResolvedOptions;
  private readonly scheduler: Scheduler;
  private readonly logger: Logger;
  private readonly serializer: Serializer;
  private readonly sessionTracker: SessionTracker;
  private readonly pipeline: OperationPipeline;
  private readonly events: EventReceiver;
  private readonly connections: ConnectionManager;
  private readonly backoff: Backoff;
  private readonly keepAlives: KeepAliveTimer;

  private phase: Phase = 'idle';
  /** The current connection and the server it goes to. */
  private connection: Connection | undefined;
  private address: string | undefined;
  /** The current connection must be replaced (it failed, or the leader is elsewhere). */
  private replace: Connection | undefined;
  /** Former connections, closed once the current one is ready (their answers still count). */
  private readonly retiring = new Set<Connection>();
  private ready = false;
  private recovery: Promise<void> | undefined;
  private needsRegister = true;
  /** Bumped when a session expires: answers for an older generation are ignored. */
  private epoch = 0;
  private sessionTimeout = 0;
  private keepAliveInFlight = false;
  private readonly sleepers = new Set<() => void>();
  private closing: Promise<void> | undefined;

  constructor(options: RaftClientOptions) {
    this.options = resolveOptions(options);
    this.scheduler = this.options.scheduler;
    this.logger = this.options.logger.child(`client ${this.options.clientId}`);
    this.serializer = this.options.serializer;
    this.sessionTracker = new SessionTracker(this.logger);
    this.backoff = new Backoff(
      this.scheduler,
      this.options.retryBackoff.initial,
      this.options.retryBackoff.max,
    );
    this.events = new EventReceiver({
      serializer: this.serializer,
      logger: this.logger,
      requestResend: (index) => this.pipeline.requestEvents(index),
      delivered: () => this.pipeline.drain(),
    });
    this.connections = new ConnectionManager({
      transport: this.options.transport,
      clientId: this.options.clientId,
      strategy: this.options.connectionStrategy,
      scheduler: this.scheduler,
      requestTimeout: this.options.requestTimeout,
      logger: this.logger,
      prepare: (connection, address) => this.prepare(connection, address),
    });
    this.pipeline = new OperationPipeline(this.pipelineHost(), {
      scheduler: this.scheduler,
      serializer: this.serializer,
      backoff: this.backoff,
      requestTimeout: this.options.requestTimeout,
      defaultConsistency: this.options.defaultConsistency,
    });
    this.keepAlives = new KeepAliveTimer({
      scheduler: this.scheduler,
      tick: () => this.sendKeepAlive(),
      lapsed: () => this.lapsed(),
    });
  }

  get clientId(): string {
    return this.options.clientId;
  }

  /** The session: `{ id, state }` (id 0 and state `closed` before `connect()`). */
  get session(): SessionInfo {
    return this.sessionTracker.info;
  }

  /** The leader as last learned from any server, if any. */
  get leader(): string | undefined {
    return this.connections.leader;
  }

  /** The members the client connects to, as last learned. */
  get members(): readonly string[] {
    return this.connections.members;
  }

  onSessionStateChange(listener: Listener<SessionStateChange>): ListenerRegistration {
    return this.sessionTracker.onChange(listener);
  }

  /** Listens to the events named `name` that the state machine publishes to this session. */
  onEvent<T = unknown>(name: string, listener: Listener<T>): ListenerRegistration {
    if (typeof name !== 'string' || name.length === 0) {
      throw new ConfigurationError(`an event name must be a non-empty string, got ${show(name)}`);
    }
    return this.events.on(name, listener as Listener<unknown>);
  }

  /**
   * Connects to one of `members` and opens a session. Retries (with backoff, across the members)
   * until it succeeds, `close()` is called, or a server refuses for good (e.g. `UNAUTHORIZED`,
   * which closes the client). With `options.timeout` (ms) it gives up after that long: the
   * client is closed and the promise rejects with `TimeoutError`.
   */
  async connect(members: readonly string[], options: { timeout?: number } = {}): Promise<void> {
    const timeout = options.timeout;
    if (timeout !== undefined && !(typeof timeout === 'number' && timeout > 0 && Number.isFinite(timeout))) {
      throw new ConfigurationError(`connect timeout must be a positive number of ms, got ${show(timeout)}`);
    }
    if (!Array.isArray(members) || members.length === 0) {
      throw new ConfigurationError('connect needs a non-empty list of member addresses');
    }
    for (const member of members) {
      if (typeof member !== 'string' || member.length === 0) {
        throw new ConfigurationError(`member addresses must be non-empty strings, got ${show(member)}`);
      }
    }
    if (this.phase === 'closing' || this.phase === 'closed') throw new ClosedError('the client is closed');
    if (this.phase !== 'idle') throw new ConfigurationError('connect() was already called on this client');
    this.phase = 'connecting';
    this.connections.setMembers(members);
    this.recover(0);
    if (timeout === undefined) return this.recovery;
    let expired = false;
    let timer: { cancel(): void } | undefined;
    const deadline = new Promise<never>((_, reject) => {
      timer = this.scheduler.schedule(timeout, () => {
        expired = true;
        reject(
          new TimeoutError(`could not open a session with any of ${members.join(', ')} within ${timeout} ms`),
        );
      });
    });
    try {
      await Promise.race([this.recovery, deadline]);
    } catch (error) {
      if (expired) await this.close();
      throw error;
    } finally {
      timer?.cancel();
    }
  }

  /**
   * Submits a command or a query and resolves with the state machine's result. Rejects with
   * `ApplicationError` if the state machine threw, `TimeoutError` after `options.timeout`,
   * `UnknownSessionError` if the session expired before the answer came (the outcome is then
   * unknown), `ClosedError` once the client is closed.
   */
  submit<T extends Command | Query>(operation: T, options: SubmitOptions = {}): Promise<ResultOf<T>> {
    let bytes: Uint8Array;
    try {
      checkSubmit(operation, options);
      if (this.phase === 'idle') throw new ClosedError('the client is not connected: call connect() first');
      if (!this.active) throw new ClosedError('the client is closed');
      bytes = encodeOperation(this.serializer, operation);
    } catch (error) {
      return Promise.reject(asCopycatError(error));
    }
    return this.pipeline.submit(operation, bytes, options) as Promise<ResultOf<T>>;
  }

  /**
   * Closes the session (`unregister`, best effort, within `requestTimeout`) and the connection.
   * Pending calls reject with `ClosedError`. Idempotent.
   */
  close(): Promise<void> {
    return this.terminate(true);
  }

  /** The view of this client the operation pipeline works with. */
  private pipelineHost(): PipelineHost {
    return {
      readyConnection: () => {
        const connection = this.connection;
        return this.ready && connection !== undefined && !connection.closed ? connection : undefined;
      },
      sessionId: () => this.sessionTracker.id,
      epoch: () => this.epoch,
      lastEventIndex: () => this.events.lastEventIndex,
      expired: (epoch) => this.expire(epoch),
      connectionFailed: (connection, leaderHint) => this.reconnect(connection, leaderHint),
      errorFrom: (response) => this.errorFrom(response),
    };
  }

  // ---- recovery: a ready connection with a live session ----------------------------------

  private get active(): boolean {
    return this.phase === 'connecting' || this.phase === 'connected';
  }

  private checkActive(): void {
    if (!this.active) throw new ClosedError('the client was closed');
  }

  /** Makes the client not ready and starts a recovery after `delay` ms, unless one runs already. */
  private recover(delay: number): void {
    this.ready = false;
    if (this.recovery !== undefined || !this.active) return;
    const recovery = this.establish(delay);
    this.recovery = recovery;
    recovery.then(undefined, (error: unknown) => this.fatal(asCopycatError(error)));
  }

  /**
   * Loops until the current connection is ready: (re)connects if it is gone or must be replaced,
   * registers a session if there is none, else confirms the session with a keep-alive. Retryable
   * failures move on to the next server after a backoff; state that changed during an await
   * (connection lost, session expired) sends it round again.
   */
  private async establish(initialDelay: number): Promise<void> {
    let delay = initialDelay;
    try {
      for (;;) {
        if (delay > 0) await this.sleep(delay);
        this.checkActive();
        let connection: Connection | undefined;
        try {
          connection = await this.usableConnection();
          if (this.needsRegister) await this.register(connection);
          else await this.keepAlive(connection);
          this.checkActive();
          if (
            connection !== this.connection ||
            connection.closed ||
            this.replace === connection ||
            this.needsRegister
          ) {
            delay = 0;
            continue;
          }
          this.recovery = undefined;
          this.onReady(connection);
          return;
        } catch (error) {
          this.checkActive();
          const failure = asCopycatError(error);
          if (failure.code === 'UNKNOWN_SESSION') {
            delay = 0; // keepAlive() expired the session: register a new one
            continue;
          }
          if (isFatalForSession(failure.code)) throw failure;
          this.logger.debug('could not reach the session, retrying', {
            error: failure,
            server: this.address,
          });
          if (connection !== undefined && connection === this.connection) this.dropCurrent(connection);
          delay = this.backoff.next();
        }
      }
    } catch (error) {
      this.recovery = undefined;
      throw error;
    }
  }

  /** The current connection if it is fit, else a new one to the next server. */
  private async usableConnection(): Promise<Connection> {
    const current = this.connection;
    if (current !== undefined && !current.closed && this.replace !== current) return current;
    const { connection, address } = await this.connections.open();
    if (!this.active) {
      void connection.close();
      throw new ClosedError('the client was closed');
    }
    if (current !== undefined) this.retiring.add(current);
    this.connection = connection;
    this.address = address;
    this.replace = undefined;
    return connection;
  }

  /** The current connection failed: the next one goes elsewhere if there is another member. */
  private dropCurrent(connection: Connection): void {
    this.replace = connection;
    if (this.address !== undefined) this.connections.markFailed(this.address);
  }

  private onReady(connection: Connection): void {
    this.ready = true;
    if (this.phase === 'connecting') this.phase = 'connected';
    this.backoff.reset();
    this.connections.succeeded();
    for (const old of this.retiring) void old.close();
    this.retiring.clear();
    // Whatever was in flight on another connection may never be answered: resend it here, in order.
    this.pipeline.ready(connection);
    this.moveToLeader();
  }

  /** With `prefer-leader`: moves to the known leader if connected elsewhere. */
  private moveToLeader(): void {
    const leader = this.connections.leaderToMoveTo(this.address);
    if (!this.ready || leader === undefined || this.connection === undefined) return;
    this.logger.debug('moving to the leader', { from: this.address, leader });
    this.connections.preferNext(leader);
    this.replace = this.connection;
    this.recover(0);
  }

  /** `connection`, the current one, cannot serve the session: move to another server after a backoff. */
  private reconnect(connection: Connection, leaderHint: string | undefined): void {
    if (connection !== this.connection || !this.active) return;
    if (this.replace !== connection) {
      this.dropCurrent(connection);
      if (leaderHint !== undefined && this.connections.leaderToMoveTo(this.address) === leaderHint) {
        this.connections.preferNext(leaderHint);
      }
    }
    this.recover(this.backoff.next());
  }

  private prepare(connection: Connection, address: string): void {
    connection.handler(MessageType.publish, (request) => ({ status: 'ok', index: this.onPublish(request) }));
    connection.onError((error) => this.logger.debug('connection problem', { server: address, error }));
    connection.onClose(() => {
      this.retiring.delete(connection);
      if (connection !== this.connection || !this.active) return;
      this.logger.info('connection lost', { server: address });
      this.dropCurrent(connection);
      this.recover(this.backoff.next());
    });
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const wake = (): void => {
        task.cancel();
        this.sleepers.delete(wake);
        resolve();
      };
      const task = this.scheduler.schedule(ms, wake);
      this.sleepers.add(wake);
    });
  }

  // ---- session: register, keep-alive, expiry -------------------------------------------

  private async register(connection: Connection): Promise<void> {
    const response = await connection.send(
      { type: MessageType.register, client: this.options.clientId, timeout: this.options.sessionTimeout },
      { timeout: this.options.requestTimeout },
    );
    this.checkActive();
    if (response.status === 'error') throw this.errorFrom(response);
    this.connections.learn(response.leader, response.members);
    this.needsRegister = false;
    this.pipeline.sawIndex(response.session);
    this.sessionTimeout = response.timeout > 0 ? response.timeout : this.options.sessionTimeout;
    this.logger.info('session registered', { session: response.session, timeout: this.sessionTimeout });
    this.sessionTracker.transition('open', response.session);
    if (this.sessionTimeout > 0) this.keepAlives.start(this.sessionTimeout);
  }

  /** Sends a keep-alive on `connection`; UNKNOWN_SESSION expires the session (and is rethrown). */
  private async keepAlive(connection: Connection): Promise<void> {
    const epoch = this.epoch;
    const response = await connection.send(
      {
        type: MessageType.keepAlive,
        session: this.sessionTracker.id,
        commandSequence: this.pipeline.commandSequence,
        eventIndex: this.events.lastEventIndex,
      },
      { timeout: this.options.requestTimeout },
    );
    if (epoch !== this.epoch || !this.active) return; // about a session that is gone
    if (response.status === 'error') {
      const error = this.errorFrom(response);
      if (error.code === 'UNKNOWN_SESSION') this.expire(epoch);
      throw error;
    }
    this.connections.learn(response.leader, response.members);
    if (this.sessionTracker.state === 'suspended') this.sessionTracker.transition('open');
    this.keepAlives.alive();
  }

  private sendKeepAlive(): void {
    const connection = this.connection;
    if (!this.ready || this.keepAliveInFlight || connection === undefined) return;
    this.keepAliveInFlight = true;
    this.keepAlive(connection).then(
      () => {
        this.keepAliveInFlight = false;
        this.moveToLeader();
      },
      (error: unknown) => {
        this.keepAliveInFlight = false;
        const failure = asCopycatError(error);
        if (!this.active || failure.code === 'UNKNOWN_SESSION') return;
        this.logger.warn('keep-alive failed', { server: this.address, error: failure });
        this.reconnect(connection, undefined);
      },
    );
  }

  /** No keep-alive succeeded for a whole session timeout. */
  private lapsed(): void {
    if (this.active && this.sessionTracker.state === 'open') this.sessionTracker.transition('suspended');
  }

  /** The cluster no longer knows the session of generation `epoch` (INTERNALS.md: expiry). */
  private expire(epoch: number): void {
    if (epoch !== this.epoch || !this.active || this.needsRegister) return;
    const id = this.sessionTracker.id;
    this.logger.warn('session expired', { session: id });
    this.epoch++;
    this.needsRegister = true;
    this.keepAlives.stop();
    this.events.reset();
    this.sessionTracker.transition('expired');
    const error = new UnknownSessionError(
      `session ${id} expired: the outcome of the operations pending on it is unknown`,
    );
    this.pipeline.failAll(error);
    if (this.options.recoveryStrategy === 'close') {
      void this.terminate(false);
      return;
    }
    this.recover(0);
  }

  /** A failure retrying cannot fix: the client closes, and pending calls fail with `error`. */
  private fatal(error: CopycatError): void {
    if (!this.active) return;
    this.logger.error('the client cannot go on and closes', { error });
    this.pipeline.failAll(error);
    void this.terminate(false);
  }

  private terminate(unregister: boolean): Promise<void> {
    this.closing ??= this.shutdown(unregister);
    return this.closing;
  }

  private async shutdown(unregister: boolean): Promise<void> {
    const wasOpen = this.phase === 'connected' && !this.needsRegister;
    this.phase = 'closing';
    this.ready = false;
    this.keepAlives.stop();
    this.pipeline.stop();
    for (const wake of [...this.sleepers]) wake();
    this.pipeline.failAll(new ClosedError('the client was closed'));
    const connection = this.connection;
    if (unregister && wasOpen && connection !== undefined && !connection.closed) {
      try {
        await connection.send(
          { type: MessageType.unregister, session: this.sessionTracker.id },
          { timeout: this.options.requestTimeout },
        );
      } catch (failure) {
        this.logger.debug('unregister failed', { error: failure as Error });
      }
    }
    this.sessionTracker.transition('closed');
    this.phase = 'closed';
    await this.connections.close();
  }

  private errorFrom(response: ErrorResponse): CopycatError {
    if (response.leader !== undefined) this.connections.learn(response.leader);
    else if (response.error.code === 'NO_LEADER') this.connections.forgetLeader();
    return responseError(response);
  }

  // ---- events ------------------------------------------------------------------------------

  private onPublish(request: PublishRequest): number {
    if (!this.active || this.needsRegister || request.session !== this.sessionTracker.id) {
      throw new UnknownSessionError(`session ${request.session} is not open on this client`);
    }
    return this.events.receive(request);
  }
}
