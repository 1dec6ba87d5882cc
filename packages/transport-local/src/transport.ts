import { ClosedError, ConfigurationError } from '@copycat/common';
import {
  type Connection,
  type Transport,
  type TransportClient,
  type TransportServer,
} from '@copycat/protocol';
import { LocalConnection } from './connection.js';
import { type Acceptor, type Fabric } from './fabric.js';
import { type Port } from './port.js';

/** Makes a connection end and hands back its port for wiring. */
export function connectionEnd(
  fabric: Fabric,
  local: string,
  remote: string,
): { end: LocalConnection; port: Port } {
  let port: Port | undefined;
  const end = new LocalConnection(fabric, local, remote, (p) => (port = p));
  return { end, port: port! };
}

/** A `Transport` bound to one node address of a `LocalNetwork`: link faults apply per (from, to). */
export class LocalTransport implements Transport {
  /** Made by `LocalNetwork.transport(address)`. */
  constructor(
    private readonly fabric: Fabric,
    readonly address: string,
  ) {}

  client(): LocalClient {
    return new LocalClient(this.fabric, this.address);
  }

  server(): LocalServer {
    return new LocalServer(this.fabric);
  }
}

/** Opens connections that originate from its node's address. */
export class LocalClient implements TransportClient {
  private readonly connections = new Set<LocalConnection>();
  private closed = false;

  constructor(
    private readonly fabric: Fabric,
    private readonly address: string,
  ) {}

  async connect(address: string): Promise<LocalConnection> {
    if (this.closed) throw new ClosedError('this client is closed');
    const connection = await this.fabric.open(this.address, address, (local, remote) =>
      connectionEnd(this.fabric, local, remote),
    );
    if (this.closed) {
      // The client was closed while this connection was being set up.
      await connection.close();
      throw new ClosedError('the client was closed while connecting');
    }
    this.connections.add(connection);
    connection.onClose(() => this.connections.delete(connection));
    return connection;
  }

  /** Closes every connection it opened; `connect` fails with `ClosedError` afterwards. */
  async close(): Promise<void> {
    this.closed = true;
    await Promise.all([...this.connections].map((connection) => connection.close()));
  }
}

/** Listens at an address of the network. */
export class LocalServer implements TransportServer {
  private address: string | undefined;
  private readonly connections = new Set<LocalConnection>();
  private readonly acceptor: Acceptor;
  private onConnection: ((connection: Connection) => void) | undefined;

  constructor(private readonly fabric: Fabric) {
    this.acceptor = {
      accept: (from) => {
        const { end, port } = connectionEnd(this.fabric, this.address!, from);
        this.connections.add(end);
        end.onClose(() => this.connections.delete(end));
        return { port, accepted: () => this.onConnection?.(end) };
      },
      crashed: () => {
        this.address = undefined;
        this.onConnection = undefined;
        this.connections.clear();
      },
    };
  }

  async listen(address: string, onConnection: (connection: Connection) => void): Promise<void> {
    if (this.address !== undefined)
      throw new ConfigurationError(`this server already listens at ${this.address}`);
    this.fabric.listen(address, this.acceptor);
    this.address = address;
    this.onConnection = onConnection;
  }

  async close(): Promise<void> {
    if (this.address !== undefined) this.fabric.unlisten(this.address, this.acceptor);
    this.address = undefined;
    await Promise.all([...this.connections].map((connection) => connection.close()));
  }
}
