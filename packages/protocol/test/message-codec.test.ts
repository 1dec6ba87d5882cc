/**
 * The schema-driven codec (message-codec.ts) against the generic path it stands in for: what it
 * writes decodes generically to the same message, what it reads is what the generic decoder and
 * the validators make of the same bytes, and whatever it refuses is left to them.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ProtocolError } from '@copycat/common';
import { Serializer } from '@copycat/io';
import {
  MessageType,
  decodeMessages,
  encodeFrame,
  encodeRequest,
  encodeRequestWithId,
  encodeResponse,
  encodeResponseBody,
  messageFrame,
  validateRequest,
  type Message,
  type Request,
  type Response,
} from '@copycat/protocol';
import { anyRequestWithId, anyResponse, damagedFrame } from './damaged-frames.js';
import { REQUEST_ARBITRARIES, REQUEST_TYPES, SAMPLE_REQUESTS } from './fixtures.js';
import { generic } from './generic-path.js';

const serializer = new Serializer();
const nobodyWaits = () => undefined;

describe('encodeRequest and encodeResponse', () => {
  it('write what the generic decoder reads back as the same message', () => {
    fc.assert(
      fc.property(anyRequestWithId, (request) => {
        expect(serializer.decode(encodeRequest(request))).toEqual(request);
      }),
      { numRuns: 300 },
    );
    fc.assert(
      fc.property(anyResponse, ({ type, response }) => {
        expect(serializer.decode(encodeResponse(type, response))).toEqual(response);
      }),
      { numRuns: 300 },
    );
  });

  it('put type, id and status first, then the fields in schema order, leaving out unknown ones', () => {
    const request = { future: 1, ...SAMPLE_REQUESTS[MessageType.vote], id: 9 } as Request;
    const decoded = serializer.decode<Record<string, unknown>>(encodeRequest(request));
    expect(Object.keys(decoded)).toEqual(['type', 'id', 'term', 'candidate', 'lastLogIndex', 'lastLogTerm']);
    const response = { id: 4, status: 'ok', type: MessageType.response, term: 1, voted: false } as Response;
    expect(Object.keys(serializer.decode<object>(encodeResponse(MessageType.vote, response)))).toEqual([
      'type',
      'id',
      'status',
      'term',
      'voted',
    ]);
  });

  it('refuse a malformed message with the error the validators give', () => {
    fc.assert(
      fc.property(anyRequestWithId, fc.nat(), fc.anything(), (request, pick, replacement) => {
        const keys = Object.keys(request);
        const broken = { ...request, [keys[pick % keys.length]!]: replacement };
        let expected: unknown;
        try {
          validateRequest(broken);
        } catch (error) {
          expected = error;
        }
        if (expected === undefined) {
          expect(serializer.decode(encodeRequest(broken))).toEqual(validateRequest(broken));
        } else {
          expect(() => encodeRequest(broken)).toThrow((expected as Error).message);
          expect(() => encodeRequest(broken)).toThrow(ProtocolError);
        }
      }),
      { numRuns: Number(process.env.RUNS ?? 300) },
    );
    const vote = { ...SAMPLE_REQUESTS[MessageType.vote], id: 1 };
    expect(() => encodeResponse(MessageType.vote, { type: 0, id: 1, status: 'ok', term: 1 })).toThrow(
      /vote response\.voted is missing/,
    );
    expect(() => encodeRequest({ ...vote, type: 99 } as unknown as Request)).toThrow(
      /unknown message type 99/,
    );
    expect(() => encodeRequest(null as unknown as Request)).toThrow(ProtocolError);
  });

  it('leave strings only the generic encoder writes (lone surrogates) to it, known fields only', () => {
    const request = { ...SAMPLE_REQUESTS[MessageType.connect], client: 'a\ud800b', id: 3 } as Request;
    const withUnknown = { ...request, extra: new Date(0) } as unknown as Request;
    const encoded = encodeRequest(withUnknown).slice();
    expect(encoded).toEqual(serializer.encode({ type: request.type, id: 3, client: 'a\ud800b' }));
    expect(serializer.decode(encoded)).toEqual(serializer.decode(serializer.encode(request)));
  });
});

describe('encodeRequestWithId and encodeResponseBody (the envelope given apart)', () => {
  it('write the same bytes as the whole message, whatever envelope the object carries', () => {
    fc.assert(
      fc.property(anyRequestWithId, fc.integer({ min: 1, max: 2 ** 32 - 1 }), (request, id) => {
        const expected = encodeRequest({ ...request, id }).slice();
        const { id: _own, ...outgoing } = request;
        expect(encodeRequestWithId(id, outgoing)).toEqual(expected);
        expect(encodeRequestWithId(id, request)).toEqual(expected); // its own id is not written
      }),
      { numRuns: 300 },
    );
    fc.assert(
      fc.property(anyResponse, fc.integer({ min: 1 }), ({ type, response }, id) => {
        const expected = encodeResponse(type, { ...response, id }).slice();
        const { type: _type, id: _id, ...body } = response;
        expect(encodeResponseBody(type, id, body)).toEqual(expected);
        const stray = { ...body, type: 77, id: -1 } as unknown as typeof body;
        expect(encodeResponseBody(type, id, stray)).toEqual(expected);
      }),
      { numRuns: 300 },
    );
  });

  it('refuse what does not fit with the error the validators give for the whole message', () => {
    const { id: _id, ...vote } = { ...SAMPLE_REQUESTS[MessageType.vote], id: 1 };
    expect(() => encodeRequestWithId(0, vote)).toThrow(/vote request\.id must be a positive integer/);
    expect(() => encodeRequestWithId(1, { ...vote, term: -1 })).toThrow(/vote request\.term/);
    expect(() => encodeResponseBody(MessageType.vote, 1, { status: 'ok', term: 1 } as never)).toThrow(
      /vote response\.voted is missing/,
    );
    // A whole response must carry its own envelope right.
    expect(() =>
      encodeResponse(MessageType.vote, { type: 5, id: 1, status: 'ok', term: 1, voted: true } as never),
    ).toThrow(ProtocolError);
  });
});

describe('decodeMessages', () => {
  it('reads back every request and response the encoders write', () => {
    fc.assert(
      fc.property(anyRequestWithId, (request) => {
        const checked = decodeMessages(messageFrame(encodeRequest(request)), nobodyWaits);
        expect(checked).toEqual({ messages: [request], types: [request.type] });
      }),
      { numRuns: 300 },
    );
    fc.assert(
      fc.property(anyResponse, ({ type, response }) => {
        const checked = decodeMessages(messageFrame(encodeResponse(type, response)), () => type);
        expect(checked).toEqual({ messages: [response], types: [type] });
      }),
      { numRuns: 300 },
    );
  });

  it('drops a response nobody waits for, and keeps the others of the frame', () => {
    const vote = { ...SAMPLE_REQUESTS[MessageType.vote], id: 1 } as Request;
    const frame = encodeFrame([
      { type: MessageType.response, id: 5, status: 'ok', term: 1, voted: true },
      vote,
    ]);
    expect(decodeMessages(frame, nobodyWaits)).toEqual({ messages: [vote], types: [MessageType.vote] });
  });

  it('accepts exactly what the generic path accepts, with the same messages', () => {
    let accepted = 0;
    fc.assert(
      fc.property(damagedFrame, (damaged) => {
        if (damaged === null) return;
        const { frame, requestTypeOf } = damaged;
        const fast = decodeMessages(frame, requestTypeOf);
        if (fast === undefined) return; // left to the generic path
        accepted++;
        const slow = generic(frame, requestTypeOf);
        expect(slow.accepted).toBe(true);
        expect(slow.messages).toHaveLength(fast.messages.length);
        fast.messages.forEach((message, i) => {
          // The generic path keeps unknown fields; the schemas leave them out.
          expect(slow.messages[i]).toMatchObject(message);
          for (const key of Object.keys(message)) expect(slow.messages[i]).toHaveProperty(key);
        });
      }),
      { numRuns: 1000 },
    );
    // Not vacuous: a good share of the frames took the schema path.
    expect(accepted).toBeGreaterThan(100);
  });

  it('leaves frames written in another order, or with unusual values, to the generic path', () => {
    const vote = { ...SAMPLE_REQUESTS[MessageType.vote], id: 1 };
    expect(decodeMessages(serializer.encode([1, vote]), nobodyWaits)).toBeDefined();
    const { type, ...fields } = vote;
    expect(decodeMessages(serializer.encode([1, { ...fields, type }]), nobodyWaits)).toBeUndefined();
    expect(decodeMessages(serializer.encode([2, vote]), nobodyWaits)).toBeUndefined();
    expect(decodeMessages(serializer.encode([1, { ...vote, term: 1.5 }]), nobodyWaits)).toBeUndefined();
    expect(decodeMessages(serializer.encode([1, { ...vote, candidate: 'ü' }]), nobodyWaits)).toBeDefined();
    expect(decodeMessages(serializer.encode([1, vote]).subarray(0, 10), nobodyWaits)).toBeUndefined();
    expect(decodeMessages(new Uint8Array([0x91]), nobodyWaits)).toBeUndefined();
  });

  it('checks a response against the request it answers', () => {
    const response = { type: MessageType.response, id: 2, status: 'ok', term: 1, voted: true };
    const frame = encodeFrame([response as Message]);
    expect(decodeMessages(frame, () => MessageType.vote)?.messages).toEqual([response]);
    expect(decodeMessages(frame, () => MessageType.poll)).toBeUndefined();
    const error = {
      type: MessageType.response,
      id: 2,
      status: 'error',
      error: { code: 'NO_LEADER', message: 'x' },
    };
    expect(decodeMessages(encodeFrame([error as Message]), () => MessageType.poll)?.messages).toEqual([
      error,
    ]);
  });

  it('reads every request arbitrary with optional fields left out or present', () => {
    for (const type of REQUEST_TYPES) {
      fc.assert(
        fc.property(REQUEST_ARBITRARIES[type] as fc.Arbitrary<object>, (request) => {
          const message = { ...request, id: 7 } as Request;
          expect(decodeMessages(messageFrame(encodeRequest(message)), nobodyWaits)?.messages).toEqual([
            message,
          ]);
        }),
        { numRuns: 20 },
      );
    }
  });
});
