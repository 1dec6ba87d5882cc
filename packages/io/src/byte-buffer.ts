import { BufferOverflowError, BufferUnderflowError } from '@copycat/common';

/**
 * A growable byte buffer over a `Uint8Array` with a `position` and a `limit`, in the style of
 * java.nio's ByteBuffer. Writes grow the backing array up to `maxCapacity`; reads never go past
 * `limit` (they throw `BufferUnderflowError`, never return garbage). Multi-byte numbers are
 * big-endian.
 *
 * Named `ByteBuffer`, not `Buffer`, so that importing it never shadows Node's global `Buffer`.
 */
export class ByteBuffer {
  private array: Uint8Array;
  private view: DataView;
  private _position = 0;
  private _limit: number;
  readonly maxCapacity: number;

  private constructor(array: Uint8Array, limit: number, maxCapacity: number) {
    this.array = array;
    this.view = new DataView(array.buffer, array.byteOffset, array.byteLength);
    this._limit = limit;
    this.maxCapacity = maxCapacity;
  }

  /** An empty buffer for writing; it grows on demand up to `maxCapacity`. */
  static allocate(initialCapacity = 256, maxCapacity = Number.MAX_SAFE_INTEGER): ByteBuffer {
    if (initialCapacity > maxCapacity) throw new RangeError('initialCapacity exceeds maxCapacity');
    const buffer = new ByteBuffer(new Uint8Array(initialCapacity), initialCapacity, maxCapacity);
    return buffer;
  }

  /** A buffer for reading `bytes` (shared, not copied); position 0, limit = its length. */
  static wrap(bytes: Uint8Array): ByteBuffer {
    return new ByteBuffer(bytes, bytes.length, bytes.length);
  }

  get position(): number {
    return this._position;
  }
  set position(value: number) {
    if (!Number.isInteger(value) || value < 0 || value > this._limit) {
      throw new RangeError(`position ${value} outside [0, ${this._limit}]`);
    }
    this._position = value;
  }

  get limit(): number {
    return this._limit;
  }
  set limit(value: number) {
    if (!Number.isInteger(value) || value < 0 || value > this.array.length) {
      throw new RangeError(`limit ${value} outside [0, ${this.array.length}]`);
    }
    this._limit = value;
    if (this._position > value) this._position = value;
  }

  get capacity(): number {
    return this.array.length;
  }

  /** Bytes between position and limit. */
  get remaining(): number {
    return this._limit - this._position;
  }

  hasRemaining(): boolean {
    return this._position < this._limit;
  }

  /** Switches from writing to reading: limit = position, position = 0. */
  flip(): this {
    this._limit = this._position;
    this._position = 0;
    return this;
  }

  /** Forgets the contents: position = 0, limit = capacity. */
  clear(): this {
    this._position = 0;
    this._limit = this.array.length;
    return this;
  }

  rewind(): this {
    this._position = 0;
    return this;
  }

  /** Skips `length` readable bytes. */
  skip(length: number): this {
    this.require(length);
    this._position += length;
    return this;
  }

  /**
   * A view of `length` bytes from `offset` (default: the remaining bytes). Shares memory with
   * this buffer: later writes here show through it.
   */
  slice(offset = this._position, length = this._limit - offset): Uint8Array {
    if (offset < 0 || length < 0 || offset + length > this._limit) {
      throw new BufferUnderflowError(`slice [${offset}, ${offset + length}) outside [0, ${this._limit})`);
    }
    return this.array.subarray(offset, offset + length);
  }

  /** A copy of the bytes from 0 to position (after writing) — what you send or store. */
  toBytes(): Uint8Array {
    return this.array.slice(0, this._position);
  }

  /** A view of the bytes from 0 to position, without copying. */
  written(): Uint8Array {
    return this.array.subarray(0, this._position);
  }

  // ---- capacity ----------------------------------------------------------------------------

  /** Makes room for `length` more bytes at position, growing the backing array if allowed. */
  ensureWritable(length: number): this {
    const needed = this._position + length;
    if (needed <= this._limit) return this;
    if (needed > this.maxCapacity) {
      throw new BufferOverflowError(
        `writing ${length} bytes at ${this._position} exceeds max capacity ${this.maxCapacity}`,
      );
    }
    if (needed > this.array.length) {
      let capacity = Math.max(16, this.array.length * 2);
      while (capacity < needed) capacity *= 2;
      capacity = Math.min(capacity, this.maxCapacity);
      const grown = new Uint8Array(capacity);
      grown.set(this.array.subarray(0, this._limit));
      this.array = grown;
      this.view = new DataView(grown.buffer);
    }
    this._limit = this.array.length;
    return this;
  }

  private require(length: number): number {
    const at = this._position;
    if (at + length > this._limit) {
      throw new BufferUnderflowError(`reading ${length} bytes at ${at} past limit ${this._limit}`);
    }
    this._position = at + length;
    return at;
  }

  // Callers must call reserve() before touching this.array/this.view: it may replace them.
  private reserve(length: number): number {
    this.ensureWritable(length);
    const at = this._position;
    this._position = at + length;
    return at;
  }

  // ---- fixed-width numbers -------------------------------------------------------------------

  readU8(): number {
    return this.array[this.require(1)]!;
  }
  writeU8(value: number): this {
    const at = this.reserve(1);
    this.array[at] = value;
    return this;
  }
  readI8(): number {
    return this.view.getInt8(this.require(1));
  }
  writeI8(value: number): this {
    const at = this.reserve(1);
    this.view.setInt8(at, value);
    return this;
  }
  readU16(): number {
    return this.view.getUint16(this.require(2));
  }
  writeU16(value: number): this {
    const at = this.reserve(2);
    this.view.setUint16(at, value);
    return this;
  }
  readI16(): number {
    return this.view.getInt16(this.require(2));
  }
  writeI16(value: number): this {
    const at = this.reserve(2);
    this.view.setInt16(at, value);
    return this;
  }
  readU32(): number {
    return this.view.getUint32(this.require(4));
  }
  writeU32(value: number): this {
    const at = this.reserve(4);
    this.view.setUint32(at, value);
    return this;
  }
  readI32(): number {
    return this.view.getInt32(this.require(4));
  }
  writeI32(value: number): this {
    const at = this.reserve(4);
    this.view.setInt32(at, value);
    return this;
  }
  readI64(): bigint {
    return this.view.getBigInt64(this.require(8));
  }
  writeI64(value: bigint): this {
    const at = this.reserve(8);
    this.view.setBigInt64(at, value);
    return this;
  }
  readU64(): bigint {
    return this.view.getBigUint64(this.require(8));
  }
  writeU64(value: bigint): this {
    const at = this.reserve(8);
    this.view.setBigUint64(at, value);
    return this;
  }
  readF64(): number {
    return this.view.getFloat64(this.require(8));
  }
  writeF64(value: number): this {
    const at = this.reserve(8);
    this.view.setFloat64(at, value);
    return this;
  }

  /** Absolute accessors: read or patch at `offset` without moving position (e.g. a length prefix). */
  getU32(offset: number): number {
    if (offset < 0 || offset + 4 > this._limit)
      throw new BufferUnderflowError(`u32 at ${offset} past limit ${this._limit}`);
    return this.view.getUint32(offset);
  }
  setU32(offset: number, value: number): this {
    if (offset < 0 || offset + 4 > this.array.length)
      throw new BufferOverflowError(`u32 at ${offset} past capacity`);
    this.view.setUint32(offset, value);
    return this;
  }

  // ---- varints -------------------------------------------------------------------------------

  /** Unsigned LEB128 varint for integers in [0, 2^53). */
  writeVarUint(value: number): this {
    if (!Number.isSafeInteger(value) || value < 0)
      throw new RangeError(`varuint needs a safe integer >= 0, got ${value}`);
    this.ensureWritable(8);
    while (value >= 0x80) {
      this.writeU8((value % 0x80) | 0x80);
      value = Math.floor(value / 0x80);
    }
    return this.writeU8(value);
  }

  readVarUint(): number {
    let result = 0;
    let multiplier = 1;
    for (let i = 0; i < 8; i++) {
      const byte = this.readU8();
      result += (byte & 0x7f) * multiplier;
      if ((byte & 0x80) === 0) {
        if (!Number.isSafeInteger(result)) throw new RangeError('varuint exceeds 2^53');
        return result;
      }
      multiplier *= 0x80;
    }
    throw new RangeError('varuint longer than 8 bytes');
  }

  /**
   * Zigzag-encoded signed varint for safe integers: the LEB128 of `2|n| - (n < 0)`, written without
   * ever forming that number (it would exceed 2^53 for large |n|).
   */
  writeVarInt(value: number): this {
    if (!Number.isSafeInteger(value)) throw new RangeError(`varint needs a safe integer, got ${value}`);
    const sign = value < 0 ? 1 : 0;
    let magnitude = value < 0 ? -value - 1 : value;
    const low = magnitude % 0x40;
    magnitude = Math.floor(magnitude / 0x40);
    this.writeU8((magnitude > 0 ? 0x80 : 0) | (low << 1) | sign);
    while (magnitude > 0) {
      const byte = magnitude % 0x80;
      magnitude = Math.floor(magnitude / 0x80);
      this.writeU8((magnitude > 0 ? 0x80 : 0) | byte);
    }
    return this;
  }

  readVarInt(): number {
    const first = this.readU8();
    const sign = first & 1;
    let magnitude = (first >> 1) & 0x3f;
    let multiplier = 0x40;
    let byte = first;
    for (let i = 1; byte & 0x80; i++) {
      if (i === 8) throw new RangeError('varint longer than 8 bytes');
      byte = this.readU8();
      magnitude += (byte & 0x7f) * multiplier;
      multiplier *= 0x80;
    }
    if (!Number.isSafeInteger(magnitude)) throw new RangeError('varint exceeds the safe integer range');
    return sign ? -magnitude - 1 : magnitude;
  }

  // ---- bytes and strings ---------------------------------------------------------------------

  /** Raw bytes without a length prefix. */
  writeRaw(bytes: Uint8Array): this {
    const at = this.reserve(bytes.length);
    this.array.set(bytes, at);
    return this;
  }

  /** `length` raw bytes as a view into this buffer (no copy). */
  readRaw(length: number): Uint8Array {
    const at = this.require(length);
    return this.array.subarray(at, at + length);
  }

  /** Length-prefixed (varuint) bytes. */
  writeBytes(bytes: Uint8Array): this {
    return this.writeVarUint(bytes.length).writeRaw(bytes);
  }

  /** Length-prefixed bytes as a view into this buffer (no copy). */
  readBytes(): Uint8Array {
    return this.readRaw(this.readVarUint());
  }

  /** Length-prefixed (varuint byte length) UTF-8 string. */
  writeString(value: string): this {
    // Worst case 3 bytes per UTF-16 unit; encodeInto avoids an intermediate array.
    const maxBytes = value.length * 3;
    this.ensureWritable(maxBytes + 8);
    const lengthAt = this._position;
    const prefixSize = varUintSize(maxBytes);
    const { written } = textEncoder.encodeInto(value, this.array.subarray(lengthAt + prefixSize));
    // Write the real length with the same prefix size so the string bytes need not move.
    writePaddedVarUint(this.array, lengthAt, written, prefixSize);
    this._position = lengthAt + prefixSize + written;
    return this;
  }

  readString(): string {
    return textDecoder.decode(this.readBytes());
  }
}

const textEncoder = new TextEncoder();
const textDecoder = new TextDecoder('utf-8', { fatal: true });

/** Bytes needed to write `value` as a varuint. */
export function varUintSize(value: number): number {
  let size = 1;
  while (value >= 0x80) {
    value = Math.floor(value / 0x80);
    size++;
  }
  return size;
}

/** Writes `value` as a varuint of exactly `size` bytes (padding with continuation bytes). */
function writePaddedVarUint(array: Uint8Array, offset: number, value: number, size: number): void {
  for (let i = 0; i < size - 1; i++) {
    array[offset + i] = (value % 0x80) | 0x80;
    value = Math.floor(value / 0x80);
  }
  array[offset + size - 1] = value;
}
