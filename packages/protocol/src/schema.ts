/**
 * A very small shape checker for decoded messages, which is also their codec. Decoding validates
 * every field so that a malformed message is a `ProtocolError` at the edge, never a `TypeError`
 * deep in the server. Checks return the value itself (no copy); unknown extra fields are ignored
 * so that a newer peer may add optional fields.
 *
 * Two phases, because every message on the hot path is checked: `is` answers yes or no without
 * allocating anything (not even the path of a field), and only a value that fails is walked
 * again by `explain` to say where and why.
 *
 * `write` and `read` check while they encode and decode (see message-codec.ts): a message is
 * walked once, not once to code it and once more to check it. They answer only yes or no too
 * (`false`, `READ_REFUSED`): the caller then takes the generic path, whose checks explain.
 */
import { ProtocolError } from '@copycat/common';
import { READ_REFUSED, encodeString, type MsgpackReader, type MsgpackWriter } from '@copycat/io';
import { objectCodec } from './object-codec.js';

export interface Schema<T> {
  /** Whether `value` has the shape (no allocation). */
  is(value: unknown): boolean;
  /** For a value that is not of the shape: the error naming the first problem under `path`. */
  explain(value: unknown, path: string): ProtocolError;
  /**
   * Writes `value` if it has the shape and returns true; returns false (having written part of
   * it) if it does not. May throw `MsgpackWriteRefused` for a value it leaves to the generic path.
   */
  write(writer: MsgpackWriter, value: unknown): boolean;
  /** Reads a value of the shape, or throws `READ_REFUSED` (malformed, unusual or not of the shape). */
  read(reader: MsgpackReader): T;
  /** Whether the field may be absent (see `optional`). */
  readonly optional: boolean;
  /** What the schema expects, for error messages. */
  readonly expected: string;
  /** Phantom: the type the schema checks for; never set. */
  readonly __type?: T;
}

/** Returns `value` typed as `T`, or throws a `ProtocolError` naming `path`. */
export function check<T>(schema: Schema<T>, value: unknown, path: string): T {
  if (schema.is(value)) return value as T;
  throw schema.explain(value, path);
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (value instanceof Uint8Array) return 'bytes';
  if (typeof value === 'object') return 'an object';
  if (typeof value === 'string') return `a string`;
  if (typeof value === 'number' || typeof value === 'boolean') return `${typeof value} ${value}`;
  return typeof value;
}

/**
 * A received value for an error message: primitives as they are, anything else by its kind.
 * Never `String(value)` on an object off the wire: its `toString` may be a field, and then
 * `String` throws a `TypeError` instead of the `ProtocolError` being built.
 */
export function show(value: unknown): string {
  return typeof value === 'object' && value !== null ? describe(value) : String(value);
}

export function invalid(path: string, expected: string, value: unknown): ProtocolError {
  return new ProtocolError(`${path} must be ${expected}, got ${describe(value)}`);
}

// The schemas of single values are written out one by one rather than made by one factory:
// each then has method bodies of its own, which V8 inlines into the compiled object codecs
// (object-codec.ts), where one shared body would be a call it cannot inline.

const isUint = (v: unknown): v is number => Number.isSafeInteger(v) && (v as number) >= 0;
const isPositiveInt = (v: unknown): v is number => Number.isSafeInteger(v) && (v as number) > 0;
const isTime = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v) && v >= 0;

export const uint: Schema<number> = {
  expected: 'a non-negative integer',
  optional: false,
  is: isUint,
  explain: (value, path) => invalid(path, uint.expected, value),
  write: (writer, value) => isUint(value) && (writer.number(value), true),
  read(reader) {
    const value = reader.readNumber();
    if (!isUint(value)) throw READ_REFUSED;
    return value;
  },
};
export const positiveInt: Schema<number> = {
  expected: 'a positive integer',
  optional: false,
  is: isPositiveInt,
  explain: (value, path) => invalid(path, positiveInt.expected, value),
  write: (writer, value) => isPositiveInt(value) && (writer.number(value), true),
  read(reader) {
    const value = reader.readNumber();
    if (!isPositiveInt(value)) throw READ_REFUSED;
    return value;
  },
};
export const time: Schema<number> = {
  expected: 'a finite number >= 0',
  optional: false,
  is: isTime,
  explain: (value, path) => invalid(path, time.expected, value),
  write: (writer, value) => isTime(value) && (writer.number(value), true),
  read(reader) {
    const value = reader.readNumber();
    if (!isTime(value)) throw READ_REFUSED;
    return value;
  },
};
export const string: Schema<string> = {
  expected: 'a string',
  optional: false,
  is: (value) => typeof value === 'string',
  explain: (value, path) => invalid(path, string.expected, value),
  write: (writer, value) => typeof value === 'string' && (writer.string(value), true),
  read: (reader) => reader.readString(),
};
export const boolean: Schema<boolean> = {
  expected: 'a boolean',
  optional: false,
  is: (value) => typeof value === 'boolean',
  explain: (value, path) => invalid(path, boolean.expected, value),
  write: (writer, value) => typeof value === 'boolean' && (writer.boolean(value), true),
  read: (reader) => reader.readBoolean(),
};
export const bytes: Schema<Uint8Array> = {
  expected: 'bytes',
  optional: false,
  is: (value) => value instanceof Uint8Array,
  explain: (value, path) => invalid(path, bytes.expected, value),
  write: (writer, value) => value instanceof Uint8Array && (writer.binary(value), true),
  read(reader) {
    const value = reader.readBinary();
    // A view of the frame: of another realm's Uint8Array if the frame came from one, which the
    // generic path refuses (as not bytes), so this does too.
    if (!(value instanceof Uint8Array)) throw READ_REFUSED;
    return value;
  },
};

/** Enumerations this small are searched by a loop: cheaper than hashing (most have 1 to 3 values). */
const SMALL_ENUMERATION = 8;

export function oneOf<const T extends string | number>(values: readonly T[]): Schema<T> {
  const small = values.length <= SMALL_ENUMERATION;
  const set = small ? undefined : new Set<unknown>(values);
  // A value read from a frame is usually the very string object of the schema (the reader hands
  // remembered strings back as they are), so the loop's comparisons are mostly pointer checks.
  const allowed =
    set === undefined
      ? (value: unknown) => {
          for (let i = 0; i < values.length; i++) if (values[i] === value) return true;
          return false;
        }
      : (value: unknown) => set.has(value);
  const expected = `one of ${values.map((v) => JSON.stringify(v)).join(', ')}`;
  // Small enumerations only: matching each value in turn is cheaper than a lookup for a few.
  const strings = small ? values.filter((v) => typeof v === 'string') : [];
  const encodedStrings = strings.map(encodeString);
  return {
    expected,
    optional: false,
    is: allowed,
    explain: (value, path) => invalid(path, expected, value),
    write(writer, value) {
      if (!allowed(value)) return false;
      if (typeof value === 'string') writer.string(value);
      else writer.number(value as number);
      return true;
    },
    read(reader) {
      // The strings as our encoder writes them are matched byte for byte (no string is read and
      // looked up); anything else (a number, another string format) is read and checked.
      for (let i = 0; i < encodedStrings.length; i++)
        if (readIfNext(reader, encodedStrings[i]!)) return strings[i]!;
      const value = reader.readScalar();
      if (!allowed(value)) throw READ_REFUSED;
      return value as T;
    },
  };
}

/** Whether the next bytes of `reader` are `encoded` (an item as our encoder writes it); if so, reads past them. */
export function readIfNext(reader: MsgpackReader, encoded: Uint8Array): boolean {
  const bytes = reader.input;
  const at = reader.position;
  const length = encoded.length;
  if (at + length > bytes.length) return false;
  for (let i = 0; i < length; i++) if (bytes[at + i] !== encoded[i]) return false;
  reader.position = at + length;
  return true;
}

/** A field that may be absent (or `undefined`). */
export function optional<T>(schema: Schema<T>): Schema<T | undefined> {
  return {
    expected: schema.expected,
    optional: true,
    is: (value) => value === undefined || schema.is(value),
    explain: (value, path) => schema.explain(value, path),
    // Objects leave absent fields out; a present `undefined` is written by the generic path only.
    write: (writer, value) => value !== undefined && schema.write(writer, value),
    read: (reader) => (reader.readUndefined() ? undefined : schema.read(reader)),
  };
}

export function array<T>(item: Schema<T>): Schema<T[]> {
  const expected = `an array of ${item.expected}`;
  return {
    expected,
    optional: false,
    is(value) {
      if (!Array.isArray(value)) return false;
      for (let i = 0; i < value.length; i++) if (!item.is(value[i])) return false;
      return true;
    },
    write(writer, value) {
      if (!Array.isArray(value)) return false;
      writer.arrayHeader(value.length);
      for (let i = 0; i < value.length; i++) if (!item.write(writer, value[i])) return false;
      return true;
    },
    read(reader) {
      const length = reader.readArrayHeader();
      const items = new Array<T>(length);
      for (let i = 0; i < length; i++) items[i] = item.read(reader);
      return items;
    },
    explain(value, path) {
      if (!Array.isArray(value)) return invalid(path, expected, value);
      const bad = value.findIndex((element) => !item.is(element));
      return item.explain(value[bad], `${path}[${bad}]`);
    },
  };
}

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const prototype: unknown = Object.getPrototypeOf(value);
  return prototype === Object.prototype || prototype === null;
}

/** The fields of `T`, each with its schema: the compiler insists on one per field. */
export type Fields<T> = { readonly [K in keyof T]-?: Schema<T[K]> };

/** An object schema, with the steps of `read` for a reader that has read the first entries itself. */
export interface ObjectSchema<T> extends Schema<T> {
  /** The field names, in the order `write` writes them. */
  readonly keys: readonly string[];
  /** `Schema.write`, with the envelope of a message given apart from its body (see `ObjectCodec.write`). */
  write(writer: MsgpackWriter, value: unknown, type?: unknown, id?: unknown): boolean;
  /** `write` for a value the caller knows to be a plain object (`isPlainObject`): not checked again. */
  writeFields(writer: MsgpackWriter, value: Record<string, unknown>, type?: unknown, id?: unknown): boolean;
  /**
   * Reads the `count` remaining entries of a map that began with the first `preset.length`
   * fields (their values, in key order): known fields checked, unknown ones passed over. Throws
   * `READ_REFUSED` for a field of the wrong shape, a repeated one or a missing required one.
   */
  readRest(reader: MsgpackReader, count: number, preset: readonly unknown[]): T;
}

/** Most fields an object schema may have: its map header is one byte, written before the count is known. */
const MAX_FIELDS = 15;
const NO_PRESET: readonly unknown[] = [];

/** A plain object with the given fields; extra fields are ignored (and not written). */
export function object<T>(fields: Fields<T>): ObjectSchema<T> {
  const keys = Object.keys(fields);
  const schemas: Schema<unknown>[] = Object.values(fields);
  if (keys.length > MAX_FIELDS) throw new RangeError(`an object schema has at most ${MAX_FIELDS} fields`);
  const codec = objectCodec(keys, schemas, keys.map(encodeString));
  return {
    expected: 'an object',
    optional: false,
    keys,
    write: (writer, value, type, id) => isPlainObject(value) && codec.write(writer, value, type, id),
    writeFields: (writer, value, type, id) => codec.write(writer, value, type, id),
    read: (reader) => codec.readRest(reader, reader.readMapHeader(), NO_PRESET) as T,
    readRest: (reader, count, preset) => codec.readRest(reader, count, preset) as T,
    is(value) {
      if (!isPlainObject(value)) return false;
      for (let i = 0; i < keys.length; i++) {
        const field = value[keys[i]!];
        const schema = schemas[i]!;
        if (field === undefined ? !schema.optional : !schema.is(field)) return false;
      }
      return true;
    },
    explain(value, path) {
      if (!isPlainObject(value)) return invalid(path, 'an object', value);
      for (let i = 0; i < keys.length; i++) {
        const field = value[keys[i]!];
        const schema = schemas[i]!;
        if (field === undefined) {
          if (!schema.optional)
            return new ProtocolError(`${path}.${keys[i]} is missing (expected ${schema.expected})`);
        } else if (!schema.is(field)) {
          return schema.explain(field, `${path}.${keys[i]}`);
        }
      }
      return new ProtocolError(`${path} is not valid`);
    },
  };
}
