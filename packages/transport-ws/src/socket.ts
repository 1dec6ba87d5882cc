/**
 * The little the connection needs from a WebSocket, so that the same connection code runs on
 * Node's `ws` and on a browser's native `WebSocket`.
 */
import { type CopycatError } from '@copycat/common';
import { type Settings } from './options.js';

/** Where a socket reports what happens to it. */
export interface SocketSink {
  /** A binary message arrived. */
  frame(bytes: Uint8Array): void;
  /** A text message arrived (not part of the protocol). */
  text(): void;
  /** The socket closed; `error` is what this side saw go wrong, if anything (e.g. an oversized frame). */
  closed(code: number, reason: string, error: CopycatError | undefined): void;
}

export interface FrameSocket {
  /** Sends one binary message. */
  send(frame: Uint8Array): void;
  /** Bytes accepted by `send` but not yet written to the network. */
  readonly bufferedAmount: number;
  /** Starts the closing handshake. */
  close(code: number, reason: string): void;
  /** Drops the connection at once (no handshake); where the platform cannot, same as `close`. */
  terminate(): void;
  /** Routes the socket's events to `sink` from now on. */
  attach(sink: SocketSink): void;
}

/** Opens a client socket to `url` (not yet open: events tell). */
export type Dialer = (url: string, settings: Settings) => FrameSocket;
