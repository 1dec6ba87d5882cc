import { ProtocolError } from '@copycat/common';
import { type Serializer } from '@copycat/io';

/** Where and how a query is evaluated (INTERNALS.md: Queries and consistency). */
export type ConsistencyLevel = 'linearizable' | 'lease' | 'sequential';
export const CONSISTENCY_LEVELS: readonly ConsistencyLevel[] = ['linearizable', 'lease', 'sequential'];

/**
 * When the log may drop a command's entry once the state machine has closed it (INTERNALS.md:
 * Storage, incremental compaction).
 * - `release`: as soon as it is closed.
 * - `tombstone`: when closed and stored on every member (for entries like `remove` that cancel others).
 * - `snapshot`: once a snapshot covers it.
 * - `expiring`: like `release`, for entries that time out (a TTL).
 * - `quorum` / `full`: when closed and stored on a majority / on all members.
 */
export type CompactionMode = 'release' | 'tombstone' | 'snapshot' | 'expiring' | 'quorum' | 'full';
export const COMPACTION_MODES: readonly CompactionMode[] = [
  'release',
  'tombstone',
  'snapshot',
  'expiring',
  'quorum',
  'full',
];

/** A named operation with its arguments, as a state machine sees it. */
export interface Operation<TArgs = unknown> {
  readonly name: string;
  readonly args: TArgs;
}

/**
 * An operation that changes state: logged, replicated and applied once per session sequence.
 * `TResult` is the type the state machine returns; it exists only for the compiler.
 */
export interface Command<TArgs = unknown, TResult = unknown> extends Operation<TArgs> {
  readonly kind: 'command';
  /** How the entry may be compacted once closed; the client fills in its default when absent. */
  readonly compaction?: CompactionMode;
  /** Phantom: never set; carries the result type. */
  readonly __result?: TResult;
}

/** An operation that reads state; evaluated at the requested consistency level, never logged. */
export interface Query<TArgs = unknown, TResult = unknown> extends Operation<TArgs> {
  readonly kind: 'query';
  /** The client fills in its default (`linearizable`) when absent. */
  readonly consistency?: ConsistencyLevel;
  /** Phantom: never set; carries the result type. */
  readonly __result?: TResult;
}

/**
 * Encodes an operation ONCE, on the client, into the bytes that `command` and `query` requests
 * carry. Servers log and replicate these bytes as they are; only the state machine decodes them
 * (INTERNALS.md: "Bytes, not objects, on the hot path"). `serializer` is the one holding the
 * user's registered types; the layout is a msgpack array `[name, args]`.
 */
export function encodeOperation(serializer: Serializer, operation: Operation): Uint8Array {
  return serializer.encode([operation.name, operation.args]);
}

/** Decodes bytes made by `encodeOperation`; malformed bytes are a `ProtocolError`. */
export function decodeOperation<TArgs = unknown>(
  serializer: Serializer,
  bytes: Uint8Array,
): Operation<TArgs> {
  let value: unknown;
  try {
    value = serializer.decode(bytes);
  } catch (error) {
    throw new ProtocolError(`malformed operation: ${(error as Error).message}`, { cause: error });
  }
  if (!Array.isArray(value) || value.length !== 2 || typeof value[0] !== 'string') {
    throw new ProtocolError('malformed operation: expected [name, args]');
  }
  return { name: value[0], args: value[1] as TArgs };
}
