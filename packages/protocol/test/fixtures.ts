/**
 * Sample and arbitrary messages of every type, shared by the protocol tests and the transport
 * conformance suite.
 */
import fc from 'fast-check';
import {
  COMPACTION_MODES,
  CONSISTENCY_LEVELS,
  MEMBER_STATUSES,
  MEMBER_TYPES,
  MessageType,
  type Member,
  type OutgoingRequest,
  type RequestMap,
  type RequestType,
  type ResponseBody,
} from '@copycat/protocol';

export const REQUEST_TYPES = Object.values(MessageType).filter(
  (t): t is RequestType => t !== MessageType.response,
);

type Outgoing<K extends RequestType> = Extract<OutgoingRequest, { type: K }>;
type OkBody<K extends RequestType> = Extract<ResponseBody<K>, { status: 'ok' }>;

const bytes = (...values: number[]) => new Uint8Array(values);
const member: Member = { address: '127.0.0.1:5001', type: 'active', status: 'available' };
const configuration = {
  index: 7,
  term: 2,
  time: 1_700_000_000_000,
  members: [member, { ...member, address: 'b', type: 'passive' as const }],
};

/** One valid request of each type (without id). */
export const SAMPLE_REQUESTS: { [K in RequestType]: Outgoing<K> } = {
  [MessageType.connect]: { type: MessageType.connect, client: 'client-1' },
  [MessageType.register]: { type: MessageType.register, client: 'client-1', timeout: 5000 },
  [MessageType.keepAlive]: { type: MessageType.keepAlive, session: 3, commandSequence: 10, eventIndex: 12 },
  [MessageType.unregister]: { type: MessageType.unregister, session: 3 },
  [MessageType.command]: {
    type: MessageType.command,
    session: 3,
    sequence: 11,
    operation: bytes(1, 2, 3),
    compaction: 'quorum',
  },
  [MessageType.query]: {
    type: MessageType.query,
    session: 3,
    sequence: 11,
    index: 40,
    operation: bytes(4, 5),
    consistency: 'sequential',
  },
  [MessageType.publish]: {
    type: MessageType.publish,
    session: 3,
    eventIndex: 41,
    previousIndex: 30,
    events: [{ name: 'change', message: bytes(9) }],
  },
  [MessageType.reset]: { type: MessageType.reset, session: 3, index: 30 },
  [MessageType.append]: {
    type: MessageType.append,
    term: 2,
    leader: 'a',
    prevLogIndex: 10,
    prevLogTerm: 1,
    entries: bytes(0, 1, 2, 3, 255),
    commitIndex: 9,
    globalIndex: 8,
  },
  [MessageType.poll]: { type: MessageType.poll, term: 3, candidate: 'b', lastLogIndex: 10, lastLogTerm: 2 },
  [MessageType.vote]: { type: MessageType.vote, term: 3, candidate: 'b', lastLogIndex: 10, lastLogTerm: 2 },
  [MessageType.configure]: {
    type: MessageType.configure,
    term: 2,
    leader: 'a',
    index: 7,
    time: 1_700_000_000_000,
    members: [member],
  },
  [MessageType.install]: {
    type: MessageType.install,
    term: 2,
    leader: 'a',
    index: 100,
    snapshotTerm: 2,
    time: 1_700_000_000_000,
    offset: 4096,
    data: bytes(7, 7, 7),
    complete: false,
  },
  [MessageType.join]: { type: MessageType.join, member: { ...member, type: 'passive' } },
  [MessageType.leave]: { type: MessageType.leave, member },
  [MessageType.reconfigure]: {
    type: MessageType.reconfigure,
    member: { ...member, type: 'reserve' },
    index: 7,
    term: 2,
  },
  [MessageType.transfer]: { type: MessageType.transfer, member: 'b' },
  [MessageType.timeoutNow]: { type: MessageType.timeoutNow, term: 2, leader: 'a' },
};

/** One valid ok response body for each request type. */
export const SAMPLE_RESPONSES: { [K in RequestType]: OkBody<K> } = {
  [MessageType.connect]: { status: 'ok', leader: 'a', members: ['a', 'b', 'c'] },
  [MessageType.register]: { status: 'ok', session: 3, leader: 'a', members: ['a', 'b', 'c'], timeout: 5000 },
  [MessageType.keepAlive]: { status: 'ok', members: ['a', 'b', 'c'] },
  [MessageType.unregister]: { status: 'ok' },
  [MessageType.command]: { status: 'ok', index: 41, eventIndex: 41, result: bytes(1) },
  [MessageType.query]: { status: 'ok', index: 41, eventIndex: 41, result: bytes() },
  [MessageType.publish]: { status: 'ok', index: 41 },
  [MessageType.reset]: { status: 'ok' },
  [MessageType.append]: {
    status: 'ok',
    term: 2,
    succeeded: false,
    lastLogIndex: 5,
    conflictIndex: 4,
    conflictTerm: 1,
  },
  [MessageType.poll]: { status: 'ok', term: 3, accepted: true },
  [MessageType.vote]: { status: 'ok', term: 3, voted: true },
  [MessageType.configure]: { status: 'ok', term: 2 },
  [MessageType.install]: { status: 'ok', term: 2 },
  [MessageType.join]: { status: 'ok', ...configuration },
  [MessageType.leave]: { status: 'ok', ...configuration },
  [MessageType.reconfigure]: { status: 'ok', ...configuration },
  [MessageType.transfer]: { status: 'ok', term: 3, leader: 'b' },
  [MessageType.timeoutNow]: { status: 'ok', term: 2 },
};

/** Fields each message may omit (everything else is required). */
export const OPTIONAL_REQUEST_FIELDS: { [K in RequestType]?: readonly string[] } = {
  [MessageType.vote]: ['transfer'],
};
export const OPTIONAL_RESPONSE_FIELDS: { [K in RequestType]?: readonly string[] } = {
  [MessageType.connect]: ['leader'],
  [MessageType.register]: ['leader'],
  [MessageType.keepAlive]: ['leader'],
  [MessageType.append]: ['conflictIndex', 'conflictTerm'],
  [MessageType.transfer]: ['leader'],
};

// ---- arbitraries -------------------------------------------------------------------------

const uint = fc.maxSafeNat();
const time = fc.oneof(uint, fc.double({ min: 0, max: 1e15, noNaN: true, noDefaultInfinity: true }));
const text = fc.string({ maxLength: 24, unit: 'grapheme' });
const data = fc.uint8Array({ maxLength: 128 });
const arbMember = fc.record({
  address: text,
  type: fc.constantFrom(...MEMBER_TYPES),
  status: fc.constantFrom(...MEMBER_STATUSES),
});
const members = fc.array(arbMember, { maxLength: 5 });
const addresses = fc.array(text, { maxLength: 5 });

/** A request arbitrary per type (without id). */
export const REQUEST_ARBITRARIES: { [K in RequestType]: fc.Arbitrary<Outgoing<K>> } = {
  [MessageType.connect]: fc.record({ type: fc.constant(MessageType.connect), client: text }),
  [MessageType.register]: fc.record({ type: fc.constant(MessageType.register), client: text, timeout: time }),
  [MessageType.keepAlive]: fc.record({
    type: fc.constant(MessageType.keepAlive),
    session: uint,
    commandSequence: uint,
    eventIndex: uint,
  }),
  [MessageType.unregister]: fc.record({ type: fc.constant(MessageType.unregister), session: uint }),
  [MessageType.command]: fc.record({
    type: fc.constant(MessageType.command),
    session: uint,
    sequence: uint,
    operation: data,
    compaction: fc.constantFrom(...COMPACTION_MODES),
  }),
  [MessageType.query]: fc.record({
    type: fc.constant(MessageType.query),
    session: uint,
    sequence: uint,
    index: uint,
    operation: data,
    consistency: fc.constantFrom(...CONSISTENCY_LEVELS),
  }),
  [MessageType.publish]: fc.record({
    type: fc.constant(MessageType.publish),
    session: uint,
    eventIndex: uint,
    previousIndex: uint,
    events: fc.array(fc.record({ name: text, message: data }), { maxLength: 4 }),
  }),
  [MessageType.reset]: fc.record({ type: fc.constant(MessageType.reset), session: uint, index: uint }),
  [MessageType.append]: fc.record({
    type: fc.constant(MessageType.append),
    term: uint,
    leader: text,
    prevLogIndex: uint,
    prevLogTerm: uint,
    entries: data,
    commitIndex: uint,
    globalIndex: uint,
  }),
  [MessageType.poll]: fc.record({
    type: fc.constant(MessageType.poll),
    term: uint,
    candidate: text,
    lastLogIndex: uint,
    lastLogTerm: uint,
  }),
  [MessageType.vote]: fc.record(
    {
      type: fc.constant(MessageType.vote),
      term: uint,
      candidate: text,
      lastLogIndex: uint,
      lastLogTerm: uint,
      transfer: fc.boolean(),
    },
    { requiredKeys: ['type', 'term', 'candidate', 'lastLogIndex', 'lastLogTerm'] },
  ),
  [MessageType.configure]: fc.record({
    type: fc.constant(MessageType.configure),
    term: uint,
    leader: text,
    index: uint,
    time,
    members,
  }),
  [MessageType.install]: fc.record({
    type: fc.constant(MessageType.install),
    term: uint,
    leader: text,
    index: uint,
    snapshotTerm: uint,
    time,
    offset: uint,
    data,
    complete: fc.boolean(),
  }),
  [MessageType.join]: fc.record({ type: fc.constant(MessageType.join), member: arbMember }),
  [MessageType.leave]: fc.record({ type: fc.constant(MessageType.leave), member: arbMember }),
  [MessageType.reconfigure]: fc.record({
    type: fc.constant(MessageType.reconfigure),
    member: arbMember,
    index: uint,
    term: uint,
  }),
  [MessageType.transfer]: fc.record({ type: fc.constant(MessageType.transfer), member: text }),
  [MessageType.timeoutNow]: fc.record({
    type: fc.constant(MessageType.timeoutNow),
    term: uint,
    leader: text,
  }),
};

const arbConfiguration = { index: uint, term: uint, time, members };
const ok = fc.constant('ok' as const);

/** An ok response body arbitrary per request type. */
export const RESPONSE_ARBITRARIES: { [K in RequestType]: fc.Arbitrary<OkBody<K>> } = {
  [MessageType.connect]: fc.record(
    { status: ok, leader: text, members: addresses },
    { requiredKeys: ['status', 'members'] },
  ),
  [MessageType.register]: fc.record(
    { status: ok, session: uint, leader: text, members: addresses, timeout: time },
    { requiredKeys: ['status', 'session', 'members', 'timeout'] },
  ),
  [MessageType.keepAlive]: fc.record(
    { status: ok, leader: text, members: addresses },
    { requiredKeys: ['status', 'members'] },
  ),
  [MessageType.unregister]: fc.record({ status: ok }),
  [MessageType.command]: fc.record({ status: ok, index: uint, eventIndex: uint, result: data }),
  [MessageType.query]: fc.record({ status: ok, index: uint, eventIndex: uint, result: data }),
  [MessageType.publish]: fc.record({ status: ok, index: uint }),
  [MessageType.reset]: fc.record({ status: ok }),
  [MessageType.append]: fc.record(
    {
      status: ok,
      term: uint,
      succeeded: fc.boolean(),
      lastLogIndex: uint,
      conflictIndex: uint,
      conflictTerm: uint,
    },
    { requiredKeys: ['status', 'term', 'succeeded', 'lastLogIndex'] },
  ),
  [MessageType.poll]: fc.record({ status: ok, term: uint, accepted: fc.boolean() }),
  [MessageType.vote]: fc.record({ status: ok, term: uint, voted: fc.boolean() }),
  [MessageType.configure]: fc.record({ status: ok, term: uint }),
  [MessageType.install]: fc.record({ status: ok, term: uint }),
  [MessageType.join]: fc.record({ status: ok, ...arbConfiguration }),
  [MessageType.leave]: fc.record({ status: ok, ...arbConfiguration }),
  [MessageType.reconfigure]: fc.record({ status: ok, ...arbConfiguration }),
  [MessageType.transfer]: fc.record(
    { status: ok, term: uint, leader: text },
    { requiredKeys: ['status', 'term'] },
  ),
  [MessageType.timeoutNow]: fc.record({ status: ok, term: uint }),
};

/** Any request with its type: `[type, request]`. */
export const anyRequest: fc.Arbitrary<OutgoingRequest> = fc.oneof(
  ...REQUEST_TYPES.map((type) => REQUEST_ARBITRARIES[type] as fc.Arbitrary<OutgoingRequest>),
);

/** A request with an id, for codec tests. */
export function withId<K extends RequestType>(request: Outgoing<K>, id: number): RequestMap[K] {
  return { ...request, id } as unknown as RequestMap[K];
}
