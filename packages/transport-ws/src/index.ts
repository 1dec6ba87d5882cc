export { WebSocketTransport } from './transport.js';
export type { WebSocketTransportClient } from './client.js';
export type { WebSocketTransportServer } from './node/server.js';
export type { WebSocketConnection } from './connection.js';
export type { Pem, TlsOptions, WebSocketTransportOptions } from './options.js';
export { CloseCode } from './close-codes.js';
