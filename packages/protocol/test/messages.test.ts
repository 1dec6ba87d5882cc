import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ProtocolError } from '@copycat/common';
import {
  MessageType,
  isRequestType,
  decodeFrame,
  encodeFrame,
  messageTypeName,
  validateRequest,
  validateResponse,
  type Message,
} from '@copycat/protocol';
import {
  OPTIONAL_REQUEST_FIELDS,
  OPTIONAL_RESPONSE_FIELDS,
  REQUEST_ARBITRARIES,
  REQUEST_TYPES,
  RESPONSE_ARBITRARIES,
  SAMPLE_REQUESTS,
  SAMPLE_RESPONSES,
} from './fixtures.js';

/** Encodes one message into a frame and decodes it back (unchecked). */
function throughWire(message: object): unknown {
  const { messages, errors } = decodeFrame(encodeFrame([message as Message]));
  expect(errors).toEqual([]);
  expect(messages).toHaveLength(1);
  return messages[0];
}

/** A value of another type than `value`, to replace it with. */
function wrongType(value: unknown): unknown {
  if (typeof value === 'string') return 42;
  if (typeof value === 'number') return 'forty-two';
  if (typeof value === 'boolean') return 1;
  if (value instanceof Uint8Array) return [1, 2, 3];
  return 'not an object or array';
}

describe.each(REQUEST_TYPES.map((type) => [messageTypeName(type), type] as const))('%s', (_name, type) => {
  const request = { ...SAMPLE_REQUESTS[type], id: 17 };
  const response = { ...SAMPLE_RESPONSES[type], type: MessageType.response, id: 17 };

  it('a request round-trips through a frame and validates', () => {
    expect(validateRequest(throughWire(request))).toEqual(request);
  });

  it('arbitrary requests round-trip', () => {
    fc.assert(
      fc.property(REQUEST_ARBITRARIES[type], fc.integer({ min: 1, max: 0xffff_ffff }), (body, id) => {
        const message = { ...body, id };
        expect(validateRequest(throughWire(message))).toEqual(message);
      }),
      { numRuns: 50 },
    );
  });

  it('an ok response round-trips and validates against its request type', () => {
    expect(validateResponse(type, throughWire(response))).toEqual(response);
  });

  it('arbitrary ok responses round-trip', () => {
    fc.assert(
      fc.property(RESPONSE_ARBITRARIES[type], (body) => {
        const message = { ...body, type: MessageType.response, id: 3 };
        expect(validateResponse(type, throughWire(message))).toEqual(message);
      }),
      { numRuns: 50 },
    );
  });

  it('an error response with hints validates', () => {
    const error = {
      type: MessageType.response,
      id: 9,
      status: 'error',
      error: { code: 'NO_LEADER', message: 'not the leader' },
      leader: 'b',
      term: 4,
      lastSequence: 10,
    };
    expect(validateResponse(type, throughWire(error))).toEqual(error);
  });

  it('a request missing any required field is a ProtocolError naming the field', () => {
    const optional = OPTIONAL_REQUEST_FIELDS[type] ?? [];
    for (const key of Object.keys(request)) {
      if (optional.includes(key)) continue;
      const broken: Record<string, unknown> = { ...request };
      delete broken[key];
      expect(() => validateRequest(broken), key).toThrow(ProtocolError);
      if (key !== 'type' && key !== 'id') expect(() => validateRequest(broken)).toThrow(key);
    }
  });

  it('a request with any field of the wrong type is a ProtocolError', () => {
    for (const [key, value] of Object.entries(request)) {
      const broken = { ...request, [key]: wrongType(value) };
      expect(() => validateRequest(broken), key).toThrow(ProtocolError);
    }
  });

  it('a response missing any required field, or with a wrong type, is a ProtocolError', () => {
    const optional = OPTIONAL_RESPONSE_FIELDS[type] ?? [];
    for (const [key, value] of Object.entries(response)) {
      const missing: Record<string, unknown> = { ...response };
      delete missing[key];
      if (!optional.includes(key)) expect(() => validateResponse(type, missing), key).toThrow(ProtocolError);
      expect(() => validateResponse(type, { ...response, [key]: wrongType(value) }), key).toThrow(
        ProtocolError,
      );
    }
  });

  it('optional response fields may be absent', () => {
    const trimmed: Record<string, unknown> = { ...response };
    for (const key of OPTIONAL_RESPONSE_FIELDS[type] ?? []) delete trimmed[key];
    expect(validateResponse(type, trimmed)).toEqual(trimmed);
  });
});

describe('validation', () => {
  const vote = { ...SAMPLE_REQUESTS[MessageType.vote], id: 1 };

  it('knows the request types, and nothing else is one', () => {
    for (const [name, type] of Object.entries(MessageType)) {
      expect(isRequestType(type)).toBe(name !== 'response');
    }
    for (const value of [-1, 0.5, 1.5, 99, 2 ** 32 + 1, Number.NaN, Infinity, '1', null, undefined, {}]) {
      expect(isRequestType(value)).toBe(false);
    }
  });

  it('indexes and terms must be non-negative safe integers', () => {
    for (const term of [-1, 1.5, Number.NaN, Number.POSITIVE_INFINITY, 2 ** 53]) {
      expect(() => validateRequest({ ...vote, term })).toThrow(
        /vote request\.term must be a non-negative integer/,
      );
    }
  });

  it('ids must be positive integers', () => {
    for (const id of [0, -1, 1.5, '1']) expect(() => validateRequest({ ...vote, id })).toThrow(ProtocolError);
  });

  it('unknown message types are a ProtocolError', () => {
    expect(() => validateRequest({ type: 99, id: 1 })).toThrow(/unknown message type 99/);
    expect(() => validateRequest({ type: MessageType.response, id: 1 })).toThrow(/unknown message type 0/);
    expect(() => validateRequest('vote')).toThrow(ProtocolError);
    expect(() => validateRequest(null)).toThrow(ProtocolError);
  });

  it('enumerations are checked', () => {
    const command = { ...SAMPLE_REQUESTS[MessageType.command], id: 1 };
    expect(() => validateRequest({ ...command, compaction: 'sometimes' })).toThrow(
      /compaction must be one of/,
    );
    const join = { ...SAMPLE_REQUESTS[MessageType.join], id: 1 };
    expect(() => validateRequest({ ...join, member: { ...join.member, type: 'boss' } })).toThrow(
      /member\.type/,
    );
    const configure = { ...SAMPLE_REQUESTS[MessageType.configure], id: 1 };
    expect(() => validateRequest({ ...configure, members: [{ address: 'a', type: 'active' }] })).toThrow(
      /members\[0\]\.status is missing/,
    );
  });

  it('error responses need a known error code', () => {
    const error = {
      type: MessageType.response,
      id: 1,
      status: 'error',
      error: { code: 'OOPS', message: '' },
    };
    expect(() => validateResponse(MessageType.vote, error)).toThrow(/error\.code must be one of/);
  });

  it('a response status other than ok or error is a ProtocolError', () => {
    const response = {
      ...SAMPLE_RESPONSES[MessageType.vote],
      type: MessageType.response,
      id: 1,
      status: 'maybe',
    };
    expect(() => validateResponse(MessageType.vote, response)).toThrow(/status must be one of "ok"/);
  });

  it('optional request fields are checked when present', () => {
    expect(validateRequest({ ...vote, transfer: true })).toMatchObject({ transfer: true });
    expect(() => validateRequest({ ...vote, transfer: 'yes' })).toThrow(
      /vote request\.transfer must be a boolean/,
    );
  });

  it('extra fields are ignored, so a newer peer may add optional fields', () => {
    expect(validateRequest({ ...vote, future: [1, 2] })).toMatchObject(vote);
  });

  it('objects that are not plain (e.g. a decoded Map) are refused', () => {
    expect(() => validateRequest(new Map([['type', MessageType.vote]]))).toThrow(ProtocolError);
  });
});
