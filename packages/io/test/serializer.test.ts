import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { SerializationError } from '@copycat/common';
import { Serializer } from '@copycat/io';

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
