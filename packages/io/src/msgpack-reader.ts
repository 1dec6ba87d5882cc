/**
 * The msgpack primitives read from a byte array: what the `Serializer`'s fast path is built on,
 * and what a codec that knows its shapes in advance (the protocol's messages) reads with, one
 * expected item at a time, without building a generic value first.
 *
 * A reader decodes what it reads exactly as the stock msgpack decoder would (the `Serializer`'s
 * tests compare them). Anything it does not handle, malformed or merely unusual (truncated
 * input, an unexpected type, text that is not well-formed UTF-8), makes it throw
 * `MsgpackReadRefused`: its callers then leave the input to the stock decoder, which decides
 * (and explains) what it is.
 */

import { viewOf } from './byte-views.js';

/** Thrown by a reader for input it does not handle; see the module comment. */
export class MsgpackReadRefused extends Error {}
/** Thrown as is (no stack trace to capture): refusals are control flow, not bugs. */
export const READ_REFUSED = new MsgpackReadRefused('outside what the reader handles');

const EMPTY = new Uint8Array(0);
/** Short strings (map keys, mostly) are looked up here rather than built again. */
const STRING_CACHE_SIZE = 512;
const MAX_CACHED_STRING = 16;
/** `skip` recurses: nesting deeper than this is refused. */
const MAX_SKIP_DEPTH = 100;
const wellFormedTextDecoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

export class MsgpackReader {
  protected bytes: Uint8Array = EMPTY;
  /** Made on first use: most inputs need none (it costs an allocation per input). */
  private view: DataView | undefined;
  protected pos = 0;
  /**
   * Two ways per hash (slots `h` and `h ^ 1`), so that remembered strings whose hashes collide
   * (`prevLogTerm` and `members` do) both stay; `pinned` marks theirs, which strings read from
   * the input never take over.
   */
  private readonly strings: (string | undefined)[] = new Array<string | undefined>(STRING_CACHE_SIZE);
  private readonly pinned = new Uint8Array(STRING_CACHE_SIZE);

  /** Reads `bytes` from the start from now on (they are not copied: binary values are views). */
  reset(bytes: Uint8Array): void {
    this.bytes = bytes;
    this.view = undefined;
    this.pos = 0;
  }

  /** Lets go of the input. */
  release(): void {
    this.bytes = EMPTY;
    this.view = undefined;
  }

  /** Whether every byte of the input was read. */
  get atEnd(): boolean {
    return this.pos === this.bytes.length;
  }

  /**
   * Makes these short ASCII strings (the keys of known shapes) come back as these very string
   * objects when read, so comparing them with the caller's constants is a pointer comparison.
   */
  remember(strings: Iterable<string>): void {
    for (const text of strings) {
      if (text.length > MAX_CACHED_STRING) continue;
      let hash = text.length;
      let ascii = true;
      for (let i = 0; i < text.length; i++) {
        const unit = text.charCodeAt(i);
        ascii &&= unit < 0x80;
        hash = (hash * 31 + unit) | 0;
      }
      if (!ascii) continue;
      const slot = hash & (STRING_CACHE_SIZE - 1);
      const way = this.pinned[slot] === 0 || this.strings[slot] === text ? slot : slot ^ 1;
      if (this.pinned[way] !== 0 && this.strings[way] !== text) continue; // both ways remembered already
      this.strings[way] = text;
      this.pinned[way] = 1;
    }
  }

  // ---- typed reads: each reads one item of the expected kind or throws READ_REFUSED ---------

  readNumber(): number {
    const head = this.u8();
    if (head < 0x80) return head;
    if (head >= 0xe0) return head - 0x100;
    return this.numberAfter(head);
  }

  readString(): string {
    const head = this.u8();
    if (head >= 0xa0 && head < 0xc0) return this.stringOf(head - 0xa0);
    if (head === 0xd9) return this.stringOf(this.u8());
    if (head === 0xda) return this.stringOf(this.u16());
    if (head === 0xdb) return this.stringOf(this.u32());
    throw READ_REFUSED;
  }

  readBinary(): Uint8Array {
    const head = this.u8();
    if (head === 0xc4) return this.binaryOf(this.u8());
    if (head === 0xc5) return this.binaryOf(this.u16());
    if (head === 0xc6) return this.binaryOf(this.u32());
    throw READ_REFUSED;
  }

  readBoolean(): boolean {
    const head = this.u8();
    if (head === 0xc3) return true;
    if (head === 0xc2) return false;
    throw READ_REFUSED;
  }

  /** A string or a number: what an enumeration's value may be. */
  readScalar(): string | number {
    const head = this.bytes[this.pos];
    return head !== undefined && ((head >= 0xa0 && head < 0xc0) || (head >= 0xd9 && head <= 0xdb))
      ? this.readString()
      : this.readNumber();
  }

  /**
   * A map key as the stock decoder allows them: a string or a number, and never `__proto__`
   * (which it refuses, so that decoded objects cannot have their prototype replaced).
   */
  readKey(): string | number {
    const key = this.readScalar();
    if (key === '__proto__') throw READ_REFUSED;
    return key;
  }

  /** The input (for code that matches bytes it expects itself: see `position`). */
  get input(): Uint8Array {
    return this.bytes;
  }

  /**
   * Where the next item starts in `input`. Code that matches the bytes it expects next itself
   * (a map key whose encoding it knows, say) moves it past them; it must not move it anywhere
   * but to the end of a complete item.
   */
  get position(): number {
    return this.pos;
  }

  set position(at: number) {
    this.pos = at;
  }

  /** The number of entries of a map. */
  readMapHeader(): number {
    const head = this.u8();
    const size =
      head >= 0x80 && head < 0x90
        ? head - 0x80
        : head === 0xde
          ? this.u16()
          : head === 0xdf
            ? this.u32()
            : -1;
    // Every entry takes two bytes at least: a claimed size beyond that is truncated input.
    if (size < 0 || 2 * size > this.bytes.length - this.pos) throw READ_REFUSED;
    return size;
  }

  /** The number of items of an array. */
  readArrayHeader(): number {
    const head = this.u8();
    const size =
      head >= 0x90 && head < 0xa0
        ? head - 0x90
        : head === 0xdc
          ? this.u16()
          : head === 0xdd
            ? this.u32()
            : -1;
    if (size < 0 || size > this.bytes.length - this.pos) throw READ_REFUSED;
    return size;
  }

  /**
   * Whether the next item is the `Serializer`'s encoding of `undefined` (an empty extension of
   * type 0); if so, it is read.
   */
  readUndefined(): boolean {
    const at = this.pos;
    const bytes = this.bytes;
    if (bytes[at] === 0xc7 && bytes[at + 1] === 0 && bytes[at + 2] === 0) {
      this.pos = at + 3;
      return true;
    }
    return false;
  }

  /**
   * Passes over one item of any kind but extensions (what an extension holds is its codec's to
   * say, and a codec may refuse it), checking that it is complete and well formed, map keys
   * included (see `readKey`).
   */
  skip(depth = 0): void {
    if (depth > MAX_SKIP_DEPTH) throw READ_REFUSED;
    const head = this.bytes[this.pos];
    if (head === undefined) throw READ_REFUSED;
    if (head < 0x80 || head >= 0xe0 || (head >= 0xca && head <= 0xd3)) {
      this.readNumber();
    } else if (head < 0x90 || head === 0xde || head === 0xdf) {
      for (let n = this.readMapHeader(); n > 0; n--) {
        this.readKey();
        this.skip(depth + 1);
      }
    } else if (head < 0xa0 || head === 0xdc || head === 0xdd) {
      for (let n = this.readArrayHeader(); n > 0; n--) this.skip(depth + 1);
    } else if (head < 0xc0 || (head >= 0xd9 && head <= 0xdb)) {
      this.readString();
    } else if (head >= 0xc4 && head <= 0xc6) {
      this.readBinary();
    } else if (head === 0xc0 || head === 0xc2 || head === 0xc3) {
      this.pos++;
    } else {
      throw READ_REFUSED;
    }
  }

  // ---- for decoders built on the reader ---------------------------------------------------

  /** The number that follows a head byte of 0xca..0xd3 (float, uint and int formats). */
  protected numberAfter(head: number): number {
    const at = this.pos;
    switch (head) {
      case 0xca:
        this.advance(4);
        return this.dataView().getFloat32(at);
      case 0xcb:
        this.advance(8);
        return this.dataView().getFloat64(at);
      case 0xcc:
        return this.u8();
      case 0xcd:
        return this.u16();
      case 0xce:
        return this.u32();
      case 0xcf:
        this.advance(8);
        return this.dataView().getUint32(at) * 0x100000000 + this.dataView().getUint32(at + 4);
      case 0xd0:
        this.advance(1);
        return this.dataView().getInt8(at);
      case 0xd1:
        this.advance(2);
        return this.dataView().getInt16(at);
      case 0xd2:
        this.advance(4);
        return this.dataView().getInt32(at);
      case 0xd3:
        this.advance(8);
        return this.dataView().getInt32(at) * 0x100000000 + this.dataView().getUint32(at + 4);
      default:
        throw READ_REFUSED;
    }
  }

  /** A string of `byteLength` bytes at the current position. */
  protected stringOf(byteLength: number): string {
    const start = this.pos;
    const end = start + byteLength;
    const bytes = this.bytes;
    if (end > bytes.length) throw READ_REFUSED;
    this.pos = end;
    if (byteLength <= MAX_CACHED_STRING) {
      let hash = byteLength;
      for (let i = start; i < end; i++) {
        const byte = bytes[i]!;
        if (byte >= 0x80) return this.utf8(start, end);
        hash = (hash * 31 + byte) | 0;
      }
      const slot = hash & (STRING_CACHE_SIZE - 1);
      const cached = this.strings[slot];
      if (cached !== undefined && cached.length === byteLength && sameAscii(cached, bytes, start)) {
        return cached;
      }
      const other = this.strings[slot ^ 1];
      if (other !== undefined && other.length === byteLength && sameAscii(other, bytes, start)) {
        return other;
      }
      const fresh = String.fromCharCode.apply(null, bytes.subarray(start, end) as unknown as number[]);
      if (this.pinned[slot] === 0) this.strings[slot] = fresh;
      else if (this.pinned[slot ^ 1] === 0) this.strings[slot ^ 1] = fresh;
      return fresh;
    }
    return this.utf8(start, end);
  }

  /** `size` bytes at the current position, as a view of the input. */
  protected binaryOf(size: number): Uint8Array {
    const start = this.pos;
    this.advance(size);
    return viewOf(this.bytes, start, start + size);
  }

  protected u8(): number {
    const at = this.pos;
    if (at >= this.bytes.length) throw READ_REFUSED;
    this.pos = at + 1;
    return this.bytes[at]!;
  }

  protected u16(): number {
    const at = this.pos;
    const bytes = this.bytes;
    if (at + 2 > bytes.length) throw READ_REFUSED;
    this.pos = at + 2;
    return (bytes[at]! << 8) | bytes[at + 1]!;
  }

  protected u32(): number {
    const at = this.pos;
    const bytes = this.bytes;
    if (at + 4 > bytes.length) throw READ_REFUSED;
    this.pos = at + 4;
    return bytes[at]! * 0x1000000 + ((bytes[at + 1]! << 16) | (bytes[at + 2]! << 8) | bytes[at + 3]!);
  }

  protected dataView(): DataView {
    const bytes = this.bytes;
    return (this.view ??= new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength));
  }

  private advance(count: number): void {
    if (this.pos + count > this.bytes.length) throw READ_REFUSED;
    this.pos += count;
  }

  private utf8(start: number, end: number): string {
    const bytes = this.bytes;
    // The stock decoder drops a leading byte order mark from strings over 200 bytes only.
    if (end - start > 200 && bytes[start] === 0xef && bytes[start + 1] === 0xbb && bytes[start + 2] === 0xbf)
      throw READ_REFUSED;
    // Invalid UTF-8 decodes differently in the stock decoder's two paths: it decides.
    try {
      return wellFormedTextDecoder.decode(bytes.subarray(start, end));
    } catch {
      throw READ_REFUSED;
    }
  }
}

function sameAscii(text: string, bytes: Uint8Array, start: number): boolean {
  for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) !== bytes[start + i]) return false;
  return true;
}
