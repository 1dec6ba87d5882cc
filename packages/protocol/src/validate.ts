/**
 * One schema per request and per response kind, and the checks the connection runs on every
 * message it receives (and, to catch bugs at their source, on every message it sends).
 */
import { ERROR_CODES, ProtocolError } from '@copycat/common';
import { READ_REFUSED } from '@copycat/io';
import { MEMBER_STATUSES, MEMBER_TYPES, type Member } from './members.js';
import { MessageType, isRequestType, messageTypeName, type RequestType } from './message-type.js';
import { type ErrorResponse, type ResponseEnvelope } from './messages/common.js';
import { type Request, type RequestMap, type ResponseMap } from './messages/index.js';
import type * as C from './messages/client.js';
import type * as M from './messages/membership.js';
import { COMPACTION_MODES, CONSISTENCY_LEVELS } from './operations.js';
import {
  array,
  boolean,
  bytes,
  check,
  invalid,
  isPlainObject,
  object,
  oneOf,
  optional,
  positiveInt,
  show,
  string,
  time,
  uint,
  type Fields,
  type ObjectSchema,
  type Schema,
} from './schema.js';

const member = object<Member>({ address: string, type: oneOf(MEMBER_TYPES), status: oneOf(MEMBER_STATUSES) });
const members = array(member);
const addresses = array(string);

/** A request schema: the envelope (`type`, `id`) plus the fields of that request. */
function request<K extends RequestType>(
  type: K,
  fields: Fields<Omit<RequestMap[K], 'type' | 'id'>>,
): ObjectSchema<RequestMap[K]> {
  return object<RequestMap[K]>({ type: oneOf([type]), id: positiveInt, ...fields } as unknown as Fields<
    RequestMap[K]
  >);
}

export const errorResponse = object<ErrorResponse>({
  type: oneOf([MessageType.response]),
  id: positiveInt,
  status: oneOf(['error']),
  error: object({ code: oneOf(ERROR_CODES), message: string }),
  leader: optional(string),
  term: optional(uint),
  lastSequence: optional(uint),
});

type OkFields<K extends RequestType> = Omit<
  Extract<ResponseMap[K], { status: 'ok' }>,
  keyof ResponseEnvelope | 'status'
>;

/** A response schema: an `ErrorResponse`, or an ok response (`ok`) with the given fields. */
export interface ResponseSchema<T> extends Schema<T> {
  readonly ok: ObjectSchema<unknown>;
}

function response<K extends RequestType>(fields: Fields<OkFields<K>>): ResponseSchema<ResponseMap[K]> {
  const ok = object({
    type: oneOf([MessageType.response]),
    id: positiveInt,
    status: oneOf(['ok']),
    ...fields,
  });
  const isError = (value: unknown) => isPlainObject(value) && value.status === 'error';
  return {
    expected: 'a response',
    optional: false,
    ok: ok,
    is: (value) => (isError(value) ? errorResponse.is(value) : ok.is(value)),
    explain: (value, path) => (isError(value) ? errorResponse.explain(value, path) : ok.explain(value, path)),
    write: (writer, value) => (isError(value) ? errorResponse.write(writer, value) : ok.write(writer, value)),
    // Which of the two a response is shows only once its status is read: see message-codec.ts.
    read: () => {
      throw READ_REFUSED;
    },
  };
}

const configuration = { index: uint, term: uint, time, members } satisfies Fields<M.ConfigurationFields>;
const sessionEvent = object<C.SessionEvent>({ name: string, message: bytes });

export const REQUESTS: { readonly [K in RequestType]: ObjectSchema<RequestMap[K]> } = {
  [MessageType.connect]: request(MessageType.connect, { client: string }),
  [MessageType.register]: request(MessageType.register, { client: string, timeout: time }),
  [MessageType.keepAlive]: request(MessageType.keepAlive, {
    session: uint,
    commandSequence: uint,
    eventIndex: uint,
  }),
  [MessageType.unregister]: request(MessageType.unregister, { session: uint }),
  [MessageType.command]: request(MessageType.command, {
    session: uint,
    sequence: uint,
    operation: bytes,
    compaction: oneOf(COMPACTION_MODES),
  }),
  [MessageType.query]: request(MessageType.query, {
    session: uint,
    sequence: uint,
    index: uint,
    operation: bytes,
    consistency: oneOf(CONSISTENCY_LEVELS),
  }),
  [MessageType.publish]: request(MessageType.publish, {
    session: uint,
    eventIndex: uint,
    previousIndex: uint,
    events: array(sessionEvent),
  }),
  [MessageType.reset]: request(MessageType.reset, { session: uint, index: uint }),
  [MessageType.append]: request(MessageType.append, {
    term: uint,
    leader: string,
    prevLogIndex: uint,
    prevLogTerm: uint,
    entries: bytes,
    commitIndex: uint,
    globalIndex: uint,
  }),
  [MessageType.poll]: request(MessageType.poll, {
    term: uint,
    candidate: string,
    lastLogIndex: uint,
    lastLogTerm: uint,
  }),
  [MessageType.vote]: request(MessageType.vote, {
    term: uint,
    candidate: string,
    lastLogIndex: uint,
    lastLogTerm: uint,
    transfer: optional(boolean),
  }),
  [MessageType.configure]: request(MessageType.configure, {
    term: uint,
    leader: string,
    index: uint,
    time,
    members,
  }),
  [MessageType.install]: request(MessageType.install, {
    term: uint,
    leader: string,
    index: uint,
    snapshotTerm: uint,
    time,
    offset: uint,
    data: bytes,
    complete: boolean,
  }),
  [MessageType.join]: request(MessageType.join, { member }),
  [MessageType.leave]: request(MessageType.leave, { member }),
  [MessageType.reconfigure]: request(MessageType.reconfigure, { member, index: uint, term: uint }),
  [MessageType.transfer]: request(MessageType.transfer, { member: string }),
  [MessageType.timeoutNow]: request(MessageType.timeoutNow, { term: uint, leader: string }),
};

export const RESPONSES: { readonly [K in RequestType]: ResponseSchema<ResponseMap[K]> } = {
  [MessageType.connect]: response<typeof MessageType.connect>({
    leader: optional(string),
    members: addresses,
  }),
  [MessageType.register]: response<typeof MessageType.register>({
    session: uint,
    leader: optional(string),
    members: addresses,
    timeout: time,
  }),
  [MessageType.keepAlive]: response<typeof MessageType.keepAlive>({
    leader: optional(string),
    members: addresses,
  }),
  [MessageType.unregister]: response<typeof MessageType.unregister>({}),
  [MessageType.command]: response<typeof MessageType.command>({
    index: uint,
    eventIndex: uint,
    result: bytes,
  }),
  [MessageType.query]: response<typeof MessageType.query>({ index: uint, eventIndex: uint, result: bytes }),
  [MessageType.publish]: response<typeof MessageType.publish>({ index: uint }),
  [MessageType.reset]: response<typeof MessageType.reset>({}),
  [MessageType.append]: response<typeof MessageType.append>({
    term: uint,
    succeeded: boolean,
    lastLogIndex: uint,
    conflictIndex: optional(uint),
    conflictTerm: optional(uint),
  }),
  [MessageType.poll]: response<typeof MessageType.poll>({ term: uint, accepted: boolean }),
  [MessageType.vote]: response<typeof MessageType.vote>({ term: uint, voted: boolean }),
  [MessageType.configure]: response<typeof MessageType.configure>({ term: uint }),
  [MessageType.install]: response<typeof MessageType.install>({ term: uint }),
  [MessageType.join]: response<typeof MessageType.join>(configuration),
  [MessageType.leave]: response<typeof MessageType.leave>(configuration),
  [MessageType.reconfigure]: response<typeof MessageType.reconfigure>(configuration),
  [MessageType.transfer]: response<typeof MessageType.transfer>({ term: uint, leader: optional(string) }),
  [MessageType.timeoutNow]: response<typeof MessageType.timeoutNow>({ term: uint }),
};

// Where error messages say the problem is ("vote request.term ..."), built once rather than per check.
const paths = (suffix: string) =>
  Object.fromEntries(
    Object.keys(REQUESTS).map((type) => [type, `${messageTypeName(Number(type))} ${suffix}`]),
  ) as Record<RequestType, string>;
export const REQUEST_PATHS = paths('request');
export const RESPONSE_PATHS = paths('response');

/** Checks a decoded request of any type; throws `ProtocolError` (unknown type, missing or mistyped field). */
export function validateRequest(value: unknown): Request {
  if (!isPlainObject(value)) throw invalid('request', 'an object', value);
  const type = value.type;
  if (!isRequestType(type)) throw new ProtocolError(`unknown message type ${show(type)}`);
  return check(REQUESTS[type] as Schema<Request>, value, REQUEST_PATHS[type]);
}

/** Checks a decoded response to a request of type `type`; throws `ProtocolError`. */
export function validateResponse<K extends RequestType>(type: K, value: unknown): ResponseMap[K] {
  return check(RESPONSES[type], value, RESPONSE_PATHS[type]);
}

/** What the envelope of a decoded message says, before its fields are checked. */
export type Envelope =
  | { readonly kind: 'request'; readonly type: RequestType; readonly id: number }
  | { readonly kind: 'response'; readonly id: number }
  | { readonly kind: 'unknown'; readonly problem: string; readonly id: number | undefined };

/**
 * Reads `type` and `id` of a decoded message, so that even a malformed request can be answered
 * (with `PROTOCOL_ERROR`) when its id is readable.
 */
export function readEnvelope(value: unknown): Envelope {
  const object = isPlainObject(value) ? value : undefined;
  const id =
    object !== undefined && Number.isSafeInteger(object.id) && (object.id as number) > 0
      ? (object.id as number)
      : undefined;
  const type = object?.type;
  if (object === undefined) return { kind: 'unknown', problem: 'a message must be an object', id };
  if (id === undefined) return { kind: 'unknown', problem: 'a message must have a positive integer id', id };
  if (type === MessageType.response) return { kind: 'response', id };
  if (isRequestType(type)) return { kind: 'request', type, id };
  return { kind: 'unknown', problem: `unknown message type ${show(type)}`, id };
}
