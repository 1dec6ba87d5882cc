import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { BufferOverflowError, BufferUnderflowError } from '@copycat/common';
import { ByteBuffer, varUintSize } from '@copycat/io';

describe('ByteBuffer', () => {
  it('writes and reads back every fixed-width type in big-endian order', () => {
    const buffer = ByteBuffer.allocate(1);
    buffer
      .writeU8(255)
      .writeI8(-128)
      .writeU16(65535)
      .writeI16(-32768)
      .writeU32(0xdeadbeef)
      .writeI32(-2147483648)
      .writeI64(-(2n ** 63n))
      .writeU64(2n ** 64n - 1n)
      .writeF64(Math.PI);
    expect(buffer.position).toBe(1 + 1 + 2 + 2 + 4 + 4 + 8 + 8 + 8);
    buffer.flip();
    expect(buffer.readU8()).toBe(255);
    expect(buffer.readI8()).toBe(-128);
    expect(buffer.readU16()).toBe(65535);
    expect(buffer.readI16()).toBe(-32768);
    expect(buffer.readU32()).toBe(0xdeadbeef);
    expect(buffer.readI32()).toBe(-2147483648);
    expect(buffer.readI64()).toBe(-(2n ** 63n));
    expect(buffer.readU64()).toBe(2n ** 64n - 1n);
    expect(buffer.readF64()).toBe(Math.PI);
    expect(buffer.remaining).toBe(0);
  });

  it('is big-endian on the wire', () => {
    const bytes = ByteBuffer.allocate().writeU32(0x01020304).toBytes();
    expect([...bytes]).toEqual([1, 2, 3, 4]);
  });

  it('throws BufferUnderflowError on reads past the limit, without moving', () => {
    const buffer = ByteBuffer.wrap(new Uint8Array([1, 2, 3]));
    expect(() => buffer.readU32()).toThrow(BufferUnderflowError);
    expect(buffer.position).toBe(0);
    buffer.readU16();
    expect(() => buffer.readU16()).toThrow(BufferUnderflowError);
    expect(() => buffer.readRaw(2)).toThrow(BufferUnderflowError);
    expect(buffer.readU8()).toBe(3);
    expect(() => buffer.readU8()).toThrow(BufferUnderflowError);
  });

  it('rejects a length prefix larger than the data (no garbage, no huge allocation)', () => {
    const buffer = ByteBuffer.allocate().writeVarUint(1_000_000).writeRaw(new Uint8Array(4));
    buffer.flip();
    expect(() => buffer.readBytes()).toThrow(BufferUnderflowError);
  });

  it('grows on write up to maxCapacity, then throws BufferOverflowError', () => {
    const buffer = ByteBuffer.allocate(2, 10);
    buffer.writeU32(1).writeU32(2);
    expect(buffer.capacity).toBeLessThanOrEqual(10);
    expect(() => buffer.writeU32(3)).toThrow(BufferOverflowError);
    expect(buffer.position).toBe(8);
  });

  it('wrap shares memory and slice returns a view', () => {
    const bytes = new Uint8Array([0, 0, 0, 0]);
    const buffer = ByteBuffer.wrap(bytes);
    const view = buffer.slice(1, 2);
    bytes[1] = 9;
    expect(view[0]).toBe(9);
    expect(() => buffer.slice(3, 2)).toThrow(BufferUnderflowError);
  });

  it('position and limit are validated', () => {
    const buffer = ByteBuffer.allocate(8);
    expect(() => (buffer.position = 9)).toThrow(RangeError);
    buffer.limit = 4;
    expect(() => (buffer.position = 5)).toThrow(RangeError);
    expect(() => (buffer.limit = 100)).toThrow(RangeError);
    buffer.position = 4;
    buffer.limit = 2;
    expect(buffer.position).toBe(2);
  });

  it('patches a length prefix with setU32', () => {
    const buffer = ByteBuffer.allocate();
    buffer.writeU32(0).writeString('payload');
    buffer.setU32(0, buffer.position - 4);
    buffer.flip();
    expect(buffer.readU32()).toBe(buffer.remaining);
    expect(buffer.readString()).toBe('payload');
  });

  it('rejects malformed UTF-8 with a typed error from the decoder', () => {
    const buffer = ByteBuffer.allocate().writeBytes(new Uint8Array([0xff, 0xfe]));
    buffer.flip();
    expect(() => buffer.readString()).toThrow(TypeError);
  });

  it('varuints round-trip over the whole safe range and are minimal', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }), (n) => {
        const buffer = ByteBuffer.allocate(1).writeVarUint(n);
        expect(buffer.position).toBe(varUintSize(n));
        buffer.flip();
        expect(buffer.readVarUint()).toBe(n);
      }),
    );
    expect(ByteBuffer.allocate().writeVarUint(127).position).toBe(1);
    expect(ByteBuffer.allocate().writeVarUint(128).position).toBe(2);
  });

  it('zigzag varints round-trip signed safe integers; small magnitudes stay small', () => {
    fc.assert(
      fc.property(fc.integer({ min: Number.MIN_SAFE_INTEGER, max: Number.MAX_SAFE_INTEGER }), (n) => {
        const buffer = ByteBuffer.allocate(1).writeVarInt(n).flip();
        expect(buffer.readVarInt()).toBe(n);
      }),
    );
    expect(ByteBuffer.allocate().writeVarInt(-1).position).toBe(1);
    expect(ByteBuffer.allocate().writeVarInt(63).position).toBe(1);
  });

  it('varuint writes refuse unsafe and negative numbers; reads refuse overlong input', () => {
    expect(() => ByteBuffer.allocate().writeVarUint(-1)).toThrow(RangeError);
    expect(() => ByteBuffer.allocate().writeVarUint(2 ** 53)).toThrow(RangeError);
    expect(() => ByteBuffer.allocate().writeVarUint(1.5)).toThrow(RangeError);
    const overlong = ByteBuffer.wrap(new Uint8Array(9).fill(0x80));
    expect(() => overlong.readVarUint()).toThrow(RangeError);
  });

  it('strings round-trip, including astral characters and long text', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 300 }), fc.string({ maxLength: 5 }), (a, b) => {
        const buffer = ByteBuffer.allocate(1).writeString(a).writeString(b).flip();
        expect(buffer.readString()).toBe(a);
        expect(buffer.readString()).toBe(b);
        expect(buffer.remaining).toBe(0);
      }),
    );
    const long = 'é'.repeat(100_000);
    expect(ByteBuffer.allocate().writeString(long).flip().readString()).toBe(long);
  });

  it('random sequences of writes read back identically', () => {
    type Op =
      | { kind: 'u8'; v: number }
      | { kind: 'i32'; v: number }
      | { kind: 'f64'; v: number }
      | { kind: 'bytes'; v: Uint8Array }
      | { kind: 'varint'; v: number };
    const op: fc.Arbitrary<Op> = fc.oneof(
      fc.record({ kind: fc.constant('u8' as const), v: fc.integer({ min: 0, max: 255 }) }),
      fc.record({ kind: fc.constant('i32' as const), v: fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }) }),
      fc.record({ kind: fc.constant('f64' as const), v: fc.double({ noNaN: true }) }),
      fc.record({ kind: fc.constant('bytes' as const), v: fc.uint8Array({ maxLength: 64 }) }),
      fc.record({ kind: fc.constant('varint' as const), v: fc.maxSafeInteger() }),
    );
    fc.assert(
      fc.property(fc.array(op, { maxLength: 50 }), (ops) => {
        const buffer = ByteBuffer.allocate(1);
        for (const o of ops) {
          if (o.kind === 'u8') buffer.writeU8(o.v);
          else if (o.kind === 'i32') buffer.writeI32(o.v);
          else if (o.kind === 'f64') buffer.writeF64(o.v);
          else if (o.kind === 'bytes') buffer.writeBytes(o.v);
          else buffer.writeVarInt(o.v);
        }
        buffer.flip();
        for (const o of ops) {
          if (o.kind === 'u8') expect(buffer.readU8()).toBe(o.v);
          else if (o.kind === 'i32') expect(buffer.readI32()).toBe(o.v);
          else if (o.kind === 'f64') expect(Object.is(buffer.readF64(), o.v)).toBe(true);
          else if (o.kind === 'bytes') expect(buffer.readBytes()).toEqual(o.v);
          else expect(buffer.readVarInt()).toBe(o.v);
        }
        expect(buffer.remaining).toBe(0);
      }),
    );
  });
});
