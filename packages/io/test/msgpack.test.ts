/**
 * `MsgpackWriter` and `MsgpackReader` against the stock msgpack coder: the same bytes written,
 * the same values read, and refusals (never wrong values) for anything else.
 */
import fc from 'fast-check';
import { decode, encode } from '@msgpack/msgpack';
import { describe, expect, it, vi } from 'vitest';
import { MsgpackReader, MsgpackWriteRefused, MsgpackWriter, READ_REFUSED, encodeString } from '@copycat/io';

const writer = new MsgpackWriter(4);

function decodes(bytes: Uint8Array): boolean {
  try {
    decode(bytes);
    return true;
  } catch {
    return false;
  }
}
const reader = new MsgpackReader();

function written(write: (w: MsgpackWriter) => void): Uint8Array {
  writer.reset();
  write(writer);
  return writer.written().slice();
}

function read<T>(bytes: Uint8Array, how: (r: MsgpackReader) => T): T {
  reader.reset(bytes);
  const value = how(reader);
  expect(reader.atEnd).toBe(true);
  return value;
}

const anyNumber = fc.oneof(
  fc.integer(),
  fc.maxSafeInteger(),
  fc.double(),
  fc.constantFrom(0, -0, 127, 128, 255, 256, 65535, 65536, 2 ** 32 - 1, 2 ** 32, -32, -33, -128, -129),
);

describe('MsgpackWriter', () => {
  it('writes numbers, strings, bytes and booleans as the stock encoder does', () => {
    fc.assert(
      fc.property(anyNumber, (value) => {
        // The stock encoder writes -0 as the integer 0; the writer keeps it a float, as the Serializer does.
        if (Object.is(value, -0))
          expect([...written((w) => w.number(value))]).toEqual([0xcb, 0x80, 0, 0, 0, 0, 0, 0, 0]);
        else expect(written((w) => w.number(value))).toEqual(encode(value));
      }),
    );
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 300 }), (value) => {
        expect(written((w) => w.string(value))).toEqual(encode(value));
      }),
    );
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 70_000 }), (value) => {
        expect(written((w) => w.binary(value))).toEqual(encode(value));
      }),
      { numRuns: 30 },
    );
    expect(written((w) => w.boolean(true))).toEqual(encode(true));
    expect(written((w) => w.nil())).toEqual(encode(null));
  });

  it('writes map and array headers of any size, and a placeholder map header patched later', () => {
    for (const count of [0, 15, 16, 65535, 65536]) {
      const header = written((w) => w.arrayHeader(count));
      const whole = encode(new Array(count).fill(0));
      expect(header).toEqual(whole.subarray(0, whole.length - count)); // each 0 is one byte
    }
    const bytes = written((w) => {
      const at = w.placeholderMapHeader();
      w.raw(encodeString('a'));
      w.number(1);
      w.raw(encodeString('b'));
      w.string('x');
      w.patchMapHeader(at, 2);
    });
    expect(bytes).toEqual(encode({ a: 1, b: 'x' }));
    expect(() => writer.patchMapHeader(0, 16)).toThrow(RangeError);
  });

  it('lets a caller write bytes it knows in advance into room it claims, growing the buffer', () => {
    const small = new MsgpackWriter(2);
    small.number(1);
    const at = small.claim(5);
    expect(at).toBe(1);
    const key = encodeString('name');
    small.buffer.set(key, at); // after the claim: the claim may have replaced the buffer
    small.string('x');
    expect([...small.written()]).toEqual([1, ...key, ...encodeString('x')]);
    expect(small.length).toBe(8);
  });

  it('writes into room it is given, and moves what it wrote out of it when it does not fit', () => {
    const room = new Uint8Array(64).fill(0xee);
    const into = new MsgpackWriter(0);
    into.writeInto(room, 10, 30);
    const header = into.placeholderMapHeader();
    into.string('a');
    into.number(1);
    into.patchMapHeader(header, 1);
    expect(into.written().buffer).toBe(room.buffer);
    expect(into.written().byteOffset).toBe(10);
    expect(decode(into.written())).toEqual({ a: 1 });
    // Past the room's end (30): moved out, with the header written before the move patched right.
    into.reset();
    const big = into.placeholderMapHeader();
    into.string('b');
    into.binary(new Uint8Array(100).fill(7));
    into.patchMapHeader(big, 1);
    expect(into.written().buffer === room.buffer).toBe(false);
    expect(decode(into.written())).toEqual({ b: new Uint8Array(100).fill(7) });
    expect(room.subarray(30).every((byte) => byte === 0xee)).toBe(true); // nothing past the room
  });

  it('tells whether a view is the one it handed out last (a frame takes it in place only then)', () => {
    const writer = new MsgpackWriter(0);
    writer.writeInto(new Uint8Array(32), 4, 32);
    writer.number(7);
    const view = writer.written();
    expect(writer.isLastWritten(view)).toBe(true);
    // The same bytes in another view, or a view handed out before the last: not it.
    expect(writer.isLastWritten(view.subarray(0))).toBe(false);
    const later = writer.written();
    expect(writer.isLastWritten(view)).toBe(false);
    expect(writer.isLastWritten(later)).toBe(true);
    // Writing into new room forgets it.
    writer.writeInto(new Uint8Array(32), 0, 32);
    expect(writer.isLastWritten(later)).toBe(false);
  });

  it('writes bytes given as a Buffer or any view of a larger buffer', () => {
    const writer = new MsgpackWriter(8);
    const big = new Uint8Array(300).map((_, i) => i % 256);
    writer.binary(Buffer.from(big));
    writer.binary(big.subarray(10, 20));
    const reader = new MsgpackReader();
    reader.reset(writer.written());
    expect(reader.readBinary()).toEqual(big);
    expect(reader.readBinary()).toEqual(big.subarray(10, 20));
  });

  it('refuses strings with lone surrogates (the stock encoder writes them two ways)', () => {
    expect(() => written((w) => w.string('a\ud800'))).toThrow(MsgpackWriteRefused);
  });
});

describe('MsgpackReader', () => {
  it('reads what the stock encoder writes', () => {
    fc.assert(
      fc.property(anyNumber, (value) => {
        expect(read(encode(value), (r) => r.readNumber())).toBe(Object.is(value, -0) ? 0 : value);
      }),
    );
    fc.assert(
      fc.property(fc.string({ maxLength: 300 }), (value) => {
        expect(read(encode(value), (r) => r.readString())).toBe(value);
        expect(read(encode(value), (r) => r.readScalar())).toBe(value);
      }),
    );
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (value) => {
        expect(read(encode(value), (r) => r.readBinary())).toEqual(value);
      }),
    );
    expect(read(encode(false), (r) => r.readBoolean())).toBe(false);
    expect(
      read(encode({ a: 1, b: 2 }), (r) => {
        const entries = r.readMapHeader();
        for (let i = 0; i < 2 * entries; i++) r.skip();
        return entries;
      }),
    ).toBe(2);
  });

  it('skips over any value but extensions, ending exactly after it', () => {
    const plain = fc
      .anything({
        withBoxedValues: false,
        withMap: false,
        withSet: false,
        withBigInt: false,
        withDate: false,
        withTypedArray: false,
        withSparseArray: false,
        withNullPrototype: false,
      })
      .filter((value) => {
        try {
          encode(value);
          return true;
        } catch {
          return false;
        }
      });
    fc.assert(
      fc.property(plain, (value) => {
        const bytes = encode(value);
        reader.reset(bytes);
        let refused = false;
        try {
          reader.skip();
        } catch (error) {
          expect(error).toBe(READ_REFUSED);
          refused = true;
        }
        // Refused exactly when the stock decoder refuses it (a `__proto__` key somewhere).
        expect(refused).toBe(decodes(bytes) === false);
        if (!refused) expect(reader.atEnd).toBe(true);
      }),
    );
    reader.reset(encode(new Date(0)));
    expect(() => reader.skip()).toThrow(READ_REFUSED);
  });

  it('lets a caller match the bytes it expects itself and move past them', () => {
    const bytes = new Uint8Array([...encodeString('id'), 0x07]);
    reader.reset(bytes);
    expect(reader.input).toBe(bytes);
    expect(reader.position).toBe(0);
    reader.position = 3; // past the key
    expect(reader.readNumber()).toBe(7);
    expect(reader.atEnd).toBe(true);
  });

  it('refuses truncated input and the wrong kind of item', () => {
    fc.assert(
      fc.property(fc.string({ minLength: 1, maxLength: 40 }), fc.nat(), (value, cut) => {
        const bytes = encode(value);
        reader.reset(bytes.subarray(0, cut % bytes.length));
        expect(() => reader.readString()).toThrow(READ_REFUSED);
      }),
    );
    reader.reset(encode('x'));
    expect(() => reader.readNumber()).toThrow(READ_REFUSED);
    reader.reset(encode([1, 2, 3]));
    expect(() => reader.readMapHeader()).toThrow(READ_REFUSED);
    reader.reset(new Uint8Array([0xdc, 0xff, 0xff])); // an array claiming 65535 items in 0 bytes
    expect(() => reader.readArrayHeader()).toThrow(READ_REFUSED);
    reader.reset(new Uint8Array([0xa2, 0xc3, 0x28])); // invalid UTF-8
    expect(() => reader.readString()).toThrow(READ_REFUSED);
  });

  it('keeps remembered strings whose hashes collide, and strings read later do not evict them', () => {
    // The reader's hash, for finding strings that land in the same slot of its 512.
    const slotOf = (text: string) => {
      let hash = text.length;
      for (let i = 0; i < text.length; i++) hash = (hash * 31 + text.charCodeAt(i)) | 0;
      return hash & 511;
    };
    expect(slotOf('prevLogTerm')).toBe(slotOf('members'));
    const fresh = new MsgpackReader();
    fresh.remember(['prevLogTerm', 'members']);
    // A string found in the cache is handed back as it is; one that is not is built anew.
    const built = vi.spyOn(String, 'fromCharCode');
    const builds = (text: string) => {
      built.mockClear();
      fresh.reset(encode(text));
      expect(fresh.readString()).toBe(text);
      return built.mock.calls.length;
    };
    try {
      expect(builds('prevLogTerm')).toBe(0);
      expect(builds('members')).toBe(0);
      const intruders: string[] = [];
      for (let n = 0; intruders.length < 3; n++) {
        const text = `k${n}`;
        if ((slotOf(text) | 1) === (slotOf('members') | 1)) intruders.push(text);
      }
      for (const text of intruders) expect(builds(text)).toBe(1);
      expect(builds('prevLogTerm')).toBe(0);
      expect(builds('members')).toBe(0);
      expect(builds('unremembered')).toBe(1);
      expect(builds('unremembered')).toBe(0); // cached on first read
    } finally {
      built.mockRestore();
    }
  });

  it('hands back remembered strings as the very same strings', () => {
    const key = ['last', 'Log', 'Index'].join('');
    reader.remember([key]);
    expect(read(encode('lastLogIndex'), (r) => r.readString())).toBe(key);
    reader.reset(new Uint8Array([0xc7, 0, 0]));
    expect(reader.readUndefined()).toBe(true);
    expect(reader.atEnd).toBe(true);
  });
});
