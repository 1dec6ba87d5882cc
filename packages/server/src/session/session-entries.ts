/**
 * Payloads of the session entries in the log (INTERNALS.md, Client sessions). Each is a short
 * msgpack array, encoded once by the leader and decoded by every replica when it is applied.
 * A malformed payload is a `ProtocolError`: it can only come from a bug or a corrupt log.
 */
import { ProtocolError } from '@copycat/common';
import type { Serializer } from '@copycat/io';

export interface RegisterEntry {
  readonly client: string;
  readonly timeout: number;
}

export interface KeepAliveEntry {
  readonly session: number;
  /** Highest command sequence whose result the client has received. */
  readonly commandSequence: number;
  /** Highest event index the client has received. */
  readonly eventIndex: number;
}

export interface UnregisterEntry {
  readonly session: number;
  /** True when the leader expired the session; false when the client closed it. */
  readonly expired: boolean;
}

/** A command: `session` 0 marks a command without a session (`RaftServer.submitInternal`). */
export interface CommandEntry {
  readonly session: number;
  readonly sequence: number;
  /** The operation as the client encoded it (`encodeOperation`). */
  readonly operation: Uint8Array;
}

function decodeArray(serializer: Serializer, payload: Uint8Array, what: string, length: number): unknown[] {
  let value: unknown;
  try {
    value = serializer.decode(payload);
  } catch (error) {
    throw new ProtocolError(`malformed ${what} entry: ${(error as Error).message}`, { cause: error });
  }
  if (!Array.isArray(value) || value.length !== length)
    throw new ProtocolError(`malformed ${what} entry: expected an array of ${length}`);
  return value;
}

function integer(value: unknown, what: string): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0)
    throw new ProtocolError(`malformed ${what} entry: expected a non-negative integer`);
  return value;
}

export function encodeRegister(serializer: Serializer, entry: RegisterEntry): Uint8Array {
  return serializer.encode([entry.client, entry.timeout]);
}

export function decodeRegister(serializer: Serializer, payload: Uint8Array): RegisterEntry {
  const [client, timeout] = decodeArray(serializer, payload, 'register', 2);
  if (typeof client !== 'string') throw new ProtocolError('malformed register entry: client');
  return { client, timeout: integer(timeout, 'register') };
}

export function encodeKeepAlive(serializer: Serializer, entry: KeepAliveEntry): Uint8Array {
  return serializer.encode([entry.session, entry.commandSequence, entry.eventIndex]);
}

export function decodeKeepAlive(serializer: Serializer, payload: Uint8Array): KeepAliveEntry {
  const [session, commandSequence, eventIndex] = decodeArray(serializer, payload, 'keepAlive', 3);
  return {
    session: integer(session, 'keepAlive'),
    commandSequence: integer(commandSequence, 'keepAlive'),
    eventIndex: integer(eventIndex, 'keepAlive'),
  };
}

export function encodeUnregister(serializer: Serializer, entry: UnregisterEntry): Uint8Array {
  return serializer.encode([entry.session, entry.expired]);
}

export function decodeUnregister(serializer: Serializer, payload: Uint8Array): UnregisterEntry {
  const [session, expired] = decodeArray(serializer, payload, 'unregister', 2);
  return { session: integer(session, 'unregister'), expired: expired === true };
}

export function encodeCommand(serializer: Serializer, entry: CommandEntry): Uint8Array {
  return serializer.encode([entry.session, entry.sequence, entry.operation]);
}

export function decodeCommand(serializer: Serializer, payload: Uint8Array): CommandEntry {
  const [session, sequence, operation] = decodeArray(serializer, payload, 'command', 3);
  if (!(operation instanceof Uint8Array)) throw new ProtocolError('malformed command entry: operation');
  return { session: integer(session, 'command'), sequence: integer(sequence, 'command'), operation };
}
