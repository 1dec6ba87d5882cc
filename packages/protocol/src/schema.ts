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

/** A schema of one value (not a collection): a test, how to write a value that passes it, how to read one. */
function predicate<T>(
  expected: string,
  is: (value: unknown) => boolean,
  write: (writer: MsgpackWriter, value: T) => void,
  read: (reader: MsgpackReader) => unknown,
): Schema<T> {
  return {
    expected,
    optional: false,
    is,
    explain: (value, path) => invalid(path, expected, value),
    write(writer, value) {
      if (!is(value)) return false;
      write(writer, value as T);
      return true;
    },
    read(reader) {
      const value = read(reader);
      if (!is(value)) throw READ_REFUSED;
      return value as T;
    },
  };
}

const writeNumber = (writer: MsgpackWriter, value: number) => writer.number(value);
const readNumber = (reader: MsgpackReader) => reader.readNumber();

/** Indexes, terms, sequences, session ids: integers in [0, 2^53). */
export const uint: Schema<number> = predicate(
  'a non-negative integer',
  (v) => Number.isSafeInteger(v) && (v as number) >= 0,
  writeNumber,
  readNumber,
);
/** Request ids: integers in [1, 2^53). */
export const positiveInt: Schema<number> = predicate(
  'a positive integer',
  (v) => Number.isSafeInteger(v) && (v as number) > 0,
  writeNumber,
  readNumber,
);
/** Times and durations: finite numbers >= 0 (a simulated clock may be fractional). */
export const time: Schema<number> = predicate(
  'a finite number >= 0',
  (v) => typeof v === 'number' && Number.isFinite(v) && v >= 0,
  writeNumber,
  readNumber,
);
export const string: Schema<string> = predicate(
  'a string',
  (v) => typeof v === 'string',
  (writer, value) => writer.string(value),
  (reader) => reader.readString(),
);
export const boolean: Schema<boolean> = predicate(
  'a boolean',
  (v) => typeof v === 'boolean',
  (writer, value) => writer.boolean(value),
  (reader) => reader.readBoolean(),
);
export const bytes: Schema<Uint8Array> = predicate(
  'bytes',
  (v) => v instanceof Uint8Array,
  (writer, value) => writer.binary(value),
  (reader) => reader.readBinary(),
);

/** One of the given strings or numbers. */
export function oneOf<const T extends string | number>(values: readonly T[]): Schema<T> {
  const allowed = new Set<unknown>(values);
  return predicate(
    `one of ${values.map((v) => JSON.stringify(v)).join(', ')}`,
    (v) => allowed.has(v),
    (writer, value) => (typeof value === 'string' ? writer.string(value) : writer.number(value)),
    (reader) => reader.readScalar(),
  );
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
  /** Reads `count` entries into `target`: known fields checked, unknown ones passed over. */
  readEntries(reader: MsgpackReader, count: number, target: Record<string, unknown>): void;
  /** Throws `READ_REFUSED` unless every required field is in `target`. */
  requireFields(target: Record<string, unknown>): void;
}

/** Most fields an object schema may have: its map header is one byte, written before the count is known. */
const MAX_FIELDS = 15;

/** A plain object with the given fields; extra fields are ignored (and not written). */
export function object<T>(fields: Fields<T>): ObjectSchema<T> {
  const keys = Object.keys(fields);
  const schemas: Schema<unknown>[] = Object.values(fields);
  if (keys.length > MAX_FIELDS) throw new RangeError(`an object schema has at most ${MAX_FIELDS} fields`);
  const encodedKeys = keys.map(encodeString);
  const indexOf = new Map(keys.map((key, i) => [key, i]));
  return {
    expected: 'an object',
    optional: false,
    keys,
    write(writer, value) {
      if (!isPlainObject(value)) return false;
      const header = writer.placeholderMapHeader();
      let count = 0;
      for (let i = 0; i < keys.length; i++) {
        const field = value[keys[i]!];
        const schema = schemas[i]!;
        if (field === undefined) {
          if (!schema.optional) return false;
          continue;
        }
        writer.raw(encodedKeys[i]!);
        if (!schema.write(writer, field)) return false;
        count++;
      }
      writer.patchMapHeader(header, count);
      return true;
    },
    read(reader) {
      const target: Record<string, unknown> = {};
      this.readEntries(reader, reader.readMapHeader(), target);
      this.requireFields(target);
      return target as T;
    },
    readEntries(reader, count, target) {
      for (let n = 0; n < count; n++) {
        const key = reader.readKey();
        const i = typeof key === 'string' ? indexOf.get(key) : undefined;
        if (i === undefined) {
          reader.skip();
        } else {
          // A repeated key: the generic decoder keeps the last value, which may make the message
          // another one (another `type`, another `id`); left to it to say which.
          if (target[key] !== undefined) throw READ_REFUSED;
          target[key] = schemas[i]!.read(reader);
        }
      }
    },
    requireFields(target) {
      for (let i = 0; i < keys.length; i++) {
        if (target[keys[i]!] === undefined && !schemas[i]!.optional) throw READ_REFUSED;
      }
    },
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
