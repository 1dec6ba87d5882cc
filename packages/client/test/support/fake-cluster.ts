/**
 * A fake cluster that speaks the client protocol (INTERNALS.md: Client sessions, Session events,
 * Queries) from one shared in-memory state, on a `LocalNetwork` run by a `SimulatedScheduler`.
 * Every server answers for the whole cluster (as if it forwarded to the leader), so tests choose
 * faults per request instead of running Raft. It records every request it receives.
 */
import { ApplicationError, UnknownSessionError, errorFromCode, type ErrorCode } from '@copycat/common';
import { Serializer } from '@copycat/io';
import {
  MessageType,
  decodeOperation,
  errorResponse,
  type CommandRequest,
  type Connection,
  type KeepAliveRequest,
  type PublishRequest,
  type QueryRequest,
  type Request,
  type RequestType,
  type ResponseBody,
  type SessionEvent,
} from '@copycat/protocol';
import { SimulatedScheduler } from '@copycat/testing';
import { LocalNetwork } from '@copycat/transport-local';
import { RaftClient, type RaftClientOptions } from '@copycat/client';

/** What a server does with a request instead of answering it normally. */
export type Fault =
  /** Close the connection without answering. */
  | { readonly kind: 'close' }
  /** Never answer (the client times out). */
  | { readonly kind: 'drop' }
  /** Answer with an error response. */
  | {
      readonly kind: 'error';
      readonly code: ErrorCode;
      readonly leader?: string;
      readonly lastSequence?: number;
    }
  /** Handle it now, answer after `ms`. */
  | { readonly kind: 'delay'; readonly ms: number }
  /** Handle it (apply a command), then close the connection instead of answering. */
  | { readonly kind: 'apply-then-close' };

/** Decides the fault for one request (undefined: answer normally). */
export type Interceptor = (request: Request, server: string) => Fault | undefined;

/** What happens to one `publish` the cluster sends. */
export type PublishFault = 'drop' | 'duplicate' | { readonly delay: number };
export type PublishInterceptor = (batch: PublishRequest) => PublishFault | undefined;

export interface Received {
  readonly server: string;
  readonly time: number;
  readonly request: Request;
}

interface Batch {
  readonly eventIndex: number;
  readonly previousIndex: number;
  readonly events: readonly SessionEvent[];
}

type Answer = ResponseBody<typeof MessageType.command>;

export interface FakeSession {
  readonly id: number;
  readonly client: string;
  readonly timeout: number;
  connection: Connection | undefined;
  lastSequence: number;
  /** Cached answers by sequence, dropped when a keep-alive acknowledges them. */
  readonly results: Map<number, Answer>;
  /** Event batches not yet acknowledged. */
  batches: Batch[];
  lastBatchIndex: number;
  readonly keepAlives: (KeepAliveRequest & { readonly time: number; readonly server: string })[];
  readonly waiters: (() => void)[];
}

export interface FakeClusterOptions {
  readonly seed?: number;
  readonly addresses?: readonly string[];
  /** Timeout granted when the client asks for 0. Default 3000. */
  readonly sessionTimeout?: number;
  readonly leader?: string;
  /** The network's frame size limit. Default 16 MiB. */
  readonly maxFrameSize?: number;
}

const CLIENT_REQUESTS = [
  MessageType.connect,
  MessageType.register,
  MessageType.keepAlive,
  MessageType.unregister,
  MessageType.command,
  MessageType.query,
  MessageType.reset,
] as const;

export class FakeCluster {
  readonly scheduler: SimulatedScheduler;
  readonly network: LocalNetwork;
  readonly addresses: readonly string[];
  readonly serializer = new Serializer();
  readonly sessions = new Map<number, FakeSession>();
  readonly received: Received[] = [];
  /** Every application of a command, in order: exactly-once means each (session, sequence) once. */
  readonly applied: { session: number; sequence: number; name: string }[] = [];
  /** Every publish sent, with the client's answer once it came. */
  readonly publishes: { request: Omit<PublishRequest, 'id' | 'type'>; index?: number }[] = [];
  readonly unregistered: number[] = [];
  leader: string | undefined;
  sessionTimeout: number;
  value = 0;
  private index = 0;
  private clients = 0;
  private readonly interceptors: Interceptor[] = [];
  private readonly publishInterceptors: PublishInterceptor[] = [];
  private readonly accepted = new Map<string, Connection[]>();

  private constructor(options: FakeClusterOptions) {
    this.scheduler = new SimulatedScheduler({ seed: options.seed ?? 1 });
    this.network = new LocalNetwork({
      scheduler: this.scheduler,
      connectTimeout: 300,
      ...(options.maxFrameSize !== undefined && { maxFrameSize: options.maxFrameSize }),
    });
    this.addresses = options.addresses ?? ['local:a', 'local:b', 'local:c'];
    this.sessionTimeout = options.sessionTimeout ?? 3000;
    this.leader = options.leader;
  }

  static async start(options: FakeClusterOptions = {}): Promise<FakeCluster> {
    const cluster = new FakeCluster(options);
    for (const address of cluster.addresses) await cluster.listen(address);
    return cluster;
  }

  /** A client on its own node of the network, on the cluster's scheduler. */
  client(options: Partial<RaftClientOptions> = {}): RaftClient {
    const n = ++this.clients;
    return new RaftClient({
      transport: this.network.transport(`local:client-${n}`),
      scheduler: this.scheduler,
      clientId: `client-${n}`,
      requestTimeout: 1000,
      ...options,
    });
  }

  /** Runs the simulation until `promise` settles; returns its value or throws its error. */
  run<T>(promise: Promise<T>, timeout = 120_000): Promise<T> {
    return this.scheduler.runUntilSettled(promise, { timeout });
  }

  /** Runs the simulation until `promise` settles; returns the error it rejected with. */
  async failure(promise: Promise<unknown>, timeout = 120_000): Promise<Error> {
    try {
      await this.run(promise, timeout);
    } catch (error) {
      return error as Error;
    }
    throw new Error('expected a rejection');
  }

  /** Runs the simulation for `ms` virtual milliseconds. */
  runFor(ms: number): Promise<void> {
    return this.scheduler.runFor(ms);
  }

  /** Adds an interceptor; returns a function that removes it. */
  intercept(interceptor: Interceptor): () => void {
    this.interceptors.push(interceptor);
    return () => void this.interceptors.splice(this.interceptors.indexOf(interceptor), 1);
  }

  /** Applies `fault` to the next `count` requests that `match` selects. */
  failNext(match: (request: Request, server: string) => boolean, fault: Fault, count = 1): void {
    let left = count;
    this.intercept((request, server) => {
      if (left === 0 || !match(request, server)) return undefined;
      left--;
      return fault;
    });
  }

  interceptPublish(interceptor: PublishInterceptor): void {
    this.publishInterceptors.push(interceptor);
  }

  /** The requests of `type` received, in order. */
  requests<K extends RequestType>(type: K): (Extract<Request, { type: K }> & { server: string })[] {
    return this.received
      .filter((r) => r.request.type === type)
      .map((r) => ({ ...(r.request as Extract<Request, { type: K }>), server: r.server }));
  }

  commands(): (CommandRequest & { server: string })[] {
    return this.requests(MessageType.command);
  }

  queries(): (QueryRequest & { server: string })[] {
    return this.requests(MessageType.query);
  }

  /** The cluster forgets the session (as if it expired in the log). */
  expire(session: number): void {
    this.sessions.delete(session);
  }

  /** Closes every connection the server at `address` accepted (the server keeps listening). */
  disconnect(address: string): void {
    for (const connection of this.accepted.get(address) ?? []) void connection.close();
  }

  /** An event batch for `session` raised by someone else's command (a new log index). */
  publish(session: number, events: readonly { name: string; message: unknown }[]): number {
    const index = ++this.index;
    this.raise(index, new Map([[session, events]]));
    return index;
  }

  private async listen(address: string): Promise<void> {
    await this.network
      .transport(address)
      .server()
      .listen(address, (connection) => {
        const list = this.accepted.get(address) ?? [];
        list.push(connection);
        this.accepted.set(address, list);
        for (const type of CLIENT_REQUESTS) {
          connection.handler(type, (request: Request) => this.handle(address, connection, request) as never);
        }
      });
  }

  private handle(server: string, connection: Connection, request: Request): unknown {
    this.received.push({ server, time: this.scheduler.now(), request });
    let fault: Fault | undefined;
    for (const interceptor of [...this.interceptors]) {
      fault = interceptor(request, server);
      if (fault !== undefined) break;
    }
    if (fault === undefined) return this.answer(connection, request);
    switch (fault.kind) {
      case 'close':
        void connection.close();
        return new Promise(() => {});
      case 'drop':
        return new Promise(() => {});
      case 'error': {
        const hints = {
          ...(fault.leader !== undefined && { leader: fault.leader }),
          ...(fault.lastSequence !== undefined && { lastSequence: fault.lastSequence }),
        };
        return errorResponse(errorFromCode(fault.code, `injected ${fault.code}`), hints);
      }
      case 'delay': {
        const answer = this.answer(connection, request);
        return new Promise((resolve) => this.scheduler.schedule(fault.ms, () => resolve(answer)));
      }
      case 'apply-then-close': {
        void Promise.resolve(this.answer(connection, request)).then(() => connection.close());
        return new Promise(() => {});
      }
    }
  }

  private withLeader(): { leader?: string } {
    return this.leader === undefined ? {} : { leader: this.leader };
  }

  private session(id: number): FakeSession {
    const session = this.sessions.get(id);
    if (session === undefined) throw new UnknownSessionError(`unknown session ${id}`);
    return session;
  }

  private answer(connection: Connection, request: Request): unknown {
    switch (request.type) {
      case MessageType.connect:
        return { status: 'ok', ...this.withLeader(), members: this.addresses };
      case MessageType.register: {
        const id = ++this.index;
        const timeout = request.timeout > 0 ? request.timeout : this.sessionTimeout;
        this.sessions.set(id, {
          id,
          client: request.client,
          timeout,
          connection,
          lastSequence: 0,
          results: new Map(),
          batches: [],
          lastBatchIndex: 0,
          keepAlives: [],
          waiters: [],
        });
        return { status: 'ok', session: id, ...this.withLeader(), members: this.addresses, timeout };
      }
      case MessageType.keepAlive: {
        const session = this.session(request.session);
        session.connection = connection;
        session.keepAlives.push({
          ...request,
          time: this.scheduler.now(),
          server: this.serverOf(connection),
        });
        for (const sequence of session.results.keys()) {
          if (sequence <= request.commandSequence) session.results.delete(sequence);
        }
        session.batches = session.batches.filter((batch) => batch.eventIndex > request.eventIndex);
        for (const batch of session.batches) this.send(session, batch, connection);
        return { status: 'ok', ...this.withLeader(), members: this.addresses };
      }
      case MessageType.unregister:
        this.session(request.session);
        this.sessions.delete(request.session);
        this.unregistered.push(request.session);
        return { status: 'ok' };
      case MessageType.command:
        return this.command(request);
      case MessageType.query:
        return this.query(request);
      case MessageType.reset: {
        const session = this.session(request.session);
        session.connection = connection;
        for (const batch of session.batches)
          if (batch.eventIndex > request.index) this.send(session, batch, connection);
        return { status: 'ok' };
      }
      default:
        throw new Error(`unexpected request ${request.type}`);
    }
  }

  private command(request: CommandRequest): unknown {
    const session = this.session(request.session);
    if (request.sequence <= session.lastSequence) {
      const cached = session.results.get(request.sequence);
      if (cached === undefined)
        throw new Error(`result of sequence ${request.sequence} was already acknowledged`);
      return cached;
    }
    if (request.sequence > session.lastSequence + 1) {
      return errorResponse(errorFromCode('COMMAND_FAILURE', 'sequence gap'), {
        lastSequence: session.lastSequence,
      });
    }
    const operation = decodeOperation<Record<string, unknown>>(this.serializer, request.operation);
    const index = ++this.index;
    session.lastSequence = request.sequence;
    this.applied.push({ session: session.id, sequence: request.sequence, name: operation.name });
    const raised = new Map<number, { name: string; message: unknown }[]>();
    let answer: Answer;
    // As the real server does: the answer carries the session's event index before this command,
    // so the client observes the command's result, then the events it raised (INTERNALS.md).
    const eventIndex = session.lastBatchIndex;
    try {
      const result = this.apply(operation.name, operation.args, session.id, raised);
      this.raise(index, raised);
      answer = {
        status: 'ok',
        index,
        eventIndex,
        result: this.serializer.encode(result),
      };
    } catch (error) {
      answer = errorResponse(new ApplicationError((error as Error).message));
    }
    session.results.set(request.sequence, answer);
    for (const wake of session.waiters.splice(0)) wake();
    return answer;
  }

  private apply(
    name: string,
    args: Record<string, unknown> | undefined,
    session: number,
    raised: Map<number, { name: string; message: unknown }[]>,
  ): unknown {
    switch (name) {
      case 'add':
        this.value += (args?.by as number | undefined) ?? 1;
        return this.value;
      case 'echo':
        return args;
      case 'fail':
        throw new Error('the state machine refused');
      case 'publish': {
        // args: { events: [{ name, message, to? }] }: events for `to` (default: the caller).
        for (const event of args?.events as { name: string; message: unknown; to?: number }[]) {
          const to = event.to ?? session;
          const list = raised.get(to) ?? [];
          list.push({ name: event.name, message: event.message });
          raised.set(to, list);
        }
        return 'published';
      }
      default:
        throw new Error(`unknown command ${name}`);
    }
  }

  private async query(request: QueryRequest): Promise<unknown> {
    const session = this.session(request.session);
    // Evaluated only after the session's commands up to `sequence` (INTERNALS.md: Queries).
    while (session.lastSequence < request.sequence) {
      await new Promise<void>((resolve) => session.waiters.push(resolve));
    }
    const operation = decodeOperation(this.serializer, request.operation);
    const result = operation.name === 'get' ? this.value : operation.args;
    return {
      status: 'ok',
      index: this.index,
      eventIndex: session.lastBatchIndex,
      result: this.serializer.encode(result),
    };
  }

  /** Makes one batch per session of the events raised at `index`, and sends it. */
  private raise(index: number, raised: Map<number, readonly { name: string; message: unknown }[]>): void {
    for (const [id, events] of raised) {
      const session = this.sessions.get(id);
      if (session === undefined) continue;
      const batch: Batch = {
        eventIndex: index,
        previousIndex: session.lastBatchIndex,
        events: events.map((event) => ({ name: event.name, message: this.serializer.encode(event.message) })),
      };
      session.lastBatchIndex = index;
      session.batches.push(batch);
      if (session.connection !== undefined) this.send(session, batch, session.connection);
    }
  }

  private send(session: FakeSession, batch: Batch, connection: Connection): void {
    const body = { session: session.id, ...batch };
    let fault: PublishFault | undefined;
    for (const interceptor of this.publishInterceptors) {
      fault = interceptor({ type: MessageType.publish, id: 0, ...body });
      if (fault !== undefined) break;
    }
    const transmit = () => {
      if (connection.closed) return;
      const record: { request: typeof body; index?: number } = { request: body };
      this.publishes.push(record);
      connection.send({ type: MessageType.publish, ...body }).then(
        (response) => {
          if (response.status === 'ok') record.index = response.index;
        },
        () => {},
      );
    };
    if (fault === 'drop') return;
    if (fault === 'duplicate') {
      transmit();
      transmit();
    } else if (fault !== undefined) {
      this.scheduler.schedule(fault.delay, transmit);
    } else {
      transmit();
    }
  }

  private serverOf(connection: Connection): string {
    for (const [address, list] of this.accepted) if (list.includes(connection)) return address;
    return 'unknown';
  }
}
