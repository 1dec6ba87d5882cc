/**
 * The transport interfaces. Servers and clients receive a `Transport` as an argument and never
 * import an implementation (README.md: layers), so the local transport and the WebSocket one
 * are interchangeable.
 */
import { type CopycatError, type Listener, type ListenerRegistration } from '@copycat/common';
import { type RequestType } from './message-type.js';
import {
  type OutgoingRequest,
  type RequestMap,
  type ResponseBody,
  type ResponseFor,
} from './messages/index.js';

export interface Transport {
  /** A client: opens connections to servers. */
  client(): TransportClient;
  /** A server: listens at an address and accepts connections. */
  server(): TransportServer;
}

export interface TransportServer {
  /**
   * Starts accepting connections at `address` (`host:port`, or what the transport understands);
   * resolves once listening. `onConnection` runs for each accepted connection: register the
   * handlers there.
   */
  listen(address: string, onConnection: (connection: Connection) => void): Promise<void>;
  /** Stops listening and closes every connection it accepted. */
  close(): Promise<void>;
}

export interface TransportClient {
  /** Opens a connection to the server at `address`; rejects with a `CopycatError` (e.g. `ConnectionError`). */
  connect(address: string): Promise<Connection>;
  /** Closes every connection it opened. */
  close(): Promise<void>;
}

export interface SendOptions {
  /** Milliseconds to wait for the response; defaults to the transport's `requestTimeout`. */
  readonly timeout?: number;
}

/** Answers one type of request: return the response body, or throw a `CopycatError` for an error response. */
export type RequestHandler<K extends RequestType> = (
  request: RequestMap[K],
) => ResponseBody<K> | PromiseLike<ResponseBody<K>>;

/** Why a connection closed. */
export interface CloseEvent {
  /** Absent when it was closed by this side's `close()`; else what happened (e.g. a `ConnectionError`). */
  readonly error?: CopycatError;
}

/**
 * Both ends of a connection are alike: either may send requests (the server sends `publish`) and
 * answer them. Requests and responses are correlated by id; many requests may be in flight and
 * their responses may arrive in any order.
 */
export interface Connection {
  /**
   * Sends a request and resolves with its response, `ok` or `error` alike (an error response is
   * an answer: it carries hints such as `leader`). Rejects when no answer can come:
   * - `TimeoutError`: no response within the timeout (the request may or may not have been applied);
   * - `ConnectionError` (or a more precise code such as `FRAME_TOO_LARGE`, `UNAUTHORIZED`): the connection dropped;
   * - `ClosedError`: this side closed the connection, before or during the request;
   * - `FrameTooLargeError`: the request is over the frame size limit (it was not sent; the connection stays up);
   * - `BackpressureError`: the send buffer stayed over its high-water mark (it was not sent);
   * - `ProtocolError`: the request or its response is malformed.
   */
  send<R extends OutgoingRequest>(request: R, options?: SendOptions): Promise<ResponseFor<R>>;
  /**
   * Sets the handler for requests of `type` (replacing any previous one). Requests are handed
   * to handlers in the order they arrive. A request without a handler is answered with
   * `PROTOCOL_ERROR`. A handler that throws a `CopycatError` produces an error response with its
   * code; any other throw produces `INTERNAL_ERROR` (and is reported to `onError`). Neither
   * closes the connection.
   */
  handler<K extends RequestType>(type: K, handler: RequestHandler<K>): void;
  /** Called once when the connection closes, for any reason. Called soon if it is already closed. */
  onClose(listener: Listener<CloseEvent>): ListenerRegistration;
  /**
   * Problems that did not close the connection: malformed frames or messages from the peer,
   * handler bugs, responses that could not be sent.
   */
  onError(listener: Listener<CopycatError>): ListenerRegistration;
  /** Closes the connection; pending requests reject with `ClosedError`. Idempotent. */
  close(): Promise<void>;
  readonly closed: boolean;
}
