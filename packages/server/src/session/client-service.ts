import {
  ApplicationError,
  NoLeaderError,
  TimeoutError,
  UnknownSessionError,
  errorFromCode,
  type CopycatError,
  type Logger,
  type Scheduler,
} from '@copycat/common';
import type { Serializer } from '@copycat/io';
import {
  MessageType,
  asCopycatError,
  errorResponse,
  type CommandRequest,
  type Connection,
  type ConsistencyLevel,
  type ErrorResponseBody,
  type KeepAliveRequest,
  type OutgoingRequest,
  type QueryRequest,
  type RegisterRequest,
  type Request,
  type RequestMap,
  type RequestType,
  type ResponseBody,
  type UnregisterRequest,
} from '@copycat/protocol';
import type { RaftNode } from '../raft/raft-node.js';
import { LeaderRole } from '../roles/leader.js';
import type { LeaderForwarder } from './leader-forwarder.js';
import { encodeKeepAlive, encodeRegister, encodeUnregister } from './session-entries.js';
import type { CommandResult, EventBatch, ServerSession } from './server-session.js';
import type { SessionRegistry } from './session-registry.js';

export interface ClientServiceOptions {
  node: RaftNode;
  sessions: SessionRegistry;
  forwarder: LeaderForwarder;
  serializer: Serializer;
  scheduler: Scheduler;
  logger: Logger;
  /** The session timeout for clients that ask for none (ms). */
  defaultSessionTimeout: number;
  /** How long a request may wait here for the log or the state machine (ms). */
  waitTimeout: number;
  /** A follower that has not heard from its leader for this long forwards sequential queries. */
  staleAfter: number;
}

type Body<K extends RequestType> = ResponseBody<K>;

/**
 * The client protocol on a server (INTERNALS.md: Client sessions, Session events, Queries):
 * answers `connect`, `register`, `keepAlive`, `unregister`, `command`, `query` and `reset` on
 * every connection a client opens. The leader logs session entries and commands; any other
 * member forwards them to the leader. Each session's events go to the connection its client
 * last used on this server (a client connection is one that sent `connect`).
 */
export class ClientService {
  private readonly options: ClientServiceOptions;
  private readonly clientConnections = new WeakSet<Connection>();
  private readonly bindings = new Map<number, Connection>();
  private readonly subscriptions: { close(): void }[];

  constructor(options: ClientServiceOptions) {
    this.options = options;
    this.subscriptions = [
      options.sessions.batches.add(({ session, batch }) => {
        const connection = this.bindings.get(session.id);
        if (connection !== undefined) this.sendBatch(connection, session.id, batch);
      }),
      options.sessions.closed.add((session) => this.bindings.delete(session.id)),
    ];
  }

  /** Registers the client protocol's handlers on an accepted connection. */
  serve(connection: Connection): void {
    connection.handler(MessageType.connect, () => {
      this.clientConnections.add(connection);
      return { status: 'ok', ...this.view() };
    });
    this.handle(connection, MessageType.register, (r) => this.register(r, connection));
    this.handle(connection, MessageType.keepAlive, (r) => this.keepAlive(r, connection));
    this.handle(connection, MessageType.unregister, (r) => this.unregister(r));
    this.handle(connection, MessageType.command, (r) => this.command(r, connection));
    this.handle(connection, MessageType.query, (r) => this.query(r, connection));
    this.handle(connection, MessageType.reset, (r) => {
      this.bind(r.session, connection, r.index, true);
      return Promise.resolve({ status: 'ok' });
    });
    connection.onClose(() => {
      for (const [session, bound] of this.bindings) if (bound === connection) this.bindings.delete(session);
    });
  }

  private handle<K extends RequestType>(
    connection: Connection,
    type: K,
    run: (request: RequestMap[K]) => Promise<Body<K>>,
  ): void {
    const handler = async (request: RequestMap[K]): Promise<Body<K>> => {
      try {
        return await run(request);
      } catch (error) {
        const failure = asCopycatError(error);
        if (failure.code === 'INTERNAL_ERROR')
          this.options.logger.error('client request failed', { type, error });
        return this.errorBody(failure) as Body<K>;
      }
    };
    connection.handler(type, handler);
  }

  private errorBody(error: CopycatError): ErrorResponseBody {
    const lastSequence = (error as { lastSequence?: unknown }).lastSequence;
    const leader = this.options.node.context.leader;
    return errorResponse(error, {
      ...(leader === undefined ? {} : { leader }),
      ...(typeof lastSequence === 'number' ? { lastSequence } : {}),
    });
  }

  /** The leader and the members clients may talk to. */
  private view(): { leader?: string; members: string[] } {
    const context = this.options.node.context;
    const members = context.configuration.members.filter((m) => m.type !== 'reserve').map((m) => m.address);
    return { ...(context.leader === undefined ? {} : { leader: context.leader }), members };
  }

  // ---- sessions -------------------------------------------------------------------------------

  private async register(request: RegisterRequest, connection: Connection): Promise<Body<2>> {
    const leader = this.leader();
    if (leader === undefined) {
      const response = await this.forward(request);
      if (response.status === 'ok') this.bind(response.session, connection, 0, false);
      return response;
    }
    const { index, outcome } = await this.logAndApply(
      leader,
      'register',
      // The timeout in force goes into the log, so replicas configured differently agree on it.
      encodeRegister(this.options.serializer, {
        client: request.client,
        timeout: request.timeout > 0 ? request.timeout : this.options.defaultSessionTimeout,
      }),
    );
    this.bind(index, connection, 0, false);
    return { status: 'ok', session: index, timeout: outcome as number, ...this.view() };
  }

  private async keepAlive(request: KeepAliveRequest, connection: Connection): Promise<Body<3>> {
    this.bind(request.session, connection, request.eventIndex, false);
    const leader = this.leader();
    if (leader === undefined) return this.forward(request);
    await this.logAndApply(
      leader,
      'keepAlive',
      encodeKeepAlive(this.options.serializer, {
        session: request.session,
        commandSequence: request.commandSequence,
        eventIndex: request.eventIndex,
      }),
    );
    return { status: 'ok', ...this.view() };
  }

  private async unregister(request: UnregisterRequest): Promise<Body<4>> {
    this.bindings.delete(request.session);
    const leader = this.leader();
    if (leader === undefined) return this.forward(request);
    await this.logAndApply(
      leader,
      'unregister',
      encodeUnregister(this.options.serializer, { session: request.session, expired: false }),
    );
    return { status: 'ok' };
  }

  /**
   * On the leader, once this term's sessions are known: appends a session entry and waits until
   * it is applied here; resolves with its index and the apply loop's outcome.
   */
  private async logAndApply(
    leader: LeaderRole,
    type: 'register' | 'keepAlive' | 'unregister',
    payload: Uint8Array,
  ): Promise<{ index: number; outcome: unknown }> {
    const sessions = this.options.node.leaderSessions();
    await this.whileLeader(leader, sessions.ready());
    const entry = sessions.append(type, payload);
    const outcome = await this.whileLeader(
      leader,
      this.options.node.applyLoop.waitFor(entry.index, entry.term),
    );
    return { index: entry.index, outcome };
  }

  // ---- commands and queries -------------------------------------------------------------------

  private async command(request: CommandRequest, connection: Connection): Promise<Body<5>> {
    this.bind(request.session, connection, undefined, false);
    const leader = this.leader();
    if (leader === undefined) return this.forward(request);
    // Giving up leaves the registry's waiter in place: it settles when the command is applied
    // here (after the client's retry, wherever it lands) or when the session closes.
    const result = await this.whileLeader(
      leader,
      this.options.node.leaderSessions().command(request.session, request.sequence, request.operation),
    );
    return this.resultBody(result);
  }

  private resultBody(result: CommandResult): Body<5> {
    if (result.error !== undefined)
      return this.errorBody(errorFromCode(result.error.code, result.error.message));
    return { status: 'ok', index: result.index, eventIndex: result.eventIndex, result: result.result! };
  }

  private async query(request: QueryRequest, connection: Connection): Promise<Body<6>> {
    this.bind(request.session, connection, undefined, false);
    const node = this.options.node;
    const leader = this.leader();
    const consistency: ConsistencyLevel = request.consistency;
    if (leader === undefined) {
      const local =
        consistency === 'sequential' &&
        node.context.roleName !== 'reserve' &&
        node.context.roleName !== 'inactive' &&
        node.context.leader !== undefined &&
        this.options.scheduler.now() - node.context.lastLeaderContact <= this.options.staleAfter;
      if (!local) return this.forward(request);
      await this.applied(request.index, request.session, request.sequence);
      return this.evaluate(request);
    }
    await this.whileLeader(leader, node.leaderSessions().ready());
    const readIndex = node.context.commitIndex;
    if (consistency === 'linearizable' || (consistency === 'lease' && !leader.hasLease())) {
      await this.whileLeader(leader, leader.confirmLeadership());
    }
    await this.applied(Math.max(readIndex, request.index), request.session, request.sequence);
    return this.evaluate(request);
  }

  private evaluate(request: QueryRequest): Body<6> {
    const sessions = this.options.sessions;
    const session = sessions.get(request.session);
    if (session === undefined) throw new UnknownSessionError(`session ${request.session} is not open`);
    let value: unknown;
    try {
      value = sessions.query(session, request.operation, this.options.node.applyLoop.lastApplied);
    } catch (error) {
      const failure = asCopycatError(error);
      throw failure.code === 'INTERNAL_ERROR'
        ? new ApplicationError(failure.message, { cause: error })
        : failure;
    }
    return {
      status: 'ok',
      index: this.options.node.applyLoop.lastApplied,
      eventIndex: session.lastEventIndex,
      result: this.options.serializer.encode(value),
    };
  }

  /**
   * Waits until this server applied `index` and the session's commands up to `sequence`, so a
   * client never sees state older than what it has seen (or missing its own commands).
   */
  private applied(index: number, sessionId: number, sequence: number): Promise<void> {
    const { node, sessions, scheduler } = this.options;
    const ready = (): boolean => {
      if (node.applyLoop.lastApplied < index) return false;
      const session = sessions.get(sessionId);
      if (session === undefined) throw new UnknownSessionError(`session ${sessionId} is not open`);
      return session.commandSequence >= sequence;
    };
    if (ready()) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      const registration = node.applyLoop.onApplied(() => {
        try {
          if (!ready()) return;
          resolve();
        } catch (error) {
          reject(asCopycatError(error));
        }
        registration.close();
        timer.cancel();
      });
      const timer = scheduler.schedule(this.options.waitTimeout, () => {
        registration.close();
        reject(new TimeoutError(`this server has not applied index ${index} and sequence ${sequence} yet`));
      });
    });
  }

  // ---- leader and forwarding ------------------------------------------------------------------

  /** The leader role if this server leads, else undefined. */
  private leader(): LeaderRole | undefined {
    const role = this.options.node.context.role;
    return role instanceof LeaderRole ? role : undefined;
  }

  /**
   * Waits for `work` while `leader` stays the leader, at most `waitTimeout`: a deposed leader
   * answers NO_LEADER at once (with the new leader as a hint) so the client retries there.
   */
  private whileLeader<T>(leader: LeaderRole, work: Promise<T>): Promise<T> {
    const { node, scheduler } = this.options;
    return new Promise<T>((resolve, reject) => {
      const finish = (): void => {
        registration.close();
        timer.cancel();
      };
      const registration = node.context.roleChanges.add(() => {
        if (node.context.role === leader) return;
        finish();
        reject(new NoLeaderError('this server lost leadership; retry at the new leader'));
      });
      const timer = scheduler.schedule(this.options.waitTimeout, () => {
        finish();
        reject(new TimeoutError('the request was not completed in time; retry it'));
      });
      work.then(
        (value) => {
          finish();
          resolve(value);
        },
        (error: unknown) => {
          finish();
          reject(asCopycatError(error));
        },
      );
    });
  }

  private async forward<R extends Request>(request: R): Promise<Body<R['type']>> {
    const leader = this.options.node.context.leader;
    if (leader === undefined || leader === this.options.node.context.address)
      throw new NoLeaderError('no leader is known; retry later');
    const { id: _id, ...outgoing } = request;
    const response = (await this.options.forwarder.send(leader, outgoing as OutgoingRequest)) as {
      type?: number;
      id?: number;
    };

    const { type: _type, id: _responseId, ...body } = response;
    return body as Body<R['type']>;
  }

  // ---- events ---------------------------------------------------------------------------------

  /**
   * Makes `connection` the place for a session's events (only client connections count). A new
   * place, or an explicit `reset`, gets every held batch after `from` resent.
   */
  private bind(sessionId: number, connection: Connection, from: number | undefined, force: boolean): void {
    if (!this.clientConnections.has(connection)) return;
    const previous = this.bindings.get(sessionId);
    this.bindings.set(sessionId, connection);
    if ((previous === connection && !force) || from === undefined) return;
    const session: ServerSession | undefined = this.options.sessions.get(sessionId);
    if (session === undefined) return;
    for (const batch of session.batchesAfter(from)) this.sendBatch(connection, sessionId, batch);
  }

  private sendBatch(connection: Connection, session: number, batch: EventBatch): void {
    if (connection.closed) return;
    connection
      .send({
        type: MessageType.publish,
        session,
        eventIndex: batch.eventIndex,
        previousIndex: batch.previousIndex,
        events: batch.events,
      })
      .catch((error: unknown) => this.options.logger.debug('event batch not delivered', { session, error }));
  }

  close(): void {
    for (const subscription of this.subscriptions) subscription.close();
    this.bindings.clear();
  }
}
