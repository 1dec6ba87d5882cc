import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { SerializationError } from '@copycat/common';
import { ByteBuffer, Serializer } from '@copycat/io';

class Point {
  constructor(
    readonly x: number,
    readonly y: number,
  ) {}
}
class Line {
  constructor(
    readonly from: Point,
    readonly to: Point,
  ) {}
}
class Unregistered {
  value = 1;
}

function serializer(): Serializer {
  return new Serializer()
    .register(16, Point, {
      encode: (p) => [p.x, p.y],
      decode: (data) => {
        const [x, y] = data as [number, number];
        return new Point(x, y);
      },
    })
    .register(17, Line, {
      encode: (l) => [l.from, l.to],
      decode: (data) => {
        const [from, to] = data as [Point, Point];
        return new Line(from, to);
      },
    });
}

const roundTrip = <T>(s: Serializer, value: T): T => s.decode<T>(s.encode(value));

// Values the serializer promises to round-trip, nested arbitrarily.
const value: fc.Arbitrary<unknown> = fc.letrec((tie) => ({
  leaf: fc.oneof(
    fc.constant(undefined),
    fc.constant(null),
    fc.boolean(),
    fc.integer(),
    fc.maxSafeInteger(),
    fc.double(),
    fc.string(),
    fc.bigInt(),
    fc.uint8Array({ maxLength: 20 }),
    fc.date({ noInvalidDate: true }),
    fc.tuple(fc.double({ noNaN: true }), fc.double({ noNaN: true })).map(([x, y]) => new Point(x, y)),
  ),
  node: fc.oneof(
    { depthSize: 'small' },
    tie('leaf'),
    fc.array(tie('node'), { maxLength: 4 }),
    fc.dictionary(fc.string({ maxLength: 6 }), tie('node'), { maxKeys: 4, noNullPrototype: true }),
    fc.array(fc.tuple(tie('leaf'), tie('node')), { maxLength: 3 }).map((entries) => new Map(entries)),
    fc.array(fc.oneof(fc.string(), fc.integer()), { maxLength: 4 }).map((items) => new Set(items)),
  ),
})).node;

describe('Serializer', () => {
  it('round-trips arbitrary nested values (property)', () => {
    const s = serializer();
    fc.assert(
      fc.property(value, (v) => {
        expect(roundTrip(s, v)).toStrictEqual(v);
      }),
      { numRuns: 500 },
    );
  });

  it('keeps undefined inside objects and arrays, and -0', () => {
    const s = serializer();
    const decoded = roundTrip(s, { a: undefined, b: [undefined, 1], c: -0 });
    expect(Object.keys(decoded)).toEqual(['a', 'b', 'c']);
    expect(decoded.a).toBeUndefined();
    expect(decoded.b).toEqual([undefined, 1]);
    expect(Object.is(decoded.c, -0)).toBe(true);
    expect(roundTrip(s, undefined)).toBeUndefined();
  });

  it('round-trips Map, Set, Date, bigint beyond 64 bits and Uint8Array', () => {
    const s = serializer();
    const v = {
      map: new Map<unknown, unknown>([
        ['k', 1],
        [2, new Set([1, 'x'])],
        [3n, undefined],
      ]),
      date: new Date(Date.UTC(2026, 10, 23, 12, 0, 0, 123)),
      big: -(2n ** 200n),
      bytes: new Uint8Array([0, 255, 7]),
    };
    const decoded = roundTrip(s, v);
    expect(decoded).toStrictEqual(v);
    expect(decoded.map).toBeInstanceOf(Map);
    expect(decoded.date).toBeInstanceOf(Date);
  });

  it('round-trips registered classes, also nested in each other', () => {
    const s = serializer();
    const decoded = roundTrip(s, { line: new Line(new Point(1, 2), new Point(3, 4)) });
    expect(decoded.line).toBeInstanceOf(Line);
    expect(decoded.line.from).toBeInstanceOf(Point);
    expect(decoded.line.to).toEqual(new Point(3, 4));
  });

  it('refuses an unregistered class with an error naming it', () => {
    const s = serializer();
    expect(() => s.encode({ nested: [new Unregistered()] })).toThrow(SerializationError);
    expect(() => s.encode(new Unregistered())).toThrow(/class Unregistered/);
    expect(() => s.encode(new Float64Array(2))).toThrow(/Float64Array/);
    expect(() => s.encode(new Date(Number.NaN))).toThrow(SerializationError);
  });

  it('refuses invalid registrations', () => {
    const s = serializer();
    const codec = { encode: () => 0, decode: () => new Unregistered() };
    expect(() => s.register(15, Unregistered, codec)).toThrow(RangeError);
    expect(() => s.register(128, Unregistered, codec)).toThrow(RangeError);
    expect(() => s.register(16, Unregistered, codec)).toThrow(/already registered for Point/);
    expect(() => s.register(20, Point, codec as never)).toThrow(/Point is already registered/);
  });

  it('fails on malformed input with SerializationError, never anything else', () => {
    const s = serializer();
    expect(() => s.decode(new Uint8Array([0xc1]))).toThrow(SerializationError);
    expect(() => s.decode(new Uint8Array([]))).toThrow(SerializationError);
    expect(() => s.decode(new Uint8Array([0xdd, 0xff, 0xff, 0xff, 0xff]))).toThrow(SerializationError);
    // A user extension id nobody registered.
    expect(() => new Serializer().decode(s.encode(new Point(1, 2)))).toThrow(/unknown extension type 16/);
    // Trailing bytes after a complete value.
    expect(() => s.decode(new Uint8Array([0x01, 0x02]))).toThrow(SerializationError);
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (bytes) => {
        try {
          s.decode(bytes);
        } catch (error) {
          expect(error).toBeInstanceOf(SerializationError);
        }
      }),
      { numRuns: 2000 },
    );
  });

  it('truncations of a valid encoding fail cleanly', () => {
    const s = serializer();
    const bytes = s.encode({ a: [1, 2, 3], b: 'text', c: new Map([[1, new Point(1, 2)]]), d: 5n });
    for (let cut = 0; cut < bytes.length; cut++) {
      expect(() => s.decode(bytes.subarray(0, cut))).toThrow(SerializationError);
    }
  });

  it('is deterministic: equal values encode to equal bytes', () => {
    const s = serializer();
    expect(s.encode({ a: 1, b: [new Point(1, 2)] })).toEqual(s.encode({ a: 1, b: [new Point(1, 2)] }));
  });
});

// The stock coders inside a Serializer, which the fast paths for plain data must match exactly.
function stock(s: Serializer): { encode(value: unknown): Uint8Array; decode(bytes: Uint8Array): unknown } {
  const internals = s as unknown as {
    encoder: { encode(value: unknown): Uint8Array };
    decoder: { decode(bytes: Uint8Array): unknown };
  };
  return {
    encode: (value) => internals.encoder.encode(value),
    decode: (bytes) => internals.decoder.decode(bytes),
  };
}

/** Decoded by `decode`, or the fact that it threw. */
function outcome(decode: () => unknown): { value: unknown } | 'threw' {
  try {
    return { value: decode() };
  } catch {
    return 'threw';
  }
}

// Plain data with every kind of string and number the encoder distinguishes.
const plain: fc.Arbitrary<unknown> = fc.letrec((tie) => ({
  leaf: fc.oneof(
    fc.constant(undefined),
    fc.constant(null),
    fc.boolean(),
    fc.integer(),
    fc.maxSafeInteger(),
    fc.constantFrom(0, -0, 127, 128, 255, 256, 65535, 65536, 2 ** 32 - 1, 2 ** 32, 2 ** 53 - 1, 2 ** 53),
    fc.constantFrom(-32, -33, -128, -129, -32768, -32769, -(2 ** 31), -(2 ** 31) - 1, -(2 ** 53) + 1),
    fc.double(),
    fc.string(),
    fc.string({ unit: 'grapheme', maxLength: 80 }),
    fc.string({ unit: 'binary', maxLength: 80 }), // lone surrogates included
    fc.string({ minLength: 60, maxLength: 300 }),
    fc.uint8Array({ maxLength: 300 }),
  ),
  node: fc.oneof(
    { depthSize: 'small' },
    tie('leaf'),
    fc.array(tie('node'), { maxLength: 20 }),
    fc.dictionary(fc.string({ unit: 'binary', maxLength: 20 }), tie('node'), {
      maxKeys: 20,
      noNullPrototype: false,
    }),
  ),
})).node;

describe('Serializer fast paths for plain data', () => {
  it('encode to exactly the bytes of the stock encoder (property)', () => {
    const s = serializer();
    fc.assert(
      fc.property(fc.oneof(plain, value), (v) => {
        expect(Buffer.from(s.encode(v)).equals(Buffer.from(stock(s).encode(v)))).toBe(true);
      }),
      { numRuns: 2000 },
    );
  });

  it('decode exactly what the stock decoder decodes, and fail where it fails (property)', () => {
    const s = serializer();
    const reference = stock(s);
    const same = (bytes: Uint8Array) => {
      const fast = outcome(() => s.decode(bytes));
      const slow = outcome(() => reference.decode(bytes));
      expect(fast).toStrictEqual(slow);
    };
    // Valid encodings, their truncations and single-byte corruptions, and random bytes.
    fc.assert(
      fc.property(
        fc.oneof(plain, value),
        fc.nat(),
        fc.integer({ min: 0, max: 255 }),
        fc.uint8Array({ maxLength: 40 }),
        (v, at, byte, random) => {
          const bytes = reference.encode(v);
          same(bytes);
          same(bytes.subarray(0, at % (bytes.length + 1)));
          const corrupt = bytes.slice();
          corrupt[at % corrupt.length] = byte;
          same(corrupt);
          same(random);
        },
      ),
      { numRuns: 1000 },
    );
  });

  it('decode odd but valid msgpack as the stock decoder does', () => {
    const s = serializer();
    const reference = stock(s);
    const cases: number[][] = [
      [0x81, 0x01, 0xa1, 0x78], // a number as a map key
      [0x81, 0xa9, ...'__proto__'.split('').map((c) => c.charCodeAt(0)), 0x01], // refused key
      [0x81, 0x91, 0x01, 0x02], // an array as a map key (refused)
      [0xa3, 0xef, 0xbb, 0xbf], // a byte order mark alone
      [0xd9, 201, 0xef, 0xbb, 0xbf, ...new Array<number>(198).fill(0x61)], // BOM in a long string
      [0xa2, 0xc3, 0x28], // invalid UTF-8
      [0xca, 0x3f, 0xc0, 0x00, 0x00], // float 32
      [0xcf, 0x00, 0x20, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01], // uint 64 beyond 2^53
      [0xd3, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfe], // int 64
      [0xd4, 0x00, 0x07], // fixext 1 of type 0: undefined
      [0xd4, 0x7f, 0x07], // an unknown extension
      [0xdc, 0x00, 0x02, 0xc0, 0xc0], // array 16
      [0xde, 0x00, 0x01, 0xa1, 0x61, 0xc0], // map 16
      [0xc4, 0x02, 0x01], // truncated bin
      [...new Array<number>(300).fill(0x91), 0x01], // nested deeper than the fast decoder goes
    ];
    for (const bytes of cases) {
      const input = new Uint8Array(bytes);
      expect(
        outcome(() => s.decode(input)),
        bytes.slice(0, 8).join(' '),
      ).toStrictEqual(outcome(() => reference.decode(input)));
    }
  });

  it('take the fast path for protocol-like messages (no silent fallback)', () => {
    const s = serializer();
    const internals = s as unknown as {
      plainEncoder: { tryEncode(value: unknown): Uint8Array | undefined };
      plainDecoder: { tryDecode(bytes: Uint8Array): unknown };
    };
    const message = [
      1,
      {
        type: 5,
        id: 7,
        session: 1,
        sequence: 2 ** 40,
        operation: new Uint8Array(300),
        compaction: 'release',
      },
    ];
    const bytes = internals.plainEncoder.tryEncode(message);
    expect(bytes).toBeDefined();
    expect(internals.plainDecoder.tryDecode(bytes!.slice())).toStrictEqual(message);
    // Non-plain values are left to the stock coder.
    expect(internals.plainEncoder.tryEncode({ at: new Date(0) })).toBeUndefined();
  });

  it('encodeShared gives a view valid until the next encoding; encodeInto appends to a ByteBuffer', () => {
    const s = serializer();
    const shared = s.encodeShared({ a: 1 });
    expect(s.decode(shared)).toEqual({ a: 1 });
    const target = ByteBuffer.allocate(4);
    target.writeU8(0xff);
    const written = s.encodeInto([new Point(1, 2), 'x'], target);
    expect(target.position).toBe(1 + written);
    expect(s.decode(target.written().subarray(1))).toEqual([new Point(1, 2), 'x']);
  });

  it('a getter that encodes re-entrantly gets its own bytes', () => {
    const s = serializer();
    const inner = { x: 1 };
    const outer = {
      get nested() {
        return s.decode(s.encode(inner));
      },
    };
    expect(s.decode(s.encode(outer))).toEqual({ nested: { x: 1 } });
  });
});
