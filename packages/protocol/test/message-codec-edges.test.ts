/**
 * Frames on which the schema path (decodeMessages / encodeRequest) and the generic path
 * (Serializer.decode + readEnvelope + validate*, or validateRequest) could disagree, each found by
 * a review of the schema codec. Frames are built by hand so that they can hold what no JS object
 * encodes to (duplicate keys, keys that are not strings).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { SerializationError, SystemScheduler } from '@copycat/common';
import { Serializer } from '@copycat/io';
import { MessageType, decodeMessages, encodeRequest, validateRequest, type Request } from '@copycat/protocol';
import { SAMPLE_REQUESTS } from './fixtures.js';
import { generic } from './generic-path.js';
import { pipe, type PipeEnd } from './pipe.js';

const serializer = new Serializer();
const nobodyWaits = () => undefined;

// ---- a tiny msgpack builder: maps as lists of [key bytes, value bytes] ---------------------
const v = (value: unknown) => serializer.encode(value);
const cat = (...parts: Uint8Array[]) => {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
};
const map = (...entries: [Uint8Array, Uint8Array][]) =>
  cat(new Uint8Array([0x80 | entries.length]), ...entries.flat());
const entriesOf = (object: object): [Uint8Array, Uint8Array][] =>
  Object.entries(object).map(([k, x]) => [v(k), v(x)]);
const frame = (...messages: Uint8Array[]) =>
  cat(new Uint8Array([0x90 | (messages.length + 1), 1]), ...messages);

const vote = { ...SAMPLE_REQUESTS[MessageType.vote], id: 1 };

describe('decodeMessages accepts only what the generic path accepts', () => {
  // skip() passes over nested maps without checking their keys; the stock decoder refuses any
  // key that is not a string or a number, and `__proto__` at any depth.
  const badNested: [string, Uint8Array][] = [
    ['nil key', new Uint8Array([0x81, 0xc0, 0x01])],
    ['boolean key', new Uint8Array([0x81, 0xc3, 0x01])],
    ['array key', new Uint8Array([0x81, 0x90, 0x01])],
    ['map key', new Uint8Array([0x81, 0x80, 0x01])],
    ['binary key', new Uint8Array([0x81, 0xc4, 0x00, 0x01])],
    ['__proto__ key', cat(new Uint8Array([0x81]), v('__proto__'), new Uint8Array([0x01]))],
  ];
  for (const [what, value] of badNested) {
    it(`refuses an unknown field holding a map with a ${what} (request)`, () => {
      const bytes = frame(map(...entriesOf(vote), [v('extra'), value]));
      expect(generic(bytes, nobodyWaits).accepted).toBe(false);
      expect(decodeMessages(bytes, nobodyWaits)).toBeUndefined();
    });
    it(`refuses an unknown field holding a map with a ${what} (dropped response)`, () => {
      const late = map(...entriesOf({ type: 0, id: 5, status: 'ok', term: 1, voted: true }), [v('x'), value]);
      const bytes = frame(late, v(vote));
      expect(generic(bytes, nobodyWaits).accepted).toBe(false);
      // Not: drop the late response and hand the vote request to its handler.
      expect(decodeMessages(bytes, nobodyWaits)).toBeUndefined();
    });
  }

  it("makes no room for messages a frame only claims to hold (the count is the peer's word)", () => {
    // A 16 MiB frame whose header claims a message per byte, and whose first message is bad: it
    // is refused at the first message, without arrays of 16 million slots made first (that took
    // ~230 ms a frame; refusing it takes microseconds).
    const size = 16 << 20;
    const bytes = new Uint8Array(size + 7);
    bytes.set([0xdd, size >>> 24, (size >>> 16) & 0xff, (size >>> 8) & 0xff, size & 0xff, 1, 0xc1]);
    const start = performance.now();
    for (let i = 0; i < 10; i++) expect(decodeMessages(bytes, nobodyWaits)).toBeUndefined();
    expect((performance.now() - start) / 10).toBeLessThan(50);
  });

  it('does not drop a "late" response whose duplicate `type` makes it a request', () => {
    // {type: response, id: 5, status: ok, type: vote, ...vote fields}: the generic decoder keeps
    // the last `type`, so this is a vote request (id 5) to the generic path.
    const { type: _type, id: _id, ...fields } = vote;
    const bytes = frame(
      map(
        ...entriesOf({ type: 0, id: 5, status: 'ok' }),
        [v('type'), v(MessageType.vote)],
        ...entriesOf(fields),
      ),
    );
    const slow = generic(bytes, nobodyWaits);
    expect(slow).toEqual({ accepted: true, messages: [{ ...vote, id: 5, status: 'ok' }] });
    const fast = decodeMessages(bytes, nobodyWaits);
    // Either leave it to the generic path or read the same request: not drop it.
    if (fast !== undefined) expect(fast.messages).toHaveLength(1);
  });

  it('does not drop a response whose duplicate `id` names a pending request', () => {
    // id 5 is not pending, the last `id` (1) is: the generic path completes request 1.
    const bytes = frame(
      map(...entriesOf({ type: 0, id: 5, status: 'ok', term: 1, voted: true }), [v('id'), v(1)]),
    );
    const pending = (id: number) => (id === 1 ? MessageType.vote : undefined);
    const slow = generic(bytes, pending);
    expect(slow.messages).toHaveLength(1);
    const fast = decodeMessages(bytes, pending);
    if (fast !== undefined) expect(fast.messages).toHaveLength(1);
  });
});

describe('BaseConnection: schema path vs generic path on the same frame', () => {
  const scheduler = new SystemScheduler();
  /** An end whose peer never answers (its requests stay pending). */
  function lonely(): PipeEnd {
    const [a] = pipe(scheduler);
    a.peer = undefined;
    return a;
  }

  it('a duplicate `id` routes a response checked as one type to a request of another', async () => {
    const a = lonely();
    const voting = a.send(SAMPLE_REQUESTS[MessageType.vote], { timeout: 200 }); // id 1
    const appending = a.send(SAMPLE_REQUESTS[MessageType.append], { timeout: 200 }); // id 2
    // Last `id` wins in the generic decoder: {type: 0, id: 2, status: ok, term, voted,
    // succeeded, lastLogIndex} is a valid append response for request 2.
    const bytes = frame(
      map(
        ...entriesOf({ type: 0, id: 1, status: 'ok', term: 1, voted: true }),
        [v('id'), v(2)],
        ...entriesOf({ succeeded: true, lastLogIndex: 3 }),
      ),
    );
    const slow = generic(bytes, (id) =>
      id === 1 ? MessageType.vote : id === 2 ? MessageType.append : undefined,
    );
    expect(slow.accepted).toBe(true);
    a.deliver(bytes);
    // As the generic path: resolved with the append response (not checked as a vote response,
    // its append fields dropped as unknown, then rejected as an append response).
    await expect(appending).resolves.toMatchObject({ id: 2, status: 'ok', succeeded: true, lastLogIndex: 3 });
    await expect(voting).rejects.toThrow(/timed out/);
    await a.close();
  });

  it('a frame the generic decoder refuses is not handled (nested map with a nil key)', () => {
    const a = lonely();
    const errors: unknown[] = [];
    a.onError((error) => errors.push(error));
    let handled = 0;
    a.handler(MessageType.vote, () => (handled++, { status: 'ok', term: 1, voted: true }));
    a.deliver(frame(map(...entriesOf(vote), [v('extra'), new Uint8Array([0x81, 0xc0, 0x01])])));
    // Generic: "undecodable frame ... The type of key must be string or number", nothing handled.
    expect(handled).toBe(0);
    expect(errors).toHaveLength(1);
    void a.close();
  });

  it('a response to a request a handler sent earlier in the same frame', async () => {
    // A peer cannot honestly answer a request it has not seen, but the generic path (which checks
    // each message against what is pending when it gets to it) completes it: so must the schema
    // path, which looks pending requests up before running any handler.
    const a = lonely();
    let polling: Promise<unknown> | undefined;
    a.handler(MessageType.vote, () => {
      polling = a.send(SAMPLE_REQUESTS[MessageType.poll], { timeout: 100 }); // id 1
      return { status: 'ok', term: 1, voted: true };
    });
    a.deliver(frame(v({ ...vote, id: 9 }), v({ type: 0, id: 1, status: 'ok', term: 3, accepted: true })));
    expect(polling).toBeDefined();
    await expect(polling).resolves.toMatchObject({ id: 1, accepted: true });
    await a.close();
  });
});

describe('encodeRequest throws what validateRequest throws', () => {
  it('for a request that is not a plain object but has a known type', () => {
    for (const bad of [
      Object.assign([], { ...vote }),
      Object.assign(new (class Vote {})(), vote),
    ] as unknown as Request[]) {
      let expected = '';
      try {
        validateRequest(bad);
      } catch (error) {
        expected = (error as Error).message;
      }
      expect(expected).toMatch(/^request must be an object/);
      // toThrow(string) matches a substring: compare the whole message.
      expect(() => encodeRequest(bad)).toThrow(new RegExp(`^${expected}$`));
    }
  });

  it('for a valid request with a lone surrogate and an unknown field holding a class instance', () => {
    // Unknown fields are left out with or without the lone surrogate (which the generic encoder
    // writes): a valid request never becomes unsendable for a field nobody reads.
    const extra = { extra: new (class Opaque {})() };
    const plain = { ...SAMPLE_REQUESTS[MessageType.connect], id: 1, ...extra } as Request;
    expect(() => encodeRequest(plain)).not.toThrow();
    const surrogate = { ...plain, client: 'a\ud800' } as Request;
    expect(validateRequest(surrogate)).toBe(surrogate);
    let thrown: unknown;
    try {
      encodeRequest(surrogate);
    } catch (error) {
      thrown = error;
    }
    expect(thrown).not.toBeInstanceOf(SerializationError);
    expect(thrown).toBeUndefined();
  });

  it('is not corrupted by a re-entrant encoding (a getter that sends)', () => {
    // As the Serializer's fast path, the schema writer is guarded against re-entrancy.
    const inner = { ...SAMPLE_REQUESTS[MessageType.connect], id: 2 } as Request;
    const member = {
      get address() {
        encodeRequest(inner);
        return 'm';
      },
      type: 'active',
      status: 'available',
    };
    const join = { type: MessageType.join, id: 1, member } as unknown as Request;
    const bytes = encodeRequest(join).slice();
    expect(serializer.decode(bytes)).toEqual({
      type: MessageType.join,
      id: 1,
      member: { address: 'm', type: 'active', status: 'available' },
    });
  });
});

describe('values whose String() throws', () => {
  // Off the wire, `{ toString: '' }` is a plain object whose String() throws a TypeError: the
  // errors built for it must not, or a peer could crash the receiver with one frame.
  const trap = new Uint8Array([0x81, 0xa8, ...new TextEncoder().encode('toString'), 0xa0]);

  it('as a message type, or as the protocol version, give a ProtocolError', () => {
    const a = pipe(new SystemScheduler())[0];
    a.peer = undefined;
    const errors: Error[] = [];
    a.onError((error) => errors.push(error));
    a.deliver(frame(map([v('type'), trap], [v('id'), v(1)])));
    a.deliver(cat(new Uint8Array([0x92]), trap, v(vote)));
    expect(errors.map((error) => error.message)).toEqual([
      'unknown message type an object',
      'unsupported protocol version an object (this side speaks 1)',
    ]);
    expect(() => validateRequest({ type: { toString: '' }, id: 1 })).toThrow(
      /unknown message type an object/,
    );
    void a.close();
  });
});

describe('hand-built frames (duplicate keys, keys of any kind), fuzzed', () => {
  it('the schema path accepts only what the generic path accepts, with the same messages', () => {
    // Valid vote requests and vote responses, with extra entries (keys repeated or of any kind,
    // values plausible or anything) appended, and sometimes all entries shuffled.
    const key = fc.oneof(
      fc.constantFrom('type', 'id', 'status', 'term', 'voted', 'candidate', 'lastLogIndex', 'lastLogTerm'),
      fc.constantFrom('accepted', '__proto__', 'x'),
      fc.constantFrom(0, 1, null, true),
    );
    const value = fc.oneof(
      { arbitrary: fc.constantFrom(0, 1, 2, 5, 10, 11, 'ok', 'error', 'b', true, false), weight: 4 },
      { arbitrary: fc.anything({ withMap: false, withSet: false, withBigInt: false }), weight: 1 },
    );
    const base = fc.constantFrom<[unknown, unknown][]>(
      Object.entries(vote),
      Object.entries({ ...vote, id: 2 }),
      Object.entries({ type: 0, id: 1, status: 'ok', term: 1, voted: true }),
      Object.entries({ type: 0, id: 5, status: 'ok', term: 1, voted: true }),
      Object.entries({ type: 0, id: 2, status: 'error', error: { code: 'NO_LEADER', message: 'm' } }),
    );
    const message = fc
      .tuple(base, fc.array(fc.tuple(key, value), { maxLength: 2 }), fc.nat(7))
      .map(([entries, extra, shuffle]) => {
        const all = [...entries, ...extra];
        if (shuffle === 0) all.reverse();
        return all;
      });
    let accepted = 0;
    fc.assert(
      fc.property(fc.array(message, { minLength: 1, maxLength: 3 }), (messages) => {
        let bytes: Uint8Array;
        try {
          bytes = frame(
            ...messages.map((entries) =>
              map(...entries.map(([k, x]) => [v(k), v(x)] as [Uint8Array, Uint8Array])),
            ),
          );
        } catch {
          return;
        }
        const requestTypeOf = (id: number) => (id === 1 || id === 2 ? MessageType.vote : undefined);
        const fast = decodeMessages(bytes, requestTypeOf);
        if (fast === undefined) return;
        accepted++;
        const slow = generic(bytes, requestTypeOf);
        expect(slow.accepted).toBe(true);
        expect(slow.messages).toHaveLength(fast.messages.length);
        fast.messages.forEach((m, i) => expect(slow.messages[i]).toMatchObject(m));
      }),
      { numRuns: 3000 },
    );
    expect(accepted).toBeGreaterThan(300);
  });
});
