import { ConfigurationError, ConnectionError } from '@copycat/common';
import { CloseCode, closeReason } from '../close-codes.js';
import { type Dialer, type FrameSocket, type SocketSink } from '../socket.js';

/** The part of the browser's `WebSocket` this transport uses (the project compiles without DOM types). */
interface BrowserWebSocket {
  binaryType: string;
  readonly bufferedAmount: number;
  send(data: Uint8Array): void;
  close(code?: number, reason?: string): void;
  onmessage: ((event: { data: unknown }) => void) | null;
  onclose: ((event: { code: number; reason: string }) => void) | null;
  onerror: ((event: unknown) => void) | null;
}

type BrowserWebSocketClass = new (url: string) => BrowserWebSocket;

/** Browsers may only send 1000 and 3000-4999 (the others throw): 1009 is sent as its 4009 twin. */
function browserCloseCode(code: number): number {
  if (code === CloseCode.tooBig) return CloseCode.tooBigFromBrowser;
  return code === 1000 || (code >= 3000 && code <= 4999) ? code : 1000;
}

/**
 * Dials with the platform's native `WebSocket`. Browsers cannot set headers, so the auth token
 * travels in the URL (see `clientUrl`), and they cannot cap incoming frames before reading them,
 * so the connection checks sizes on arrival.
 */
export const dialBrowser: Dialer = (url) => {
  const WebSocketClass = (globalThis as { WebSocket?: BrowserWebSocketClass }).WebSocket;
  if (WebSocketClass === undefined) {
    throw new ConfigurationError(
      'this platform has no global WebSocket: on Node, import the Node build of @copycat/transport-ws',
    );
  }
  const ws = new WebSocketClass(url);
  ws.binaryType = 'arraybuffer';
  let sink: SocketSink | undefined;
  let failed = false;
  ws.onmessage = (event) => {
    if (typeof event.data === 'string') sink?.text();
    else if (event.data instanceof ArrayBuffer) sink?.frame(new Uint8Array(event.data));
    else sink?.text();
  };
  // Browsers give no detail on errors on purpose; the close event that follows has the code.
  ws.onerror = () => void (failed = true);
  ws.onclose = (event) =>
    sink?.closed(
      event.code,
      event.reason,
      failed && event.code === 1006 ? new ConnectionError('the WebSocket failed (code 1006)') : undefined,
    );
  const socket: FrameSocket = {
    send: (frame) => ws.send(frame),
    get bufferedAmount() {
      return ws.bufferedAmount;
    },
    close: (code, reason) => ws.close(browserCloseCode(code), closeReason(reason)),
    terminate: () => ws.close(),
    attach: (next) => void (sink = next),
  };
  return socket;
};
