import { type Transport } from '@copycat/protocol';
import { WebSocketTransportClient } from './client.js';
import { dialNode } from './node/dial.js';
import { WebSocketTransportServer } from './node/server.js';
import { resolveOptions, type Settings, type WebSocketTransportOptions } from './options.js';

/**
 * The WebSocket transport for Node: servers on `ws` over `http`/`https`, clients on `ws`.
 * Browsers get a client-only build of the same class (the package's `browser` export).
 *
 * ```ts
 * const transport = new WebSocketTransport({ authToken: process.env.COPYCAT_TOKEN });
 * ```
 */
export class WebSocketTransport implements Transport {
  private readonly settings: Settings;

  constructor(options: WebSocketTransportOptions = {}) {
    this.settings = resolveOptions(options);
  }

  client(): WebSocketTransportClient {
    return new WebSocketTransportClient(this.settings, dialNode, false);
  }

  server(): WebSocketTransportServer {
    return new WebSocketTransportServer(this.settings);
  }
}
