/**
 * The msgpack primitives (numbers, strings, bytes, headers) written into a reusable scratch
 * buffer: what the `Serializer`'s fast path is built on, and what a codec that knows its shapes
 * in advance (the protocol's messages) writes with, without walking a value generically.
 *
 * The bytes are exactly what the stock msgpack encoder writes for the same values (smallest
 * integer format; float64 for other numbers and for -0, which the `Serializer` keeps).
 */

import { copyInto, viewOf } from './byte-views.js';

const textEncoder = new TextEncoder();
// `String.prototype.isWellFormed` (ES2024: Node 20, current browsers); without it, strings
// other than ASCII are refused (see `string`).
const isWellFormed = (String.prototype as { isWellFormed?: () => boolean }).isWellFormed;

/** Thrown by a writer for what it does not write (a string with lone surrogates); see `string`. */
export class MsgpackWriteRefused extends Error {}
const REFUSED = new MsgpackWriteRefused('a string with lone surrogates is left to the stock encoder');

export class MsgpackWriter {
  protected bytes: Uint8Array;
  protected view: DataView;
  protected pos = 0;
  /** Where writing starts in `bytes` (see `writeInto`): 0 in the writer's own buffer. */
  private origin = 0;
  /** End of the room writes may use in `bytes`. */
  private end: number;
  /** What `written()` returned last (see `isLastWritten`). */
  private last: Uint8Array | undefined;

  constructor(initialSize = 2048) {
    this.bytes = new Uint8Array(initialSize);
    this.view = new DataView(this.bytes.buffer);
    this.end = initialSize;
  }

  /** Starts over at the beginning of the scratch buffer (or of the room given to `writeInto`). */
  reset(): void {
    this.pos = this.origin;
  }

  /** Bytes written since `reset()`: a view of the scratch buffer, valid until the next write. */
  written(): Uint8Array {
    return (this.last = viewOf(this.bytes, this.origin, this.pos));
  }

  /**
   * Whether `bytes` is the very view `written()` returned last since `writeInto` (an identity
   * check: cheaper than comparing buffers and offsets, which are calls into the runtime).
   */
  isLastWritten(bytes: Uint8Array): boolean {
    return bytes === this.last;
  }

  /** Bytes written since `reset()`. */
  get length(): number {
    return this.pos - this.origin;
  }

  /**
   * Writes into `bytes` from `from` (and not past `to`) from now on, rather than into a scratch
   * buffer of the writer's own: for a caller that wants an encoding where it will be used, in a
   * frame being built say, and not copied there. A write that does not fit in the room moves
   * what was written to a buffer of the writer's own (at the same offset), as the scratch buffer
   * grows: `written()` then is not in `bytes` any more.
   */
  writeInto(bytes: Uint8Array, from: number, to: number): void {
    if (bytes !== this.bytes) {
      this.bytes = bytes;
      this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    }
    this.last = undefined;
    this.origin = this.pos = from;
    this.end = to;
  }

  /**
   * Makes room for `length` bytes that the caller writes into `buffer` itself, at the offset
   * returned, and counts them as written: for code that writes bytes it knows in advance (an
   * encoded map key, as constants) without copying them from an array.
   */
  claim(length: number): number {
    this.reserve(length);
    const at = this.pos;
    this.pos = at + length;
    return at;
  }

  /** The scratch buffer (valid until the next write: a write may replace it with a bigger one). */
  get buffer(): Uint8Array {
    return this.bytes;
  }

  /** Bytes already encoded (a map key, say), copied as they are. */
  raw(value: Uint8Array): void {
    const length = value.length;
    this.reserve(length);
    const bytes = this.bytes;
    const at = this.pos;
    // A loop beats `set` (a call into the runtime) for a few bytes, as for map keys.
    if (length <= 32) for (let i = 0; i < length; i++) bytes[at + i] = value[i]!;
    else copyInto(bytes, value, at);
    this.pos = at + length;
  }

  nil(): void {
    this.reserve(1);
    this.bytes[this.pos++] = 0xc0;
  }

  boolean(value: boolean): void {
    this.reserve(1);
    this.bytes[this.pos++] = value ? 0xc3 : 0xc2;
  }

  /** Any number: the smallest integer format for safe integers, else float64 (also for -0). */
  number(value: number): void {
    this.reserve(9);
    const bytes = this.bytes;
    if (Number.isSafeInteger(value) && !(value === 0 && Object.is(value, -0))) {
      if (value >= 0) {
        if (value < 0x80) {
          bytes[this.pos++] = value;
        } else if (value < 0x100) {
          bytes[this.pos++] = 0xcc;
          bytes[this.pos++] = value;
        } else if (value < 0x10000) {
          bytes[this.pos++] = 0xcd;
          this.view.setUint16(this.pos, value);
          this.pos += 2;
        } else if (value < 0x100000000) {
          bytes[this.pos++] = 0xce;
          this.view.setUint32(this.pos, value);
          this.pos += 4;
        } else {
          bytes[this.pos++] = 0xcf;
          this.view.setUint32(this.pos, value / 0x100000000);
          this.view.setUint32(this.pos + 4, value);
          this.pos += 8;
        }
      } else if (value >= -0x20) {
        bytes[this.pos++] = 0xe0 | (value + 0x20);
      } else if (value >= -0x80) {
        bytes[this.pos++] = 0xd0;
        this.view.setInt8(this.pos++, value);
      } else if (value >= -0x8000) {
        bytes[this.pos++] = 0xd1;
        this.view.setInt16(this.pos, value);
        this.pos += 2;
      } else if (value >= -0x80000000) {
        bytes[this.pos++] = 0xd2;
        this.view.setInt32(this.pos, value);
        this.pos += 4;
      } else {
        bytes[this.pos++] = 0xd3;
        this.view.setUint32(this.pos, Math.floor(value / 0x100000000));
        this.view.setUint32(this.pos + 4, value);
        this.pos += 8;
      }
    } else {
      bytes[this.pos++] = 0xcb;
      this.view.setFloat64(this.pos, value);
      this.pos += 8;
    }
  }

  /**
   * A string as UTF-8. Throws `MsgpackWriteRefused` for a string with lone surrogates: the stock
   * encoder's two paths (its own loop for short strings, TextEncoder for long ones) disagree on
   * those, so a caller that must match it byte for byte leaves them to it.
   */
  string(value: string): void {
    const length = value.length;
    this.reserve(5 + 3 * length);
    // Optimistically ASCII: then the byte length is the string length.
    const header = stringHeaderSize(length);
    const start = this.pos + header;
    const bytes = this.bytes;
    let ascii = true;
    if (length <= 64) {
      for (let i = 0; i < length; i++) {
        const unit = value.charCodeAt(i);
        if (unit >= 0x80) {
          ascii = false;
          break;
        }
        bytes[start + i] = unit;
      }
    } else {
      ascii = textEncoder.encodeInto(value, bytes.subarray(start)).written === length;
    }
    if (ascii) {
      this.stringHeader(length);
      this.pos += length;
      return;
    }
    if (isWellFormed === undefined || !isWellFormed.call(value)) throw REFUSED;
    const written = textEncoder.encodeInto(value, bytes.subarray(this.pos + 5)).written;
    const at = this.pos + 5;
    this.stringHeader(written);
    if (this.pos !== at) bytes.copyWithin(this.pos, at, at + written);
    this.pos += written;
  }

  binary(value: Uint8Array): void {
    // `length`, not `byteLength`: V8 inlines the one and calls out for the other.
    const size = value.length;
    this.reserve(5 + size);
    const bytes = this.bytes;
    if (size < 0x100) {
      bytes[this.pos++] = 0xc4;
      bytes[this.pos++] = size;
    } else if (size < 0x10000) {
      bytes[this.pos++] = 0xc5;
      this.view.setUint16(this.pos, size);
      this.pos += 2;
    } else {
      bytes[this.pos++] = 0xc6;
      this.view.setUint32(this.pos, size);
      this.pos += 4;
    }
    copyInto(bytes, value, this.pos);
    this.pos += size;
  }

  arrayHeader(count: number): void {
    this.collectionHeader(count, 0x90, 0xdc);
  }

  mapHeader(count: number): void {
    this.collectionHeader(count, 0x80, 0xde);
  }

  /**
   * Writes a one-byte map header to be filled in by `patchMapHeader` once the number of entries
   * is known (at most 15); returns where it is.
   */
  placeholderMapHeader(): number {
    this.reserve(1);
    this.bytes[this.pos] = 0x80;
    return this.pos++;
  }

  patchMapHeader(at: number, count: number): void {
    if (count > 15) throw new RangeError(`a placeholder map header holds at most 15 entries, not ${count}`);
    this.bytes[at] = 0x80 | count;
  }

  protected stringHeader(byteLength: number): void {
    const bytes = this.bytes;
    if (byteLength < 32) {
      bytes[this.pos++] = 0xa0 + byteLength;
    } else if (byteLength < 0x100) {
      bytes[this.pos++] = 0xd9;
      bytes[this.pos++] = byteLength;
    } else if (byteLength < 0x10000) {
      bytes[this.pos++] = 0xda;
      this.view.setUint16(this.pos, byteLength);
      this.pos += 2;
    } else {
      bytes[this.pos++] = 0xdb;
      this.view.setUint32(this.pos, byteLength);
      this.pos += 4;
    }
  }

  /** fixarray/fixmap (`fix`), or the 16-bit (`wide`) or 32-bit (`wide + 1`) form. */
  protected collectionHeader(count: number, fix: number, wide: number): void {
    this.reserve(5);
    if (count < 16) {
      this.bytes[this.pos++] = fix + count;
    } else if (count < 0x10000) {
      this.bytes[this.pos++] = wide;
      this.view.setUint16(this.pos, count);
      this.pos += 2;
    } else {
      this.bytes[this.pos++] = wide + 1;
      this.view.setUint32(this.pos, count);
      this.pos += 4;
    }
  }

  protected reserve(length: number): void {
    if (this.pos + length <= this.end) return;
    // What was written keeps its offset (`origin` onwards): positions handed out stay valid.
    const origin = this.origin;
    const room = Math.max(this.pos - origin + length, 2 * (this.end - origin));
    const grown = new Uint8Array(origin + room);
    grown.set(this.bytes.subarray(origin, this.pos), origin);
    this.bytes = grown;
    this.view = new DataView(grown.buffer);
    this.end = grown.length;
  }
}

/** Bytes of msgpack's header for a string of `byteLength` bytes. */
export function stringHeaderSize(byteLength: number): number {
  return byteLength < 32 ? 1 : byteLength < 0x100 ? 2 : byteLength < 0x10000 ? 3 : 5;
}

/** The msgpack encoding of a string, to be written with `raw` (a map key known in advance). */
export function encodeString(value: string): Uint8Array {
  const writer = new MsgpackWriter(5 + value.length);
  writer.string(value);
  return writer.written().slice();
}
