/**
 * The read and write steps of an object schema (schema.ts `object`), compiled for its fields.
 *
 * Every message on every connection goes through these steps. Written once as loops over a
 * schema's fields, they shared one body among all object schemas, so V8 saw every field name at
 * the same property access and every field schema at the same call: megamorphic accesses and
 * calls that it does not inline, about half of the decoding time of a small message. Compiled per
 * schema (with `new Function`, from the schema's own field names, which must be identifiers), each
 * access and call has one name and one target, and a decoded object is built by one literal, so
 * objects of one schema share one shape.
 *
 * Where code cannot be generated (a browser page whose Content-Security-Policy forbids it: found
 * out once, with a probe), the same steps run as loops (`loopCodec`): identical results, slower.
 * Either way an object has its required fields first, then its optional ones, each in schema
 * order; an optional field present on the wire is present in the object (even if `undefined`).
 */
import { READ_REFUSED, type MsgpackReader, type MsgpackWriter } from '@copycat/io';

/** What a field schema must offer here (a subset of schema.ts `Schema`). */
export interface FieldCodec {
  readonly optional: boolean;
  write(writer: MsgpackWriter, value: unknown): boolean;
  read(reader: MsgpackReader): unknown;
}

export interface ObjectCodec {
  /**
   * Writes a plain object's fields in schema order; false if a field does not fit. A message's
   * envelope may come apart from its body: `type` and `id`, when given, are written for a first
   * field named `type` and a second named `id` instead of the object's own (so a connection need
   * not copy a body into a new object to add its envelope).
   */
  write(writer: MsgpackWriter, value: Record<string, unknown>, type?: unknown, id?: unknown): boolean;
  /**
   * Reads the `count` remaining entries of a map whose first entries were the schema's first
   * `preset.length` fields, with these values (in schema order: taken before anything else is
   * read, so the caller may reuse the array), and returns the object, or
   * throws `READ_REFUSED` (a field of the wrong shape, a repeated field, a required one missing).
   * Unknown fields are passed over.
   */
  readRest(reader: MsgpackReader, count: number, preset: readonly unknown[]): Record<string, unknown>;
}

const IDENTIFIER = /^[A-Za-z_$][A-Za-z0-9_$]*$/;
/** A field not (yet) read; `undefined` is a value a field may have (msgpack's undefined). */
const ABSENT: unique symbol = Symbol('absent');

/** Which envelope argument of `ObjectCodec.write` field `i` takes, if any. */
function envelopeField(keys: readonly string[], i: number): 'type' | 'id' | undefined {
  if (i === 0 && keys[0] === 'type') return 'type';
  if (i === 1 && keys[0] === 'type' && keys[1] === 'id') return 'id';
  return undefined;
}

/** Whether this runtime runs code made from strings: tried once, not once per schema. */
const codeGeneration = (() => {
  try {
    // eslint-disable-next-line @typescript-eslint/no-implied-eval
    return (new Function('return 1') as () => number)() === 1;
  } catch {
    return false; // a Content-Security-Policy without 'unsafe-eval', or the like
  }
})();

/** Which implementation `objectCodec` gives here (the tests check that Node gets the compiled one). */
export const objectCodecKind: 'compiled' | 'loops' = codeGeneration ? 'compiled' : 'loops';

/** The codec for these fields: compiled if this runtime allows it, else loops. */
export function objectCodec(
  keys: readonly string[],
  fields: readonly FieldCodec[],
  encodedKeys: readonly Uint8Array[],
): ObjectCodec {
  const compilable = keys.length > 0 && keys.every((key) => IDENTIFIER.test(key) && key !== '__proto__');
  return codeGeneration && compilable
    ? compiledCodec(keys, fields, encodedKeys)
    : loopCodec(keys, fields, encodedKeys);
}

function compiledCodec(
  keys: readonly string[],
  fields: readonly FieldCodec[],
  encodedKeys: readonly Uint8Array[],
): ObjectCodec {
  const each = (line: (i: number) => string) => keys.map((_, i) => line(i)).join('\n');
  // The envelope fields (see `ObjectCodec.write`) read the argument first, the object's own else.
  const read = (i: number) =>
    envelopeField(keys, i) === undefined
      ? `value.${keys[i]}`
      : `(${envelopeField(keys, i)} === undefined ? value.${keys[i]} : ${envelopeField(keys, i)})`;
  // Keys are written and matched as constants in the code: no copying or comparing loops, and no
  // arrays of key bytes to load.
  const writeKey = (i: number) => {
    const key = encodedKeys[i]!;
    const stores = Array.from(key, (byte, j) => `b[at + ${j}] = ${byte};`).join(' ');
    return `{ const at = writer.claim(${key.length}), b = writer.buffer; ${stores} }`;
  };
  const matchKey = (i: number) => {
    const key = encodedKeys[i]!;
    return [
      `at + ${key.length} <= b.length`,
      ...Array.from(key, (byte, j) => `b[at + ${j}] === ${byte}`),
    ].join(' && ');
  };
  const required = keys.flatMap((key, i) => (fields[i]!.optional ? [] : [`${key}: v${i}`]));
  const source = `
${each((i) => `const f${i} = fields[${i}], k${i} = encodedKeys[${i}];`)}
return {
  write(writer, value, type, id) {
    const header = writer.placeholderMapHeader();
    let count = 0;
    let field;
${each((i) =>
  fields[i]!.optional
    ? `    field = ${read(i)};
    if (field !== undefined) {
      ${writeKey(i)}
      if (!f${i}.write(writer, field)) return false;
      count++;
    }`
    : `    field = ${read(i)};
    if (field === undefined) return false;
    ${writeKey(i)}
    if (!f${i}.write(writer, field)) return false;
    count++;`,
)}
    writer.patchMapHeader(header, count);
    return true;
  },
  readRest(reader, count, preset) {
    const p = preset.length;
${each((i) => `    let v${i} = p > ${i} ? preset[${i}] : ABSENT;`)}
    let e = 0;
    // Fields in schema order (as written here) are matched by their encoded keys, byte for byte;
    // any other order, encoding or field is left to the loop after.
${each(
  (i) => `    if (p <= ${i} && e < count) {
      const b = reader.input, at = reader.position;
      if (${matchKey(i)}) {
        reader.position = at + ${encodedKeys[i]!.length};
        v${i} = f${i}.read(reader);
        e++;
      }
    }`,
)}
    for (; e < count; e++) {
      switch (reader.readKey()) {
${each(
  (i) => `        case ${JSON.stringify(keys[i])}:
          if (v${i} !== ABSENT && v${i} !== undefined) throw REFUSED;
          v${i} = f${i}.read(reader);
          break;`,
)}
        default:
          reader.skip();
      }
    }
${each((i) => (fields[i]!.optional ? '' : `    if (v${i} === ABSENT) throw REFUSED;`))}
    const object = { ${required.join(', ')} };
${each((i) => (fields[i]!.optional ? `    if (v${i} !== ABSENT) object.${keys[i]} = v${i};` : ''))}
    return object;
  },
};`;
  // The source is made from the schema's field names (identifiers, checked by the caller) and
  // indexes only, never from anything received. Not wrapped in a try: where code generation
  // works, a failure here is a bug to see, not a reason to fall back quietly.
  // eslint-disable-next-line @typescript-eslint/no-implied-eval
  const make = new Function('fields', 'encodedKeys', 'REFUSED', 'ABSENT', source) as (
    fields: readonly FieldCodec[],
    encodedKeys: readonly Uint8Array[],
    refused: unknown,
    absent: typeof ABSENT,
  ) => ObjectCodec;
  return make(fields, encodedKeys, READ_REFUSED, ABSENT);
}

/** The same steps as loops over the fields. */
export function loopCodec(
  keys: readonly string[],
  fields: readonly FieldCodec[],
  encodedKeys: readonly Uint8Array[],
): ObjectCodec {
  const indexOf = new Map(keys.map((key, i) => [key, i]));
  return {
    write(writer, value, type, id) {
      const header = writer.placeholderMapHeader();
      let count = 0;
      for (let i = 0; i < keys.length; i++) {
        const envelope = envelopeField(keys, i);
        const given = envelope === 'type' ? type : envelope === 'id' ? id : undefined;
        const field = given === undefined ? value[keys[i]!] : given;
        if (field === undefined) {
          if (!fields[i]!.optional) return false;
          continue;
        }
        writer.raw(encodedKeys[i]!);
        if (!fields[i]!.write(writer, field)) return false;
        count++;
      }
      writer.patchMapHeader(header, count);
      return true;
    },
    readRest(reader, count, preset) {
      const values: unknown[] = keys.map((_, i) => (i < preset.length ? preset[i] : ABSENT));
      for (let e = 0; e < count; e++) {
        const key = reader.readKey();
        const i = typeof key === 'string' ? indexOf.get(key) : undefined;
        if (i === undefined) {
          reader.skip();
        } else {
          // A repeated key: the generic decoder keeps the last value, which may make the message
          // another one (another `type`, another `id`); left to it to say which.
          if (values[i] !== ABSENT && values[i] !== undefined) throw READ_REFUSED;
          values[i] = fields[i]!.read(reader);
        }
      }
      const object: Record<string, unknown> = {};
      for (let i = 0; i < keys.length; i++) {
        if (fields[i]!.optional) continue;
        if (values[i] === ABSENT) throw READ_REFUSED;
        object[keys[i]!] = values[i];
      }
      for (let i = 0; i < keys.length; i++)
        if (fields[i]!.optional && values[i] !== ABSENT) object[keys[i]!] = values[i];
      return object;
    },
  };
}
