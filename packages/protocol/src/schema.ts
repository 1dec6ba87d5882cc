/**
 * A very small shape checker for decoded messages. Decoding validates every field so that a
 * malformed message is a `ProtocolError` at the edge, never a `TypeError` deep in the server.
 * Checks return the value itself (no copy); unknown extra fields are ignored so that a newer
 * peer may add optional fields.
 *
 * Two phases, because every message on the hot path is checked: `is` answers yes or no without
 * allocating anything (not even the path of a field), and only a value that fails is walked
 * again by `explain` to say where and why.
 */
import { ProtocolError } from '@copycat/common';

export interface Schema<T> {
  /** Whether `value` has the shape (no allocation). */
  is(value: unknown): boolean;
  /** For a value that is not of the shape: the error naming the first problem under `path`. */
  explain(value: unknown, path: string): ProtocolError;
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

export function invalid(path: string, expected: string, value: unknown): ProtocolError {
  return new ProtocolError(`${path} must be ${expected}, got ${describe(value)}`);
}

function predicate<T>(expected: string, is: (value: unknown) => boolean): Schema<T> {
  return { expected, optional: false, is, explain: (value, path) => invalid(path, expected, value) };
}

/** Indexes, terms, sequences, session ids: integers in [0, 2^53). */
export const uint: Schema<number> = predicate(
  'a non-negative integer',
  (v) => Number.isSafeInteger(v) && (v as number) >= 0,
);
/** Request ids: integers in [1, 2^53). */
export const positiveInt: Schema<number> = predicate(
  'a positive integer',
  (v) => Number.isSafeInteger(v) && (v as number) > 0,
);
/** Times and durations: finite numbers >= 0 (a simulated clock may be fractional). */
export const time: Schema<number> = predicate(
  'a finite number >= 0',
  (v) => typeof v === 'number' && Number.isFinite(v) && v >= 0,
);
export const string: Schema<string> = predicate('a string', (v) => typeof v === 'string');
export const boolean: Schema<boolean> = predicate('a boolean', (v) => typeof v === 'boolean');
export const bytes: Schema<Uint8Array> = predicate('bytes', (v) => v instanceof Uint8Array);

/** One of the given strings or numbers. */
export function oneOf<const T extends string | number>(values: readonly T[]): Schema<T> {
  const allowed = new Set<unknown>(values);
  return predicate(`one of ${values.map((v) => JSON.stringify(v)).join(', ')}`, (v) => allowed.has(v));
}

/** A field that may be absent (or `undefined`). */
export function optional<T>(schema: Schema<T>): Schema<T | undefined> {
  return {
    expected: schema.expected,
    optional: true,
    is: (value) => value === undefined || schema.is(value),
    explain: (value, path) => schema.explain(value, path),
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

/** A plain object with the given fields; extra fields are ignored. */
export function object<T>(fields: Fields<T>): Schema<T> {
  const keys = Object.keys(fields);
  const schemas: Schema<unknown>[] = Object.values(fields);
  return {
    expected: 'an object',
    optional: false,
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
