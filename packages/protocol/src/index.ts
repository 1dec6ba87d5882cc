export { MessageType, isRequestType, messageTypeName } from './message-type.js';
export type { MessageTypeName, MessageTypeValue, RequestType } from './message-type.js';
export { MEMBER_STATUSES, MEMBER_TYPES } from './members.js';
export type { Member, MemberStatus, MemberType } from './members.js';
export { COMPACTION_MODES, CONSISTENCY_LEVELS, decodeOperation, encodeOperation } from './operations.js';
export type { Command, CompactionMode, ConsistencyLevel, Operation, Query } from './operations.js';
export type * from './messages/index.js';
export { validateRequest, validateResponse } from './validate.js';
export {
  DEFAULT_MAX_FRAME_SIZE,
  FrameBuilder,
  PROTOCOL_VERSION,
  decodeFrame,
  encodeFrame,
  encodeMessage,
  encodeMessageFrame,
  mergeFrames,
  mergedFrameSize,
  messageFrame,
  messageFrameSize,
} from './codec.js';
export {
  decodeMessages,
  encodeRequest,
  encodeRequestWithId,
  encodeResponse,
  encodeResponseBody,
} from './message-codec.js';
export type { CheckedMessages } from './message-codec.js';
export type { DecodedFrame } from './codec.js';
export { asCopycatError, errorResponse, responseError } from './errors.js';
export type { ErrorHints } from './errors.js';
export type {
  CloseEvent,
  Connection,
  RequestHandler,
  SendOptions,
  Transport,
  TransportClient,
  TransportServer,
} from './transport.js';
export { BaseConnection } from './base-connection.js';
export type { BaseConnectionOptions } from './base-connection.js';
// Error codes travel on the wire; re-exported so protocol users need no second import.
export { ERROR_CODES, errorFromCode, isErrorCode } from '@copycat/common';
export type { ErrorCode } from '@copycat/common';
