/**
 * The numeric `type` of every message on the wire. Numbers, not names, because they are sent
 * with every message; they are part of the protocol version and never change meaning. New
 * messages take new numbers.
 *
 * All responses share one type (`response`): a response is matched to its request by `id`, and
 * its shape is checked against the request's type, so repeating the kind would only cost bytes.
 */
export const MessageType = {
  response: 0,
  // client protocol (INTERNALS.md: Client sessions, Session events, Queries)
  connect: 1,
  register: 2,
  keepAlive: 3,
  unregister: 4,
  command: 5,
  query: 6,
  publish: 7,
  reset: 8,
  // Raft (INTERNALS.md: Raft, as we run it)
  append: 9,
  poll: 10,
  vote: 11,
  configure: 12,
  install: 13,
  // membership (INTERNALS.md: Membership) and leadership transfer
  join: 14,
  leave: 15,
  reconfigure: 16,
  transfer: 17,
  timeoutNow: 18,
} as const;

export type MessageTypeName = keyof typeof MessageType;
export type MessageTypeValue = (typeof MessageType)[MessageTypeName];
/** The type of any request: every message type except `response`. */
export type RequestType = Exclude<MessageTypeValue, typeof MessageType.response>;

const NAMES = new Map<number, MessageTypeName>(
  (Object.entries(MessageType) as [MessageTypeName, MessageTypeValue][]).map(([name, value]) => [
    value,
    name,
  ]),
);

/** Indexed by type: whether it is a request type (a load, not a hash lookup: every message asks). */
const REQUEST_TYPE: readonly boolean[] = Array.from(
  { length: Math.max(...NAMES.keys()) + 1 },
  (_, type) => type !== MessageType.response && NAMES.has(type),
);

export function isRequestType(value: unknown): value is RequestType {
  // Out of range, negative or fractional numbers index nothing: `undefined`.
  return typeof value === 'number' && REQUEST_TYPE[value] === true;
}

/** The name of a message type for messages and logs (`'vote'`), or `'unknown(42)'`. */
export function messageTypeName(type: number): string {
  return NAMES.get(type) ?? `unknown(${type})`;
}
