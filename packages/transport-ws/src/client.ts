import { ClosedError, ConnectionError, ProtocolError, type CopycatError } from '@copycat/common';
import { decodeFrame, type TransportClient } from '@copycat/protocol';
import { CloseCode, closeError } from './close-codes.js';
import { WebSocketConnection } from './connection.js';
import { type Settings } from './options.js';
import { type Dialer } from './socket.js';
import { clientUrl } from './url.js';

/**
 * Opens WebSocket connections. `connect` resolves once the server's hello frame arrives (a frame
 * of just the protocol version, `[1]`): the server sends it only after the auth token and the version
 * passed, so a refused client sees `connect` reject, with `UNAUTHORIZED` or `PROTOCOL_ERROR`.
 */
export class WebSocketTransportClient implements TransportClient {
  private readonly connections = new Set<WebSocketConnection>();
  private closed = false;

  constructor(
    private readonly settings: Settings,
    private readonly dial: Dialer,
    /** Whether the token travels in the URL (browsers cannot set headers). */
    private readonly tokenInUrl: boolean,
  ) {}

  connect(address: string): Promise<WebSocketConnection> {
    const { settings } = this;
    if (this.closed) return Promise.reject(new ClosedError('this client is closed'));
    let url: string;
    try {
      url = clientUrl(address, {
        secure: settings.tls !== undefined,
        token: this.tokenInUrl ? settings.authToken : undefined,
      });
    } catch (error) {
      return Promise.reject(
        new ConnectionError(`invalid address ${JSON.stringify(address)}`, { cause: error }),
      );
    }
    return new Promise<WebSocketConnection>((resolve, reject) => {
      let settled = false;
      const fail = (error: CopycatError) => {
        if (settled) return;
        settled = true;
        timer.cancel();
        reject(error);
      };
      const socket = this.dial(url, settings);
      const timer = settings.scheduler.schedule(settings.connectTimeout, () => {
        fail(new ConnectionError(`connecting to ${address} timed out after ${settings.connectTimeout} ms`));
        socket.terminate();
      });
      socket.attach({
        frame: (bytes) => {
          if (settled) return;
          const hello = decodeFrame(bytes);
          if (hello.errors.length > 0 || hello.messages.length > 0) {
            const reason = `${address} did not say hello: ${hello.errors[0]?.message ?? 'it sent messages first'}`;
            socket.close(CloseCode.unsupportedVersion, reason);
            fail(new ProtocolError(reason));
            return;
          }
          settled = true;
          timer.cancel();
          if (this.closed) {
            // The client was closed while this connection was being set up.
            socket.close(CloseCode.goingAway, 'client closed');
            reject(new ClosedError('the client was closed while connecting'));
            return;
          }
          const connection = new WebSocketConnection(socket, settings);
          this.connections.add(connection);
          connection.onClose(() => this.connections.delete(connection));
          resolve(connection);
        },
        text: () => {
          socket.close(CloseCode.protocolError, 'expected a binary hello');
          fail(new ProtocolError(`${address} is not a Copycat server: it sent text`));
        },
        closed: (code, reason, error) => {
          const cause = error ?? closeError(code, reason);
          fail(
            cause.code === 'CONNECTION_ERROR'
              ? new ConnectionError(`cannot connect to ${address}: ${cause.message}`)
              : cause,
          );
        },
      });
    });
  }

  /** Closes every connection it opened; `connect` fails with `ClosedError` afterwards. */
  async close(): Promise<void> {
    this.closed = true;
    await Promise.all([...this.connections].map((connection) => connection.close()));
  }
}
