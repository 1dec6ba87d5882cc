/**
 * Every failure a user can see is a `CopycatError` with a stable `code`. Codes are part of the
 * public contract and travel on the wire, so a client can rebuild the same error class from a
 * response (see `errorFromCode`).
 */
export const ERROR_CODES = [
  'NO_LEADER',
  'UNKNOWN_SESSION',
  'COMMAND_FAILURE',
  'QUERY_FAILURE',
  'APPLICATION_ERROR',
  'PROTOCOL_ERROR',
  'ILLEGAL_MEMBER_STATE',
  'CONFIGURATION_ERROR',
  'TIMEOUT',
  'CLOSED',
  'STORAGE_CORRUPTION',
  'STORAGE_ERROR',
  'FRAME_TOO_LARGE',
  'UNAUTHORIZED',
  'SERIALIZATION_ERROR',
  'BUFFER_UNDERFLOW',
  'BUFFER_OVERFLOW',
  'BACKPRESSURE',
  'CONNECTION_ERROR',
  'INTERNAL_ERROR',
] as const;

export type ErrorCode = (typeof ERROR_CODES)[number];

export function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === 'string' && (ERROR_CODES as readonly string[]).includes(value);
}

export interface CopycatErrorOptions {
  cause?: unknown;
}

export class CopycatError extends Error {
  readonly code: ErrorCode;

  constructor(code: ErrorCode, message: string, options: CopycatErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.name = new.target.name;
  }
}

function codedError(code: ErrorCode, name: string) {
  const ErrorClass = class extends CopycatError {
    constructor(message: string, options: CopycatErrorOptions = {}) {
      super(code, message, options);
    }
  };
  Object.defineProperty(ErrorClass, 'name', { value: name });
  return ErrorClass;
}

/** No leader is known, or the contacted member is not the leader and cannot forward. */
export class NoLeaderError extends codedError('NO_LEADER', 'NoLeaderError') {}
/** The session is unknown to the cluster: it expired or was never registered. */
export class UnknownSessionError extends codedError('UNKNOWN_SESSION', 'UnknownSessionError') {}
/** A command could not be committed or applied. */
export class CommandFailureError extends codedError('COMMAND_FAILURE', 'CommandFailureError') {}
/** A query could not be evaluated. */
export class QueryFailureError extends codedError('QUERY_FAILURE', 'QueryFailureError') {}
/** The user's state machine threw while applying an operation. */
export class ApplicationError extends codedError('APPLICATION_ERROR', 'ApplicationError') {}
/** A malformed or unknown message. */
export class ProtocolError extends codedError('PROTOCOL_ERROR', 'ProtocolError') {}
/** An operation that the member's current type or role does not allow. */
export class IllegalMemberStateError extends codedError('ILLEGAL_MEMBER_STATE', 'IllegalMemberStateError') {}
/** Invalid options or cluster configuration. */
export class ConfigurationError extends codedError('CONFIGURATION_ERROR', 'ConfigurationError') {}
/** An operation did not complete in time; its outcome is unknown. */
export class TimeoutError extends codedError('TIMEOUT', 'TimeoutError') {}
/** The object was closed before or while the operation ran. */
export class ClosedError extends codedError('CLOSED', 'ClosedError') {}
/** Stored data failed a checksum or structure check where it cannot be a torn write. */
export class StorageCorruptionError extends codedError('STORAGE_CORRUPTION', 'StorageCorruptionError') {}
/** An I/O failure in storage (disk full, permission, lock held by another process). */
export class StorageError extends codedError('STORAGE_ERROR', 'StorageError') {}
/** A frame or message larger than the configured limit. */
export class FrameTooLargeError extends codedError('FRAME_TOO_LARGE', 'FrameTooLargeError') {}
/** Authentication failed at the handshake. */
export class UnauthorizedError extends codedError('UNAUTHORIZED', 'UnauthorizedError') {}
/** A value could not be encoded or bytes could not be decoded. */
export class SerializationError extends codedError('SERIALIZATION_ERROR', 'SerializationError') {}
/** A read went past the readable bytes of a buffer. */
export class BufferUnderflowError extends codedError('BUFFER_UNDERFLOW', 'BufferUnderflowError') {}
/** A write went past the maximum capacity of a buffer. */
export class BufferOverflowError extends codedError('BUFFER_OVERFLOW', 'BufferOverflowError') {}
/** A sender's queue is over its high-water mark. */
export class BackpressureError extends codedError('BACKPRESSURE', 'BackpressureError') {}
/** A connection failed or closed while a request was in flight. */
export class ConnectionError extends codedError('CONNECTION_ERROR', 'ConnectionError') {}
/** A bug: an invariant of Copycat itself did not hold. */
export class InternalError extends codedError('INTERNAL_ERROR', 'InternalError') {}

const BY_CODE: { [K in ErrorCode]: new (message: string, options?: CopycatErrorOptions) => CopycatError } = {
  NO_LEADER: NoLeaderError,
  UNKNOWN_SESSION: UnknownSessionError,
  COMMAND_FAILURE: CommandFailureError,
  QUERY_FAILURE: QueryFailureError,
  APPLICATION_ERROR: ApplicationError,
  PROTOCOL_ERROR: ProtocolError,
  ILLEGAL_MEMBER_STATE: IllegalMemberStateError,
  CONFIGURATION_ERROR: ConfigurationError,
  TIMEOUT: TimeoutError,
  CLOSED: ClosedError,
  STORAGE_CORRUPTION: StorageCorruptionError,
  STORAGE_ERROR: StorageError,
  FRAME_TOO_LARGE: FrameTooLargeError,
  UNAUTHORIZED: UnauthorizedError,
  SERIALIZATION_ERROR: SerializationError,
  BUFFER_UNDERFLOW: BufferUnderflowError,
  BUFFER_OVERFLOW: BufferOverflowError,
  BACKPRESSURE: BackpressureError,
  CONNECTION_ERROR: ConnectionError,
  INTERNAL_ERROR: InternalError,
};

/** Rebuilds the error class for a code received from a peer; unknown codes become `ProtocolError`. */
export function errorFromCode(code: unknown, message: string): CopycatError {
  if (!isErrorCode(code)) return new ProtocolError(`unknown error code ${String(code)}: ${message}`);
  return new BY_CODE[code](message);
}

/** True if `error` is a CopycatError, optionally with the given code. */
export function isCopycatError(error: unknown, code?: ErrorCode): error is CopycatError {
  return error instanceof CopycatError && (code === undefined || error.code === code);
}
