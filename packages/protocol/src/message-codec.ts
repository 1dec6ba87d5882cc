/**
 * What connections send and receive with: messages coded by their schemas (validate.ts), checked
 * in the same pass that codes them, instead of coded generically and then walked again to check
 * them. Every request and response of every connection goes through here, so the saving (one walk
 * of each message instead of two, no generic dispatch on each value's type) is per message.
 *
 * Both directions fall back to the generic path for anything unusual, which keeps that path the
 * one place where errors are worded:
 * - `encodeRequest`/`encodeResponse` write the schema's fields in its order; a message that does
 *   not fit its schema throws the `ProtocolError` the validators would (they are run to word it).
 * - `decodeMessages` reads a frame whose messages it can check as it goes (all of ours: `type`
 *   first, then `id`, then `status` for responses); for any other frame (malformed, invalid,
 *   written in another order) it returns `undefined` and the caller decodes the frame generically
 *   and checks each message, which finds and words the problem. What it accepts is exactly what
 *   the generic path accepts, minus fields the schemas do not know (the tests compare them).
 */
import { MsgpackReader, MsgpackWriteRefused, MsgpackWriter, READ_REFUSED, Serializer } from '@copycat/io';
import { PROTOCOL_VERSION } from './codec.js';
import { MEMBER_STATUSES, MEMBER_TYPES } from './members.js';
import { MessageType, isRequestType, type RequestType } from './message-type.js';
import { type Request, type Response } from './messages/index.js';
import { COMPACTION_MODES, CONSISTENCY_LEVELS } from './operations.js';
import { check, isPlainObject, type ObjectSchema, type Schema } from './schema.js';
import {
  REQUESTS,
  REQUEST_PATHS,
  RESPONSES,
  RESPONSE_PATHS,
  errorResponse,
  validateRequest,
  type ResponseSchema,
} from './validate.js';

const writer = new MsgpackWriter();
const reader = new MsgpackReader();
const serializer = new Serializer();

// Field names and enumeration values come back from the reader as the schemas' own strings.
const known = new Set<string>(['type', 'id', 'status', ...errorResponse.keys]);
for (const schema of Object.values(REQUESTS)) for (const key of schema.keys) known.add(key);
for (const schema of Object.values(RESPONSES)) for (const key of schema.ok.keys) known.add(key);
reader.remember(known);
reader.remember([
  'ok',
  'error',
  ...COMPACTION_MODES,
  ...CONSISTENCY_LEVELS,
  ...MEMBER_TYPES,
  ...MEMBER_STATUSES,
]);

/**
 * The encoding of a request (a view of a scratch buffer, valid until the next encoding here: copy
 * it at once). Throws the `ProtocolError` of `validateRequest` if the request is malformed.
 */
export function encodeRequest(request: Request): Uint8Array {
  const type = isPlainObject(request) ? request.type : undefined;
  if (!isRequestType(type)) validateRequest(request); // throws, naming the problem
  return encodeChecked(REQUESTS[type as RequestType], request, REQUEST_PATHS[type as RequestType]);
}

/**
 * The encoding of a response to a request of `type` (`undefined`: an error response to a request
 * whose type is unknown), as `encodeRequest`. Throws the `ProtocolError` of `validateResponse`.
 */
export function encodeResponse(type: RequestType | undefined, response: Response): Uint8Array {
  if (type === undefined) return encodeChecked(errorResponse, response, 'response');
  return encodeChecked(RESPONSES[type], response, RESPONSE_PATHS[type]);
}

/** Set while `writer` is in use: a getter of a message being encoded may encode another one. */
let writing = false;

function encodeChecked(schema: Schema<unknown>, message: unknown, path: string): Uint8Array {
  if (writing) return encodeWith(new MsgpackWriter(256), schema, message, path);
  writing = true;
  try {
    return encodeWith(writer, schema, message, path);
  } finally {
    writing = false;
  }
}

function encodeWith(
  into: MsgpackWriter,
  schema: Schema<unknown>,
  message: unknown,
  path: string,
): Uint8Array {
  into.reset();
  let written = false;
  try {
    written = schema.write(into, message);
  } catch (error) {
    if (!(error instanceof MsgpackWriteRefused)) throw error;
  }
  if (written) return into.written();
  check(schema, message, path); // throws if the message does not fit its schema
  // It does, but holds what only the generic path writes (a string with lone surrogates): the
  // generic path writes it, without the fields the schema does not know.
  return serializer.encodeShared(knownFields(schema, message as Record<string, unknown>));
}

function knownFields(schema: Schema<unknown>, message: Record<string, unknown>): Record<string, unknown> {
  const keys =
    'keys' in schema
      ? (schema as ObjectSchema<unknown>).keys
      : message.status === 'error'
        ? errorResponse.keys
        : (schema as ResponseSchema<unknown>).ok.keys;
  const known: Record<string, unknown> = {};
  for (const key of keys) if (message[key] !== undefined) known[key] = message[key];
  return known;
}

/** The messages of a frame, each checked, as `decodeMessages` returns them. */
export interface CheckedMessages {
  readonly messages: (Request | Response)[];
  /** For each message: its type if a request, the type of the request it answers if a response. */
  readonly types: RequestType[];
}

/**
 * The messages of `frame`, each checked against its schema: a response against the schema of
 * the request it answers (`requestTypeOf(id)`; a response that answers nothing pending is
 * dropped). `undefined` if the frame must take the generic path (see the module comment).
 */
export function decodeMessages(
  frame: Uint8Array,
  requestTypeOf: (id: number) => RequestType | undefined,
): CheckedMessages | undefined {
  reader.reset(frame);
  try {
    const count = reader.readArrayHeader();
    if (count === 0 || reader.readNumber() !== PROTOCOL_VERSION) return undefined;
    const messages: (Request | Response)[] = [];
    const types: RequestType[] = [];
    requestsRead = 0;
    for (let i = 1; i < count; i++) readMessage(requestTypeOf, messages, types);
    return reader.atEnd ? { messages, types } : undefined;
  } catch (error) {
    if (error !== READ_REFUSED) throw error;
    return undefined;
  } finally {
    reader.release();
  }
}

/** Requests read so far from the frame being decoded. */
let requestsRead = 0;

function readMessage(
  requestTypeOf: (id: number) => RequestType | undefined,
  messages: (Request | Response)[],
  types: RequestType[],
): void {
  const entries = reader.readMapHeader();
  if (entries === 0 || reader.readString() !== 'type') throw READ_REFUSED;
  const type = reader.readNumber();
  if (type !== MessageType.response) {
    if (!isRequestType(type)) throw READ_REFUSED;
    const schema = REQUESTS[type];
    messages.push(schema.readRest(reader, entries - 1, [type]));
    types.push(type);
    requestsRead++;
    return;
  }
  if (entries < 3 || reader.readString() !== 'id') throw READ_REFUSED;
  const id = reader.readNumber();
  if (!(Number.isSafeInteger(id) && id > 0) || reader.readString() !== 'status') throw READ_REFUSED;
  const status = reader.readString();
  const requestType = requestTypeOf(id);
  if (requestType === undefined) {
    // A handler of a request earlier in the frame may send the request this answers (not from
    // an honest peer, but the generic path, which looks each response up in turn, would
    // complete it): left to it.
    if (requestsRead > 0) throw READ_REFUSED;
    // Nobody waits for it (it came after its timeout, or twice): dropped unchecked, as the
    // generic path does, once the rest of it is known to be well formed.
    skipEntries(entries - 3);
    return;
  }
  const schema = status === 'ok' ? RESPONSES[requestType].ok : status === 'error' ? errorResponse : undefined;
  if (schema === undefined) throw READ_REFUSED;
  messages.push(schema.readRest(reader, entries - 3, [type, id, status]) as Response);
  types.push(requestType);
}

function skipEntries(count: number): void {
  for (let n = 0; n < count; n++) {
    // A repeated envelope key could make it another message for the generic path (which keeps
    // the last value of a key): a request, or the response to a pending request.
    const key = reader.readKey();
    if (key === 'type' || key === 'id' || key === 'status') throw READ_REFUSED;
    reader.skip();
  }
}
