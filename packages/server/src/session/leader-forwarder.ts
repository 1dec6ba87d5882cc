import { NoLeaderError, type Logger } from '@copycat/common';
import type { Connection, OutgoingRequest, SendOptions, TransportClient } from '@copycat/protocol';

/** `Connection.send` without its per-type response mapping (too complex for the checker here). */
type UntypedSend = (request: OutgoingRequest, options: SendOptions) => Promise<unknown>;

/**
 * Forwards client requests from the server a client is connected to, to the leader, over one
 * connection per leader address (INTERNALS.md, Client sessions). These connections never send
 * `connect`, so the leader does not mistake them for client connections.
 */
export class LeaderForwarder {
  private readonly links = new Map<string, Promise<Connection>>();
  private closed = false;

  constructor(
    private readonly client: TransportClient,
    private readonly requestTimeout: number,
    private readonly logger: Logger,
  ) {}

  /** Sends `request` to the leader and resolves with its response (ok or error) as it came. */
  async send(leader: string, request: OutgoingRequest): Promise<unknown> {
    const connection = await this.link(leader);
    const send = connection.send.bind(connection) as UntypedSend;
    return send(request, { timeout: this.requestTimeout });
  }

  private link(address: string): Promise<Connection> {
    if (this.closed) return Promise.reject(new NoLeaderError('server is shutting down'));
    let link = this.links.get(address);
    if (link === undefined) {
      link = this.client.connect(address).then(
        (connection) => {
          connection.onClose(() => {
            if (this.links.get(address) === link) this.links.delete(address);
          });
          return connection;
        },
        (error: unknown) => {
          this.links.delete(address);
          this.logger.debug('cannot reach the leader to forward', { leader: address, error });
          throw new NoLeaderError(`cannot reach the leader ${address}`, { cause: error });
        },
      );
      this.links.set(address, link);
    }
    return link;
  }

  async close(): Promise<void> {
    this.closed = true;
    const links = [...this.links.values()];
    this.links.clear();
    await Promise.allSettled(links.map(async (link) => (await link).close()));
  }
}
