import { ConnectionError, type Logger } from '@copycat/common';
import type { Connection, TransportClient } from '@copycat/protocol';
import type { MemberType, MemberStatus } from '../cluster/configuration.js';
import type { RaftRequest, RaftResponseFor } from '../raft/messages.js';
import type { PeerPort } from '../raft/ports.js';
import type { EntryCodec } from './entry-codec.js';
import { fromWireResponse, toWire } from './wire.js';

export interface PeerPoolOptions {
  client: TransportClient;
  codec: EntryCodec;
  logger: Logger;
  /** Per-request timeout in ms (the leader's heartbeats must fail well within an election timeout). */
  requestTimeout: number;
  /** The member's current type and status, to fill in wire fields the core does not carry. */
  member: (address: string) => { type: MemberType; status: MemberStatus } | undefined;
}

/**
 * Connections to the other servers, one per address, opened on first use and reopened after
 * they close. A failed connect or a dropped connection fails that request (the core retries on
 * its own schedule: heartbeats, election timers), so nothing here loops.
 */
export class PeerPool implements PeerPort {
  private readonly connections = new Map<string, Promise<Connection>>();
  private closed = false;

  constructor(private readonly options: PeerPoolOptions) {}

  private connection(address: string): Promise<Connection> {
    if (this.closed) return Promise.reject(new ConnectionError('server is shutting down'));
    let connection = this.connections.get(address);
    if (connection === undefined) {
      connection = this.options.client.connect(address).then(
        (opened) => {
          opened.onClose(() => {
            if (this.connections.get(address) === connection) this.connections.delete(address);
          });
          return opened;
        },
        (error: unknown) => {
          this.connections.delete(address);
          throw error;
        },
      );
      this.connections.set(address, connection);
    }
    return connection;
  }

  async send<R extends RaftRequest>(to: string, request: R): Promise<RaftResponseFor<R>> {
    const connection = await this.connection(to);
    const wire = toWire(request, this.options.codec, this.options.member);
    const response = await connection.send(wire, { timeout: this.options.requestTimeout });
    return fromWireResponse(request, response) as RaftResponseFor<R>;
  }

  async close(): Promise<void> {
    this.closed = true;
    const pending = [...this.connections.values()];
    this.connections.clear();
    await Promise.allSettled(pending.map(async (c) => (await c).close()));
  }
}
