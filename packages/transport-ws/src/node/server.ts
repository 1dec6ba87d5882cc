import { createServer as createHttpServer, type IncomingMessage, type Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { type Duplex } from 'node:stream';
import { ConfigurationError, ConnectionError } from '@copycat/common';
import { PROTOCOL_VERSION, encodeFrame, type Connection, type TransportServer } from '@copycat/protocol';
import { WebSocketServer, type WebSocket } from 'ws';
import { CloseCode, closeReason } from '../close-codes.js';
import { WebSocketConnection } from '../connection.js';
import { type Settings } from '../options.js';
import { presentedToken, tokensMatch } from './auth.js';
import { nodeSocket } from './socket.js';

const HELLO = encodeFrame([]);
/** How long `close()` waits for peers to finish the closing handshake, ms. */
const CLOSE_GRACE = 1000;

/** `host:port` (or `[v6]:port`, or a `ws://` URL) to listen at. */
export function parseListenAddress(address: string): { host: string; port: number } {
  const url = /^wss?:\/\//i.test(address) ? new URL(address) : new URL(`ws://${address}`);
  const port = Number(url.port);
  if (url.port === '' || !Number.isInteger(port) || port < 0 || port > 65535) {
    throw new ConfigurationError(`cannot listen at ${JSON.stringify(address)}: expected host:port`);
  }
  return { host: url.hostname.replace(/^\[(.*)\]$/, '$1'), port };
}

/**
 * A WebSocket server on Node (`ws` over `http` or `https`). A connection is accepted only after
 * its protocol version and auth token are checked; a refused one is closed with a code the
 * client maps to `PROTOCOL_ERROR` or `UNAUTHORIZED`, before any of its messages is read.
 */
export class WebSocketTransportServer implements TransportServer {
  private http: Server | undefined;
  private readonly wss: WebSocketServer;
  private readonly sockets = new Set<WebSocket>();
  private readonly connections = new Set<WebSocketConnection>();
  private closing = false;
  private bound: string | undefined;

  constructor(private readonly settings: Settings) {
    this.wss = new WebSocketServer({
      noServer: true,
      maxPayload: settings.maxFrameSize,
      perMessageDeflate: false,
      clientTracking: false,
    });
  }

  async listen(address: string, onConnection: (connection: Connection) => void): Promise<void> {
    if (this.http !== undefined || this.closing)
      throw new ConfigurationError('this server is already listening or closed');
    const { host, port } = parseListenAddress(address);
    const http = this.createHttpServer();
    http.on('request', (_request, response) => {
      response
        .writeHead(426, { 'content-type': 'text/plain', upgrade: 'websocket' })
        .end('Copycat speaks WebSocket here\n');
    });
    http.on('upgrade', (request: IncomingMessage, socket: Duplex, head: Buffer) => {
      socket.on('error', () => {}); // a peer resetting mid-handshake must not crash the process
      if (this.closing) {
        socket.destroy();
        return;
      }
      this.wss.handleUpgrade(request, socket, head, (ws) => this.accept(ws, request, onConnection));
    });
    http.on('clientError', (_error, socket: Duplex) => socket.destroy());
    await new Promise<void>((resolve, reject) => {
      const failed = (error: Error) =>
        reject(new ConnectionError(`cannot listen at ${address}: ${error.message}`, { cause: error }));
      http.once('error', failed);
      http.listen(port, host, () => {
        http.off('error', failed);
        resolve();
      });
    });
    http.on('error', () => {}); // after listening, errors concern single connections
    this.http = http;
    const bound = http.address();
    if (bound !== null && typeof bound === 'object') {
      this.bound = `${bound.family === 'IPv6' ? `[${bound.address}]` : bound.address}:${bound.port}`;
    }
  }

  /** `host:port` the server listens at (with the port the system chose, if it was 0), once listening. */
  get address(): string | undefined {
    return this.bound;
  }

  async close(): Promise<void> {
    this.closing = true;
    const http = this.http;
    this.http = undefined;
    const closed =
      http === undefined ? Promise.resolve() : new Promise<void>((resolve) => http.close(() => resolve()));
    await Promise.all([...this.connections].map((connection) => connection.close()));
    // Sockets refused at the handshake may still be finishing theirs.
    for (const ws of this.sockets) ws.terminate();
    http?.closeAllConnections();
    const grace = this.settings.scheduler.schedule(CLOSE_GRACE, () => http?.closeAllConnections());
    await closed;
    grace.cancel();
  }

  private createHttpServer(): Server {
    const tls = this.settings.tls;
    if (tls === undefined) return createHttpServer();
    if (tls.key === undefined || tls.cert === undefined) {
      throw new ConfigurationError('a TLS server needs tls.key and tls.cert');
    }
    type PemList = string | Buffer | (string | Buffer)[];
    return createHttpsServer({
      key: tls.key as PemList,
      cert: tls.cert as PemList,
      ...(tls.ca === undefined ? {} : { ca: tls.ca as PemList }),
    });
  }

  private accept(
    ws: WebSocket,
    request: IncomingMessage,
    onConnection: (connection: Connection) => void,
  ): void {
    const socket = nodeSocket(ws); // listens for errors before anything else can happen
    this.sockets.add(ws);
    ws.once('close', () => this.sockets.delete(ws));
    const url = new URL(request.url ?? '/', 'ws://localhost');
    const version = url.searchParams.get('v');
    if (version !== String(PROTOCOL_VERSION)) {
      const shown = version === null ? '(none)' : JSON.stringify(version.slice(0, 16));
      this.refuse(
        ws,
        CloseCode.unsupportedVersion,
        `unsupported protocol version ${shown}; this server speaks ${PROTOCOL_VERSION}`,
      );
      return;
    }
    const token = this.settings.authToken;
    if (token !== undefined && !tokensMatch(presentedToken(request, url), token)) {
      this.refuse(ws, CloseCode.unauthorized, 'UNAUTHORIZED: wrong or missing auth token');
      return;
    }
    if (this.closing) {
      this.refuse(ws, CloseCode.goingAway, 'the server is closing');
      return;
    }
    socket.send(HELLO);
    const connection = new WebSocketConnection(socket, this.settings);
    this.connections.add(connection);
    connection.onClose(() => this.connections.delete(connection));
    onConnection(connection);
  }

  /** Closes a connection refused at the handshake; drops it if the client does not finish closing. */
  private refuse(ws: WebSocket, code: number, reason: string): void {
    ws.close(code, closeReason(reason));
    const drop = this.settings.scheduler.schedule(CLOSE_GRACE, () => ws.terminate());
    ws.once('close', () => drop.cancel());
  }
}
