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
import {
  MsgpackReader,
  MsgpackWriteRefused,
  MsgpackWriter,
  READ_REFUSED,
  Serializer,
  encodeString,
} from '@copycat/io';
import { PROTOCOL_VERSION } from './codec.js';
import { MEMBER_STATUSES, MEMBER_TYPES } from './members.js';
import { MessageType, isRequestType, type RequestType } from './message-type.js';
import {
  type ErrorResponseBody,
  type OutgoingRequest,
  type Request,
  type Response,
  type ResponseBody,
} from './messages/index.js';
import { COMPACTION_MODES, CONSISTENCY_LEVELS } from './operations.js';
import { check, isPlainObject, readIfNext, type ObjectSchema, type Schema } from './schema.js';
import {
  REQUESTS,
  REQUEST_PATHS,
  RESPONSES,
  RESPONSE_PATHS,
  errorResponse,
  validateRequest,
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
  return encodeRequestWith(undefined, request, undefined, false);
}

/**
 * `encodeRequest` for `request` with id `id` (not the request's own `id`, if it has one): what a
 * connection sends, without copying the caller's request into a new object to add the id.
 * Written `into` a writer the caller gives (see `MsgpackWriter.writeInto`), else into the
 * codec's scratch buffer.
 */
export function encodeRequestWithId(id: number, request: OutgoingRequest, into?: MsgpackWriter): Uint8Array {
  return encodeRequestWith(id, request, into, true);
}

/**
 * The encoding of a response to a request of `type` (`undefined`: an error response to a request
 * whose type is unknown), as `encodeRequest`. Throws the `ProtocolError` of `validateResponse`.
 */
export function encodeResponse(type: RequestType | undefined, response: Response): Uint8Array {
  return encodeResponseWith(type, undefined, undefined, response, undefined, false);
}

/**
 * `encodeResponse` for the response to request `id` whose body (`status` and the fields after
 * it) is `body`: the envelope is written from the arguments, not copied into a new object, and
 * is not taken from the body (a body's own `type` or `id` is not written). Written `into` a
 * writer the caller gives, as `encodeRequestWithId`.
 */
export function encodeResponseBody(
  type: RequestType | undefined,
  id: number,
  body: ResponseBody<RequestType> | ErrorResponseBody,
  into?: MsgpackWriter,
): Uint8Array {
  return encodeResponseWith(type, MessageType.response, id, body, into, true);
}

/**
 * `value` as plain data, or `undefined` if it is not an object. What a caller hands over as a
 * request or a response body (not a message yet: the envelope is added) may be any object, a
 * class instance say: its own fields are what is sent (`anyObject`). Checked once per message:
 * the check is a call into the runtime.
 */
function plainObject(value: unknown, anyObject: boolean): Record<string, unknown> | undefined {
  if (isPlainObject(value)) return value;
  return anyObject && typeof value === 'object' && value !== null ? { ...value } : undefined;
}

/** Encodes a request, its id given apart or (`undefined`) its own. */
function encodeRequestWith(
  id: number | undefined,
  request: OutgoingRequest | Request,
  into: MsgpackWriter | undefined,
  anyObject: boolean,
): Uint8Array {
  const plain = plainObject(request, anyObject);
  const type = plain?.type;
  if (plain === undefined || !isRequestType(type)) {
    validateRequest(withEnvelope(plain ?? request, undefined, id)); // throws, naming the problem
  }
  const schema = REQUESTS[type as RequestType];
  const path = REQUEST_PATHS[type as RequestType];
  return encodeChecked(schema, schema, plain, undefined, id, path, into, true);
}

/** Encodes a response, its envelope (`type`, `id`) given apart or (`undefined`) its own. */
function encodeResponseWith(
  type: RequestType | undefined,
  envelopeType: number | undefined,
  id: number | undefined,
  response: unknown,
  into: MsgpackWriter | undefined,
  anyObject: boolean,
): Uint8Array {
  const plain = plainObject(response, anyObject);
  const error = type === undefined || plain?.status === 'error';
  const schema: Schema<unknown> = type === undefined ? errorResponse : RESPONSES[type];
  const writes = error ? errorResponse : RESPONSES[type].ok;
  const path = type === undefined ? 'response' : RESPONSE_PATHS[type];
  return encodeChecked(writes, schema, plain ?? response, envelopeType, id, path, into, plain !== undefined);
}

/** Set while `writer` is in use: a getter of a message being encoded may encode another one. */
let writing = false;

/**
 * Encodes `message` with `writes`, the envelope (`type`, `id`) given apart (see
 * `ObjectCodec.write`); if it does not fit, throws what checking it with `schema` throws.
 * `plain`: whether `message` is known to be a plain object (only those are written).
 */
function encodeChecked(
  writes: ObjectSchema<unknown>,
  schema: Schema<unknown>,
  message: unknown,
  type: number | undefined,
  id: number | undefined,
  path: string,
  given: MsgpackWriter | undefined,
  plain: boolean,
): Uint8Array {
  // The shared writer, unless the caller gave one, or a message is encoded while another one is
  // (by a getter of it): that one gets a writer of its own.
  const shared = given === undefined && !writing;
  const into = given ?? (shared ? writer : new MsgpackWriter(256));
  if (shared) writing = true;
  try {
    into.reset();
    let written = false;
    try {
      // Not a plain object: not written here (`check` below says what is wrong with it).
      written = plain && writes.writeFields(into, message as Record<string, unknown>, type, id);
    } catch (error) {
      if (!(error instanceof MsgpackWriteRefused)) throw error;
    }
    if (written) return into.written();
    // The rare path: the whole message as one object, checked (throws if it does not fit its schema).
    const whole = check(schema, withEnvelope(message, type, id), path) as Record<string, unknown>;
    // It fits, but holds what only the generic path writes (a string with lone surrogates): the
    // generic path writes it, without the fields the schema does not know (into the writer the
    // caller gave, if any, where the caller expects it).
    const generic = serializer.encodeShared(knownFields(writes, whole));
    if (given === undefined) return generic;
    into.reset();
    into.raw(generic);
    return into.written();
  } finally {
    if (shared) writing = false;
  }
}

/** `message` with the envelope fields given apart, as one object (what goes on the wire). */
function withEnvelope(message: unknown, type: number | undefined, id: number | undefined): unknown {
  if (!isPlainObject(message)) return message;
  const whole: Record<string, unknown> = { ...message };
  if (type !== undefined) whole.type = type;
  if (id !== undefined) whole.id = id;
  return whole;
}

function knownFields(
  schema: ObjectSchema<unknown>,
  message: Record<string, unknown>,
): Record<string, unknown> {
  const known: Record<string, unknown> = {};
  for (const key of schema.keys) if (message[key] !== undefined) known[key] = message[key];
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
    // Sized up front (growing from empty with `push` costs more than the rest of a small frame),
    // but not past what a frame usually holds: the count is the peer's word, not checked yet.
    const presized = Math.min(count - 1, PRESIZED_MESSAGES);
    const messages = new Array<Request | Response>(presized);
    const types = new Array<RequestType>(presized);
    requestsRead = 0;
    kept = 0;
    for (let i = 1; i < count; i++) readMessage(requestTypeOf, messages, types);
    if (!reader.atEnd) return undefined;
    if (kept < messages.length) messages.length = types.length = kept; // responses nobody waits for
    return { messages, types };
  } catch (error) {
    if (error !== READ_REFUSED) throw error;
    return undefined;
  } finally {
    reader.release();
  }
}

/** Most messages `decodeMessages` makes room for before reading them (more grow the arrays). */
const PRESIZED_MESSAGES = 32;

/** Requests read so far from the frame being decoded. */
let requestsRead = 0;
/** Messages of the frame being decoded kept so far (the next one goes at this index). */
let kept = 0;

// The envelope's keys and a response's status, as our encoder writes them: matched byte for byte.
const TYPE_KEY = encodeString('type');
const ID_KEY = encodeString('id');
const STATUS_KEY = encodeString('status');
const OK = encodeString('ok');
const ERROR = encodeString('error');
// The envelope's values as read, handed to `readRest`: filled in for each message (`readRest`
// takes them before reading on), not made anew.
const REQUEST_PRESET: [number] = [0];
const RESPONSE_PRESET: [number, number, string] = [0, 0, 'ok'];

function readMessage(
  requestTypeOf: (id: number) => RequestType | undefined,
  messages: (Request | Response)[],
  types: RequestType[],
): void {
  // Envelope keys written another way (a longer string format, say) are left to the generic path.
  const entries = reader.readMapHeader();
  if (entries === 0 || !readIfNext(reader, TYPE_KEY)) throw READ_REFUSED;
  const type = reader.readNumber();
  if (type !== MessageType.response) {
    if (!isRequestType(type)) throw READ_REFUSED;
    const schema = REQUESTS[type];
    REQUEST_PRESET[0] = type;
    messages[kept] = schema.readRest(reader, entries - 1, REQUEST_PRESET);
    types[kept++] = type;
    requestsRead++;
    return;
  }
  if (entries < 3 || !readIfNext(reader, ID_KEY)) throw READ_REFUSED;
  const id = reader.readNumber();
  if (!(Number.isSafeInteger(id) && id > 0) || !readIfNext(reader, STATUS_KEY)) throw READ_REFUSED;
  const status = readIfNext(reader, OK) ? 'ok' : readIfNext(reader, ERROR) ? 'error' : undefined;
  if (status === undefined) throw READ_REFUSED;
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
  const schema = status === 'ok' ? RESPONSES[requestType].ok : errorResponse;
  RESPONSE_PRESET[0] = type;
  RESPONSE_PRESET[1] = id;
  RESPONSE_PRESET[2] = status;
  messages[kept] = schema.readRest(reader, entries - 3, RESPONSE_PRESET) as Response;
  types[kept++] = requestType;
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
