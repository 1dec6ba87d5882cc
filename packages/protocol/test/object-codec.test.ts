/**
 * The object codecs (object-codec.ts): compiled per schema where the runtime allows code
 * generation, loops where it does not (a page whose Content-Security-Policy forbids it). Both
 * must give the same bytes, the same messages and the same refusals.
 */
import vm from 'node:vm';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { MsgpackReader, MsgpackWriter, READ_REFUSED, Serializer } from '@copycat/io';
import * as compiled from '@copycat/protocol';
import { loopCodec, objectCodec, objectCodecKind } from '../src/object-codec.js';
import { optional, positiveInt, string, uint } from '../src/schema.js';
import { anyRequestWithId, anyResponse, damagedFrame } from './damaged-frames.js';
import { SAMPLE_REQUESTS } from './fixtures.js';
import { generic } from './generic-path.js';

const serializer = new Serializer();

/** The protocol module loaded where `new Function` throws, as under a strict CSP. */
let loops: typeof compiled;
let loopsKind: string;
let generationTried = 0;

beforeAll(async () => {
  const RealFunction = Function;
  vi.stubGlobal(
    'Function',
    new Proxy(RealFunction, {
      construct() {
        generationTried++;
        throw new EvalError('code generation from strings disallowed for this context');
      },
    }),
  );
  vi.resetModules();
  try {
    loops = await import('../src/index.js');
    loopsKind = (await import('../src/object-codec.js')).objectCodecKind;
  } finally {
    vi.unstubAllGlobals();
  }
});

afterAll(() => vi.resetModules());

/** Every object's keys in order, nested ones included (toEqual does not look at the order). */
function keyOrder(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(keyOrder);
  if (typeof value !== 'object' || value === null || value instanceof Uint8Array) return null;
  return Object.entries(value).map(([key, field]) => [key, keyOrder(field)]);
}

/** What `fn` returns, or the error it throws (compared by message). */
function outcome(fn: () => unknown): unknown {
  try {
    return { value: fn() };
  } catch (error) {
    return { error: (error as Error).message };
  }
}

describe('without code generation', () => {
  it('falls back to loops, found out once; Node gets the compiled codecs', () => {
    expect(generationTried).toBe(1);
    expect(loopsKind).toBe('loops');
    expect(objectCodecKind).toBe('compiled');
  });

  it('encodes every request and response to the same bytes', () => {
    fc.assert(
      fc.property(anyRequestWithId, (request) => {
        const expected = compiled.encodeRequest(request).slice();
        expect(loops.encodeRequest(request)).toEqual(expected);
      }),
      { numRuns: 300 },
    );
    fc.assert(
      fc.property(anyResponse, ({ type, response }) => {
        const expected = compiled.encodeResponse(type, response).slice();
        expect(loops.encodeResponse(type, response)).toEqual(expected);
      }),
      { numRuns: 300 },
    );
  });

  it('refuses the same malformed messages with the same errors', () => {
    fc.assert(
      fc.property(anyRequestWithId, fc.nat(), fc.anything(), (request, pick, replacement) => {
        const keys = Object.keys(request);
        const broken = { ...request, [keys[pick % keys.length]!]: replacement } as compiled.Request;
        const expected = outcome(() => compiled.encodeRequest(broken).slice());
        expect(outcome(() => loops.encodeRequest(broken).slice())).toEqual(expected);
      }),
      { numRuns: 300 },
    );
  });

  it('decodes damaged frames to the same messages, and leaves the same ones to the generic path', () => {
    let decoded = 0;
    fc.assert(
      fc.property(damagedFrame, (damaged) => {
        if (damaged === null) return;
        const expected = compiled.decodeMessages(damaged.frame, damaged.requestTypeOf);
        if (expected !== undefined) decoded++;
        const actual = loops.decodeMessages(damaged.frame, damaged.requestTypeOf);
        expect(actual).toStrictEqual(expected);
        expect(keyOrder(actual)).toEqual(keyOrder(expected));
      }),
      { numRuns: 1000 },
    );
    expect(decoded).toBeGreaterThan(100);
  });
});

describe.each([
  ['compiled', objectCodec],
  ['loops', loopCodec],
] as const)('objectCodec (%s)', (_kind, make) => {
  const fields = { name: string, id: positiveInt, note: optional(string), count: optional(uint) };
  const keys = Object.keys(fields);
  const codec = make(
    keys,
    Object.values(fields),
    keys.map((key) => serializer.encode(key)),
  );

  const read = (value: unknown, preset: unknown[] = []) => {
    const reader = new MsgpackReader();
    const bytes = serializer.encode(value);
    reader.reset(bytes);
    const count = reader.readMapHeader() - preset.length;
    for (let i = 0; i < preset.length; i++) {
      reader.readKey();
      reader.skip();
    }
    return codec.readRest(reader, count, preset);
  };

  it('builds the object from the preset values and the rest, leaving absent optional fields out', () => {
    expect(read({ name: 'a', id: 3, extra: [1, 2], count: 4 })).toEqual({ name: 'a', id: 3, count: 4 });
    expect(Object.keys(read({ name: 'a', id: 3 }))).toEqual(['name', 'id']);
    expect(read({ name: 'a', id: 3, note: 'n' }, ['a'])).toEqual({ name: 'a', id: 3, note: 'n' });
  });

  it('refuses repeated, missing and ill-typed fields, a preset one repeated included', () => {
    expect(() => read({ name: 'a' })).toThrow(READ_REFUSED);
    expect(() => read({ name: 'a', id: 0 })).toThrow(READ_REFUSED);
    expect(() => read({ name: 'a', id: 2, note: 5 })).toThrow(READ_REFUSED);
    // The preset stands for the first entry, which was `name`: a second `name` is a repeat.
    const bytes = new Uint8Array([0x83, 0xa4, ...new TextEncoder().encode('name'), 0xa1, 0x61]);
    const reader = new MsgpackReader();
    reader.reset(
      new Uint8Array([
        ...bytes,
        0xa2,
        0x69,
        0x64,
        0x01,
        0xa4,
        ...new TextEncoder().encode('name'),
        0xa1,
        0x62,
      ]),
    );
    reader.readMapHeader();
    reader.readKey();
    reader.skip();
    expect(() => codec.readRest(reader, 2, ['a'])).toThrow(READ_REFUSED);
  });

  it('passes over numeric keys and keys an object inherits', () => {
    const writer = new MsgpackWriter();
    writer.mapHeader(4);
    writer.string('name');
    writer.string('a');
    writer.number(7);
    writer.string('x');
    writer.string('id');
    writer.number(1);
    writer.string('constructor');
    writer.number(2);
    const reader = new MsgpackReader();
    reader.reset(writer.written().slice());
    expect(codec.readRest(reader, reader.readMapHeader(), [])).toEqual({ name: 'a', id: 1 });
    expect(reader.atEnd).toBe(true);
  });

  it('writes fields in schema order and refuses what does not fit', () => {
    const writer = new MsgpackWriter();
    expect(codec.write(writer, { id: 5, name: 'x', other: 1 })).toBe(true);
    expect(serializer.decode(writer.written().slice())).toEqual({ name: 'x', id: 5 });
    writer.reset();
    expect(codec.write(writer, { name: 'x' })).toBe(false);
    writer.reset();
    expect(codec.write(writer, { name: 'x', id: 1, count: -1 })).toBe(false);
  });

  it('reads fields in any order and any key encoding, not only as written', () => {
    const name = new TextEncoder().encode('name');
    // id before name, and `name` as a str8 key (0xd9) rather than the fixstr the writer uses.
    const bytes = new Uint8Array([0x82, 0xa2, 0x69, 0x64, 0x07, 0xd9, 4, ...name, 0xa1, 0x61]);
    const reader = new MsgpackReader();
    reader.reset(bytes);
    expect(codec.readRest(reader, reader.readMapHeader(), [])).toEqual({ name: 'a', id: 7 });
    expect(reader.atEnd).toBe(true);
    fc.assert(
      fc.property(
        fc.record({ name: fc.string(), id: fc.integer({ min: 1 }), note: fc.option(fc.string()) }),
        fc.boolean(),
        (value, reverse) => {
          const entries = Object.entries(value).filter(([, field]) => field !== null);
          const object = Object.fromEntries(reverse ? entries.reverse() : entries);
          expect(read(object)).toEqual(object);
        },
      ),
    );
  });

  it('writes an envelope given apart from the object in place of its own type and id', () => {
    const envelope = make(
      ['type', 'id', 'name'],
      [uint, positiveInt, string],
      ['type', 'id', 'name'].map((key) => serializer.encode(key)),
    );
    const writer = new MsgpackWriter();
    expect(envelope.write(writer, { name: 'x', type: 9, id: 9 }, 3, 4)).toBe(true);
    const written = serializer.decode<object>(writer.written().slice());
    expect(written).toEqual({ type: 3, id: 4, name: 'x' });
    expect(Object.keys(written)).toEqual(['type', 'id', 'name']);
    writer.reset();
    expect(envelope.write(writer, { name: 'x', type: 1, id: 2 })).toBe(true);
    expect(serializer.decode(writer.written().slice())).toEqual({ type: 1, id: 2, name: 'x' });
    writer.reset();
    expect(envelope.write(writer, { name: 'x' }, 3, 0)).toBe(false); // the given id is checked too
    // Only a leading `type`, `id` pair is an envelope: other fields so named are the object's.
    const member = make(
      ['name', 'type'],
      [string, uint],
      ['name', 'type'].map((key) => serializer.encode(key)),
    );
    writer.reset();
    expect(member.write(writer, { name: 'x', type: 5 }, 3, 4)).toBe(true);
    expect(serializer.decode(writer.written().slice())).toEqual({ name: 'x', type: 5 });
  });

  it('uses loops for field names that are not identifiers', () => {
    const odd = make(
      ['a-b', 'c d'],
      [string, optional(string)],
      [serializer.encode('a-b'), serializer.encode('c d')],
    );
    const writer = new MsgpackWriter();
    expect(odd.write(writer, { 'a-b': 'v', 'c d': 'w' })).toBe(true);
    const reader = new MsgpackReader();
    reader.reset(writer.written().slice());
    expect(odd.readRest(reader, reader.readMapHeader(), [])).toEqual({ 'a-b': 'v', 'c d': 'w' });
  });
});

describe('the schema path', () => {
  it("leaves a frame of another realm's bytes to the generic path, which refuses it", () => {
    const request = { ...SAMPLE_REQUESTS[compiled.MessageType.command], id: 1 } as compiled.Request;
    const frame = compiled.encodeFrame([request]);
    const foreign = vm.runInNewContext(`new Uint8Array(${frame.length})`) as Uint8Array;
    foreign.set(frame);
    const nobody = () => undefined;
    expect(compiled.decodeMessages(foreign, nobody)).toBeUndefined();
    expect(loops.decodeMessages(foreign, nobody)).toBeUndefined();
    expect(generic(foreign, nobody).accepted).toBe(false);
    expect(compiled.decodeMessages(frame, nobody)?.messages).toEqual([request]);
  });

  it('keeps an optional field sent as undefined, as the generic path does', () => {
    const vote = { ...SAMPLE_REQUESTS[compiled.MessageType.vote], id: 1, transfer: undefined };
    const frame = serializer.encode([1, vote]);
    const nobody = () => undefined;
    const expected = generic(frame, nobody).messages;
    expect(expected[0]).toHaveProperty('transfer');
    expect(compiled.decodeMessages(frame, nobody)?.messages).toStrictEqual(expected);
    expect(loops.decodeMessages(frame, nobody)?.messages).toStrictEqual(expected);
  });
});
