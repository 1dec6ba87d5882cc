/**
 * The client protocol (INTERNALS.md: Client sessions, Session events, Queries). Indexes and
 * sequences are non-negative integers; times are milliseconds.
 */
import { type MessageType } from '../message-type.js';
import { type ConsistencyLevel, type CompactionMode } from '../operations.js';
import { type NoFields, type ResponseOf } from './common.js';

/** A client opens a connection to a server (any member) and learns the leader and the members. */
export interface ConnectRequest {
  readonly type: typeof MessageType.connect;
  readonly id: number;
  /** The client's unique id (chosen by the client). */
  readonly client: string;
}
export type ConnectResponse = ResponseOf<{
  readonly leader?: string;
  /** Addresses of the members clients may connect to. */
  readonly members: readonly string[];
}>;

/** Opens a session; the leader logs a `register` entry whose index becomes the session id. */
export interface RegisterRequest {
  readonly type: typeof MessageType.register;
  readonly id: number;
  readonly client: string;
  /** The session timeout the client asks for (ms); the server may impose its own. */
  readonly timeout: number;
}
export type RegisterResponse = ResponseOf<{
  readonly session: number;
  readonly leader?: string;
  readonly members: readonly string[];
  /** The session timeout in force (ms): keep-alives must come more often than this. */
  readonly timeout: number;
}>;

/** Renews a session and acknowledges the command results and events the client has received. */
export interface KeepAliveRequest {
  readonly type: typeof MessageType.keepAlive;
  readonly id: number;
  readonly session: number;
  /** Highest command sequence whose result the client has received. */
  readonly commandSequence: number;
  /** Highest event index the client has received. */
  readonly eventIndex: number;
}
export type KeepAliveResponse = ResponseOf<{
  readonly leader?: string;
  readonly members: readonly string[];
}>;

/** Closes a session (logged). */
export interface UnregisterRequest {
  readonly type: typeof MessageType.unregister;
  readonly id: number;
  readonly session: number;
}
export type UnregisterResponse = ResponseOf<NoFields>;

/** A command of a session, forwarded to the leader, logged and applied once. */
export interface CommandRequest {
  readonly type: typeof MessageType.command;
  readonly id: number;
  readonly session: number;
  /** The session's command sequence number, 1, 2, 3...; a gap is answered with `lastSequence`. */
  readonly sequence: number;
  /** The operation, encoded once by the client (`encodeOperation`); opaque to servers. */
  readonly operation: Uint8Array;
  readonly compaction: CompactionMode;
}
export type CommandResponse = ResponseOf<{
  /** Log index at which the command was applied. */
  readonly index: number;
  /** Event index the server had reached: events up to it are delivered before this result. */
  readonly eventIndex: number;
  /** The state machine's result, encoded by the server's serializer. */
  readonly result: Uint8Array;
}>;

/** A query of a session, evaluated once the server has applied `index` and the session's commands up to `sequence`. */
export interface QueryRequest {
  readonly type: typeof MessageType.query;
  readonly id: number;
  readonly session: number;
  /** The session's last command sequence the query must observe. */
  readonly sequence: number;
  /** The highest log index the client has seen: state never goes back in time for it. */
  readonly index: number;
  readonly operation: Uint8Array;
  readonly consistency: ConsistencyLevel;
}
export type QueryResponse = ResponseOf<{
  /** Log index at which the query was evaluated. */
  readonly index: number;
  readonly eventIndex: number;
  readonly result: Uint8Array;
}>;

/** One event published by a state machine to a session. */
export interface SessionEvent {
  readonly name: string;
  /** The event's message, encoded by the server's serializer. */
  readonly message: Uint8Array;
}

/** Server to client: the events raised while applying entry `eventIndex`, one batch. */
export interface PublishRequest {
  readonly type: typeof MessageType.publish;
  readonly id: number;
  readonly session: number;
  readonly eventIndex: number;
  /** The `eventIndex` of this session's previous batch: the client accepts only the next batch in order. */
  readonly previousIndex: number;
  readonly events: readonly SessionEvent[];
}
export type PublishResponse = ResponseOf<{
  /** The last event index the client has accepted. */
  readonly index: number;
}>;

/** Client to server: resend the session's event batches after `index`. */
export interface ResetRequest {
  readonly type: typeof MessageType.reset;
  readonly id: number;
  readonly session: number;
  readonly index: number;
}
export type ResetResponse = ResponseOf<NoFields>;
