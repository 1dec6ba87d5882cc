import { ClosedError, ConfigurationError, type Logger, type Scheduler } from '@copycat/common';
import {
  MessageType,
  asCopycatError,
  responseError,
  type Connection,
  type Transport,
  type TransportClient,
} from '@copycat/protocol';
import { type ConnectionStrategy } from './options.js';
import { ServerSelector } from './server-selector.js';

export interface ConnectionManagerOptions {
  readonly transport: Transport;
  readonly clientId: string;
  readonly strategy: ConnectionStrategy;
  readonly scheduler: Scheduler;
  readonly requestTimeout: number;
  readonly logger: Logger;
  /** Called for every connection opened, before anything is sent on it: install handlers here. */
  readonly prepare: (connection: Connection, address: string) => void;
}

export interface OpenConnection {
  readonly connection: Connection;
  readonly address: string;
}

/**
 * Opens connections to the cluster: picks a server by the connection strategy (skipping the one
 * that failed last), says `connect`, and learns the leader and the members from the answer.
 * It remembers the members and the leader as last learned from any response.
 */
export class ConnectionManager {
  private readonly selector: ServerSelector;
  private memberList: readonly string[] = [];
  private knownLeader: string | undefined;
  private client: TransportClient | undefined;
  private closed = false;
  private failed: string | undefined;
  private target: string | undefined;
  /** A leader this client could not reach: not worth moving to until another leader is known. */
  private unreachableLeader: string | undefined;

  constructor(private readonly options: ConnectionManagerOptions) {
    this.selector = new ServerSelector(options.strategy, options.scheduler);
  }

  get members(): readonly string[] {
    return this.memberList;
  }

  get leader(): string | undefined {
    return this.knownLeader;
  }

  /** Replaces the members the client connects to. */
  setMembers(members: readonly string[]): void {
    if (members.length === 0) throw new ConfigurationError('members must list at least one address');
    this.memberList = Object.freeze([...members]);
  }

  /** Updates the leader and members from a response; an empty member list is ignored. */
  learn(leader: string | undefined, members?: readonly string[]): void {
    if (leader !== undefined && leader !== this.knownLeader) {
      this.knownLeader = leader;
      this.unreachableLeader = undefined;
    }
    if (members !== undefined && members.length > 0) this.memberList = Object.freeze([...members]);
  }

  /** A server said there is no leader it knows. */
  forgetLeader(): void {
    this.knownLeader = undefined;
  }

  /** The server at `address` failed: the next connection goes elsewhere if there is another choice. */
  markFailed(address: string): void {
    this.failed = address;
    if (this.target === address) this.target = undefined;
    if (address === this.knownLeader) this.unreachableLeader = address;
  }

  /**
   * With `prefer-leader`: the leader, when one is known, is not `address` (where the client is
   * connected) and did not fail to answer this client; else undefined.
   */
  leaderToMoveTo(address: string | undefined): string | undefined {
    const leader = this.knownLeader;
    if (this.options.strategy !== 'prefer-leader' || leader === undefined) return undefined;
    return leader === address || leader === this.unreachableLeader ? undefined : leader;
  }

  /** The next connection goes to `address` (a leader hint). */
  preferNext(address: string): void {
    this.target = address;
  }

  /** A session is up: forget the last failure. */
  succeeded(): void {
    this.failed = undefined;
  }

  /**
   * Opens a connection to the next server and says `connect`. With `prefer-leader`, when the
   * answer names a leader other than this server, it moves to the leader once. Rejects (with the
   * failed server remembered) if the server cannot be reached or refuses.
   */
  async open(): Promise<OpenConnection> {
    const address = this.target ?? this.selector.select(this.memberList, this.knownLeader, this.failed);
    this.target = undefined;
    const first = await this.openAt(address);
    const leader = this.leaderToMoveTo(address);
    if (leader === undefined) return first;
    this.options.logger.debug('moving to the leader', { from: address, leader });
    try {
      const moved = await this.openAt(leader);
      void first.connection.close();
      return moved;
    } catch (error) {
      // The leader cannot be reached from here: the first server forwards for us.
      if (!first.connection.closed) return first;
      throw error;
    }
  }

  private async openAt(address: string): Promise<OpenConnection> {
    let connection: Connection;
    try {
      if (this.closed) throw new ClosedError('the client is closed');
      this.client ??= this.options.transport.client();
      connection = await this.client.connect(address);
    } catch (error) {
      this.markFailed(address);
      throw asCopycatError(error);
    }
    this.options.prepare(connection, address);
    try {
      const response = await connection.send(
        { type: MessageType.connect, client: this.options.clientId },
        { timeout: this.options.requestTimeout },
      );
      if (response.status === 'error') {
        this.learn(response.leader);
        throw responseError(response);
      }
      this.learn(response.leader, response.members);
      return { connection, address };
    } catch (error) {
      this.markFailed(address);
      void connection.close();
      throw asCopycatError(error);
    }
  }

  /** Closes every connection it opened; `open` fails afterwards. */
  async close(): Promise<void> {
    this.closed = true;
    await this.client?.close();
  }
}
