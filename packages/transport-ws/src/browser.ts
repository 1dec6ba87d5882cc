/**
 * The browser build of @copycat/transport-ws: the same `WebSocketTransport`, client side only,
 * on the platform's native `WebSocket`. It must never import `ws` or a `node:` module (a bundle
 * test checks).
 */
import { ConfigurationError } from '@copycat/common';
import { type Transport, type TransportServer } from '@copycat/protocol';
import { dialBrowser } from './browser/dial.js';
import { WebSocketTransportClient } from './client.js';
import { resolveOptions, type Settings, type WebSocketTransportOptions } from './options.js';

export class WebSocketTransport implements Transport {
  private readonly settings: Settings;

  constructor(options: WebSocketTransportOptions = {}) {
    this.settings = resolveOptions(options);
  }

  client(): WebSocketTransportClient {
    // Browsers cannot set headers: the auth token goes in the URL.
    return new WebSocketTransportClient(this.settings, dialBrowser, true);
  }

  server(): TransportServer {
    throw new ConfigurationError(
      'browsers cannot listen for connections: WebSocketTransport.server() needs Node',
    );
  }
}

export type { WebSocketTransportClient } from './client.js';
export type { WebSocketConnection } from './connection.js';
export type { Pem, TlsOptions, WebSocketTransportOptions } from './options.js';
export { CloseCode } from './close-codes.js';
