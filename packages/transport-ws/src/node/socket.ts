import { ConnectionError, FrameTooLargeError, type CopycatError } from '@copycat/common';
import { type RawData, type WebSocket } from 'ws';
import { closeReason } from '../close-codes.js';
import { type FrameSocket, type SocketSink } from '../socket.js';

/** Adapts a `ws` WebSocket (client or server side). */
export function nodeSocket(ws: WebSocket): FrameSocket {
  let sink: SocketSink | undefined;
  let failure: CopycatError | undefined;
  // Always listen for errors: an unhandled 'error' event would crash the process.
  ws.on('error', (error: Error & { code?: string }) => {
    failure ??=
      error.code === 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH'
        ? new FrameTooLargeError(`refused an incoming frame over the size limit: ${error.message}`)
        : new ConnectionError(error.message, { cause: error });
  });
  ws.on('message', (data: RawData, isBinary: boolean) => {
    if (!isBinary) sink?.text();
    else sink?.frame(toBytes(data));
  });
  ws.on('close', (code: number, reason: Buffer) => sink?.closed(code, reason.toString(), failure));
  return {
    send: (frame) => ws.send(frame),
    get bufferedAmount() {
      return ws.bufferedAmount;
    },
    close: (code, reason) => ws.close(code, closeReason(reason)),
    terminate: () => ws.terminate(),
    attach: (next) => void (sink = next),
  };
}

/**
 * A plain `Uint8Array` view of what `ws` delivers (no copy). Not a `Buffer`: decoded byte fields
 * are views into the frame, and they should be the same type on Node as in browsers.
 */
function toBytes(data: RawData): Uint8Array {
  const buffer = Array.isArray(data) ? Buffer.concat(data) : data;
  return buffer instanceof ArrayBuffer
    ? new Uint8Array(buffer)
    : new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.length);
}
