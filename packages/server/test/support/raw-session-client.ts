// A bare client of the session protocol for server tests: it sends the wire messages itself, so
// tests can make duplicates, gaps and silences that a real RaftClient would never produce.
import { Serializer } from '@copycat/io';
import {
  MessageType,
  encodeOperation,
  type Connection,
  type OutgoingRequest,
  type PublishRequest,
  type ResponseFor,
} from '@copycat/protocol';
import type { RealCluster } from './real-cluster.js';

export class RawSessionClient {
  readonly serializer = new Serializer();
  readonly published: PublishRequest[] = [];
  session = 0;
  private nextSequence = 0;

  private constructor(
    private readonly cluster: RealCluster,
    readonly connection: Connection,
  ) {
    connection.handler(MessageType.publish, (request) => {
      this.published.push(request);
      return { status: 'ok', index: request.eventIndex };
    });
  }

  /** Connects `name` (a network address of its own) to `server` and sends `connect`. */
  static async open(cluster: RealCluster, name: string, server: string): Promise<RawSessionClient> {
    const connection = await cluster.scheduler.runUntilSettled(
      cluster.network.transport(name).client().connect(server),
    );
    const client = new RawSessionClient(cluster, connection);
    await client.call({ type: MessageType.connect, client: name });
    return client;
  }

  /** Sends a request and runs the simulation until its response arrives. */
  call<R extends OutgoingRequest>(request: R): Promise<ResponseFor<R>> {
    return this.cluster.scheduler.runUntilSettled(this.connection.send(request, { timeout: 5_000 }));
  }

  /** Sends without waiting (the caller runs the simulation). */
  start<R extends OutgoingRequest>(request: R): Promise<ResponseFor<R>> {
    return this.connection.send(request, { timeout: 5_000 });
  }

  async register(timeout = 0): Promise<number> {
    const response = await this.call({ type: MessageType.register, client: 'raw', timeout });
    if (response.status !== 'ok') throw new Error(`register failed: ${response.error.message}`);
    this.session = response.session;
    return response.session;
  }

  command(name: string, args: unknown, sequence = ++this.nextSequence) {
    return {
      type: MessageType.command,
      session: this.session,
      sequence,
      operation: encodeOperation(this.serializer, { name, args }),
      compaction: 'release',
    } as const;
  }

  query(
    name: string,
    args: unknown,
    consistency: 'linearizable' | 'lease' | 'sequential',
    index = 0,
    sequence = 0,
  ) {
    return {
      type: MessageType.query,
      session: this.session,
      sequence,
      index,
      operation: encodeOperation(this.serializer, { name, args }),
      consistency,
    } as const;
  }

  keepAlive(commandSequence: number, eventIndex: number) {
    return { type: MessageType.keepAlive, session: this.session, commandSequence, eventIndex } as const;
  }

  decode(bytes: Uint8Array): unknown {
    return this.serializer.decode(bytes);
  }
}
