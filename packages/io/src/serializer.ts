import { SerializationError } from '@copycat/common';
import { type ByteBuffer } from './byte-buffer.js';
import { MsgpackReader } from './msgpack-reader.js';
import { MsgpackWriter } from './msgpack-writer.js';
import {
  Decoder,
  Encoder,
  EXT_TIMESTAMP,
  decodeTimestampExtension,
  encodeTimestampExtension,
  type ExtData,
  type ExtensionCodecType,
} from '@msgpack/msgpack';

/** Extension type ids 0..15 are Copycat's own; users register ids 16..127. */
export const FIRST_USER_TYPE_ID = 16;
export const LAST_TYPE_ID = 127;

const EXT_UNDEFINED = 0;
const EXT_BIGINT = 1;
const EXT_MAP = 2;
const EXT_SET = 3;

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- a class of any shape
export type Constructor<T> = abstract new (...args: any[]) => T;

/** How a registered class becomes serializable data and back. */
export interface TypeCodec<T> {
  /** Returns any serializable value (it is itself serialized, so it may contain other registered types). */
  encode(value: T): unknown;
  decode(data: unknown): T;
}

interface Registration {
  id: number;
  name: string;
  codec: TypeCodec<unknown>;
}

const EMPTY = new Uint8Array(0);
const textEncoder = new TextEncoder();
const textDecoder = new TextDecoder('utf-8', { fatal: true });

/**
 * msgpack serialization with a registry of user classes. Round-trips, beyond what msgpack
 * itself supports: `undefined` (also inside objects and arrays), `bigint` of any size, `Map`,
 * `Set`, `Date` (msgpack timestamps), `-0`, and registered class instances. An instance of an
 * unregistered class fails with a `SerializationError` naming the class, rather than being
 * silently flattened into a plain object. Malformed bytes fail with `SerializationError`.
 *
 * Decoded `Uint8Array`s are views into the input bytes: copy them if the input is reused.
 */
export class Serializer {
  private readonly byConstructor = new Map<Function, Registration>();
  private readonly byId = new Map<number, Registration>();
  private readonly encoder: Encoder<undefined>;
  private readonly decoder: Decoder<undefined>;
  private readonly plainEncoder = new PlainEncoder();
  private readonly plainDecoder: PlainDecoder;

  constructor() {
    const codec = this.extensionCodec();
    this.encoder = createEncoder(codec);
    this.decoder = new Decoder({ extensionCodec: codec });
    this.plainDecoder = new PlainDecoder(codec);
  }

  /** Makes instances of `type` serializable under extension type `id` (16..127). */
  register<T>(id: number, type: Constructor<T>, codec: TypeCodec<T>): this {
    if (!Number.isInteger(id) || id < FIRST_USER_TYPE_ID || id > LAST_TYPE_ID) {
      throw new RangeError(
        `type id must be an integer in [${FIRST_USER_TYPE_ID}, ${LAST_TYPE_ID}], got ${id}`,
      );
    }
    const existing = this.byId.get(id);
    if (existing !== undefined) {
      throw new RangeError(`type id ${id} is already registered for ${existing.name}`);
    }
    if (this.byConstructor.has(type)) throw new RangeError(`${type.name} is already registered`);
    const registration: Registration = { id, name: type.name, codec: codec };
    this.byConstructor.set(type, registration);
    this.byId.set(id, registration);
    return this;
  }

  isRegistered(type: Constructor<unknown>): boolean {
    return this.byConstructor.has(type);
  }

  encode(value: unknown): Uint8Array {
    return this.encodeShared(value).slice();
  }

  /**
   * Like `encode`, but returns a view of the serializer's own scratch buffer instead of a copy:
   * valid only until the next call to any `encode*` method of this serializer. For callers that
   * copy the bytes somewhere at once (a frame, a log buffer): it saves the allocation of a new
   * array per value, which costs more than the encoding itself for small values.
   */
  encodeShared(value: unknown): Uint8Array {
    const plain = this.plainEncoder.tryEncode(value);
    if (plain !== undefined) return plain;
    try {
      return this.encoder.encodeSharedRef(value);
    } catch (error) {
      throw asSerializationError('encode', error);
    }
  }

  /**
   * Encodes `value` into `target` at its position (growing it as needed, up to its
   * `maxCapacity`) and returns the number of bytes written. No intermediate array is allocated.
   */
  encodeInto(value: unknown, target: ByteBuffer): number {
    const bytes = this.encodeShared(value);
    target.writeRaw(bytes);
    return bytes.length;
  }

  decode<T = unknown>(bytes: Uint8Array): T {
    const plain = this.plainDecoder.tryDecode(bytes);
    if (plain !== FALLBACK) return plain as T;
    try {
      return this.decoder.decode(bytes) as T;
    } catch (error) {
      throw asSerializationError('decode', error);
    }
  }

  private extensionCodec(): ExtensionCodecType<undefined> {
    return {
      // Called by the encoder for every non-primitive value, so the common cases return first.
      tryToEncode: (object: unknown): ExtData | null => {
        if (object === undefined) return { type: EXT_UNDEFINED, data: EMPTY };
        if (typeof object === 'bigint')
          return { type: EXT_BIGINT, data: textEncoder.encode(object.toString()) };
        if (typeof object !== 'object' || object === null) return null;
        const constructor = (object as { constructor?: unknown }).constructor;
        if (constructor === Object || constructor === Array || constructor === undefined) return null;
        if (object instanceof Uint8Array) return null;
        const registration = this.byConstructor.get(constructor as Function);
        if (registration !== undefined) {
          return { type: registration.id, data: this.encoder.encode(registration.codec.encode(object)) };
        }
        if (object instanceof Map) {
          const flat: unknown[] = [];
          for (const [key, value] of object) flat.push(key, value);
          return { type: EXT_MAP, data: this.encoder.encode(flat) };
        }
        if (object instanceof Set) return { type: EXT_SET, data: this.encoder.encode([...object]) };
        if (object instanceof Date) {
          if (Number.isNaN(object.getTime()))
            throw new SerializationError('cannot serialize an invalid Date');
          return { type: EXT_TIMESTAMP, data: encodeTimestampExtension(object)! };
        }
        if (ArrayBuffer.isView(object) || object instanceof ArrayBuffer) {
          throw new SerializationError(
            `cannot serialize ${constructorName(object)}: only Uint8Array is supported for binary data`,
          );
        }
        if (Object.getPrototypeOf(object) === null) return null;
        throw new SerializationError(
          `cannot serialize an instance of class ${constructorName(object)}: register it with serializer.register(id, ${constructorName(object)}, codec)`,
        );
      },
      decode: (data: Uint8Array, type: number): unknown => {
        switch (type) {
          case EXT_UNDEFINED:
            return undefined;
          case EXT_BIGINT: {
            const text = textDecoder.decode(data);
            if (!/^-?\d+$/.test(text))
              throw new SerializationError(`malformed bigint ${JSON.stringify(text)}`);
            return BigInt(text);
          }
          case EXT_MAP: {
            const flat = this.decodeArray(data, 'Map');
            if (flat.length % 2 !== 0) throw new SerializationError('malformed Map: odd number of items');
            const map = new Map<unknown, unknown>();
            for (let i = 0; i < flat.length; i += 2) map.set(flat[i], flat[i + 1]);
            return map;
          }
          case EXT_SET:
            return new Set(this.decodeArray(data, 'Set'));
          case EXT_TIMESTAMP:
            return decodeTimestampExtension(data);
          default: {
            const registration = this.byId.get(type);
            if (registration === undefined) throw new SerializationError(`unknown extension type ${type}`);
            return registration.codec.decode(this.decoder.decode(data));
          }
        }
      },
    };
  }

  private decodeArray(data: Uint8Array, what: string): unknown[] {
    const value = this.decoder.decode(data);
    if (!Array.isArray(value)) throw new SerializationError(`malformed ${what}: expected an array`);
    return value;
  }
}

/**
 * msgpack writes `undefined` as nil (so it decodes as `null`) and `-0` as the integer 0; both are
 * intercepted here so they round-trip. Everything else is the stock encoder. `doEncode` (the
 * per-value entry point) and `clone` (used for re-entrant, nested encodes) are public in the
 * package's JavaScript but private in its typings, hence the cast; the tests pin the behaviour.
 */
function createEncoder(extensionCodec: ExtensionCodecType<undefined>): Encoder<undefined> {
  const encoder = new Encoder<undefined>({ extensionCodec });
  const internals = encoder as unknown as EncoderInternals;
  const doEncode = internals.doEncode.bind(encoder);
  internals.doEncode = (object, depth) => {
    if (object === undefined) {
      internals.encodeExtension({ type: EXT_UNDEFINED, data: EMPTY });
    } else if (object === 0 && Object.is(object, -0)) {
      internals.writeU8(0xcb);
      internals.writeF64(-0);
    } else {
      doEncode(object, depth);
    }
  };
  internals.clone = () => createEncoder(extensionCodec);
  return encoder;
}

interface EncoderInternals {
  doEncode(object: unknown, depth: number): void;
  encodeExtension(ext: ExtData): void;
  writeU8(value: number): void;
  writeF64(value: number): void;
  clone(): Encoder<undefined>;
}

function constructorName(object: object): string {
  const name = (object as { constructor?: { name?: unknown } }).constructor?.name;
  return typeof name === 'string' && name !== '' ? name : 'anonymous class';
}

function asSerializationError(operation: 'encode' | 'decode', error: unknown): SerializationError {
  if (error instanceof SerializationError) return error;
  const message = error instanceof Error ? error.message : String(error);
  return new SerializationError(`${operation} failed: ${message}`, { cause: error });
}

// ---- fast paths ----------------------------------------------------------------------------
//
// The stock msgpack coder is general (extension hooks on every object, a state machine for
// streaming); most values are plain data (objects, arrays, strings, numbers, booleans, null,
// undefined, bytes), and so is every protocol message, which a transport encodes and decodes
// for each request. `PlainEncoder` and `PlainDecoder` handle exactly that subset, producing the
// same bytes and the same values as the stock coder (the tests compare them on arbitrary
// inputs), and give up on anything else: the stock coder then runs from the start, so a value
// outside the subset costs one partial pass more. One consequence: a getter on a plain object
// that also holds, say, a `Map` is read twice.

/** What the fast paths return when they give up. */
const FALLBACK: unique symbol = Symbol('fallback');

/** Thrown inside the fast paths to give up; caught at their entry points. */
class GiveUp extends Error {}
const GIVE_UP = new GiveUp('outside the fast path');

/** The stock encoder's depth limit (`DEFAULT_MAX_DEPTH`): beyond it, it throws, so we give up. */
const MAX_DEPTH = 100;
/** The decoder recurses: nesting deeper than this goes to the stock (iterative) decoder. */
const MAX_DECODE_DEPTH = 100;

class PlainEncoder extends MsgpackWriter {
  private entered = false;

  /** `value` encoded (a view of the scratch buffer), or `undefined` if it is not plain data. */
  tryEncode(value: unknown): Uint8Array | undefined {
    // A getter may encode re-entrantly: that inner encoding takes the stock path.
    if (this.entered) return undefined;
    this.entered = true;
    this.reset();
    try {
      this.value(value, 1);
      return this.written();
    } catch {
      // Not plain data, or a getter threw: the stock path encodes it or reports the error.
      return undefined;
    } finally {
      this.entered = false;
    }
  }

  private value(value: unknown, depth: number): void {
    if (depth > MAX_DEPTH) throw GIVE_UP;
    switch (typeof value) {
      case 'number':
        this.number(value);
        return;
      case 'string':
        this.string(value);
        return;
      case 'boolean':
        this.boolean(value);
        return;
      case 'undefined':
        // The extension Serializer gives `undefined` (EXT_UNDEFINED, no data) as ext 8.
        this.reserve(3);
        this.bytes[this.pos++] = 0xc7;
        this.bytes[this.pos++] = 0;
        this.bytes[this.pos++] = EXT_UNDEFINED;
        return;
      case 'object':
        break;
      default:
        throw GIVE_UP;
    }
    if (value === null) {
      this.nil();
      return;
    }
    // The same tests, in the same order, as the Serializer's extension codec and the encoder.
    const constructor = (value as { constructor?: unknown }).constructor;
    if (constructor === Object || constructor === Array || constructor === undefined) {
      if (Array.isArray(value)) this.array(value, depth);
      else if (ArrayBuffer.isView(value)) throw GIVE_UP;
      else this.map(value as Record<string, unknown>, depth);
    } else if (value instanceof Uint8Array) {
      this.binary(value);
    } else {
      throw GIVE_UP;
    }
  }

  private array(value: unknown[], depth: number): void {
    const length = value.length;
    this.arrayHeader(length);
    for (let i = 0; i < length; i++) this.value(value[i], depth + 1);
  }

  private map(value: Record<string, unknown>, depth: number): void {
    const keys = Object.keys(value);
    this.mapHeader(keys.length);
    for (const key of keys) {
      this.string(key);
      this.value(value[key], depth + 1);
    }
  }
}

class PlainDecoder extends MsgpackReader {
  private entered = false;

  constructor(private readonly codec: ExtensionCodecType<undefined>) {
    super();
  }

  /** The decoded value, or `FALLBACK` if the stock decoder must decide (anything unusual, errors included). */
  tryDecode(bytes: Uint8Array): unknown {
    // An extension's decode (a user's TypeCodec) may decode re-entrantly: the stock path then.
    if (this.entered) return FALLBACK;
    this.entered = true;
    this.reset(bytes);
    try {
      const value = this.value(0);
      return this.atEnd ? value : FALLBACK;
    } catch {
      // Malformed or unusual input: the stock decoder gives the value or the error.
      return FALLBACK;
    } finally {
      this.entered = false;
      this.release();
    }
  }

  private value(depth: number): unknown {
    if (depth > MAX_DECODE_DEPTH) throw GIVE_UP;
    const head = this.u8();
    if (head < 0x80) return head;
    if (head >= 0xe0) return head - 0x100;
    if (head < 0x90) return this.map(head - 0x80, depth);
    if (head < 0xa0) return this.array(head - 0x90, depth);
    if (head < 0xc0) return this.stringOf(head - 0xa0);
    if (head >= 0xca && head <= 0xd3) return this.numberAfter(head);
    switch (head) {
      case 0xc0:
        return null;
      case 0xc2:
        return false;
      case 0xc3:
        return true;
      case 0xc4:
        return this.binaryOf(this.u8());
      case 0xc5:
        return this.binaryOf(this.u16());
      case 0xc6:
        return this.binaryOf(this.u32());
      case 0xc7:
        return this.extension(this.u8());
      case 0xc8:
        return this.extension(this.u16());
      case 0xc9:
        return this.extension(this.u32());
      case 0xd4:
        return this.extension(1);
      case 0xd5:
        return this.extension(2);
      case 0xd6:
        return this.extension(4);
      case 0xd7:
        return this.extension(8);
      case 0xd8:
        return this.extension(16);
      case 0xd9:
        return this.stringOf(this.u8());
      case 0xda:
        return this.stringOf(this.u16());
      case 0xdb:
        return this.stringOf(this.u32());
      case 0xdc:
        return this.array(this.u16(), depth);
      case 0xdd:
        return this.array(this.u32(), depth);
      case 0xde:
        return this.map(this.u16(), depth);
      case 0xdf:
        return this.map(this.u32(), depth);
      default:
        // 0xc1 is never used; the stock decoder names it in its error.
        throw GIVE_UP;
    }
  }

  private array(size: number, depth: number): unknown[] {
    // Every item takes a byte at least: a claimed size beyond that is truncated input.
    if (size > this.bytes.length - this.pos) throw GIVE_UP;
    const array = new Array<unknown>(size);
    for (let i = 0; i < size; i++) array[i] = this.value(depth + 1);
    return array;
  }

  private map(size: number, depth: number): Record<string, unknown> {
    if (size > this.bytes.length - this.pos) throw GIVE_UP;
    const map: Record<string | number, unknown> = {};
    for (let i = 0; i < size; i++) {
      const key = this.key();
      map[key] = this.value(depth + 1);
    }
    return map;
  }

  /** A map key: the stock decoder allows strings and numbers (and refuses `__proto__`). */
  private key(): string | number {
    const head = this.bytes[this.pos];
    let key: unknown;
    if (head !== undefined && head >= 0xa0 && head < 0xc0) {
      this.pos++;
      key = this.stringOf(head - 0xa0);
    } else if (head !== undefined && (head < 0x80 || head >= 0xe0 || (head >= 0xca && head <= 0xdb))) {
      key = this.value(MAX_DECODE_DEPTH);
    } else {
      throw GIVE_UP;
    }
    if ((typeof key !== 'string' && typeof key !== 'number') || key === '__proto__') throw GIVE_UP;
    return key;
  }

  private extension(size: number): unknown {
    const type = this.dataView().getInt8(this.pos++);
    const data = this.binaryOf(size);
    return type === EXT_UNDEFINED ? undefined : this.codec.decode(data, type, undefined);
  }
}
