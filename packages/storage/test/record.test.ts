import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { SerializationError } from '@copycat/common';
import { crc32c } from '@copycat/io';
import {
  ENTRY_TYPES,
  RECORD_HEADER_SIZE,
  decodeRecords,
  encodeEntries,
  encodeEntry,
  recordSize,
  type Entry,
  type EntryType,
} from '@copycat/storage';
import { RecordEncoder, writeRecord } from '../src/record.js';
import { entry } from './helpers.js';

const entryArbitrary: fc.Arbitrary<Entry> = fc.record({
  index: fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER }),
  term: fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }),
  type: fc.constantFrom(...(Object.keys(ENTRY_TYPES) as EntryType[])),
  timestamp: fc.double({ noNaN: true, noDefaultInfinity: true }),
  flags: fc.integer({ min: 0, max: 255 }),
  payload: fc.uint8Array({ maxLength: 300 }),
});

describe('record codec', () => {
  it('round-trips any entry, alone and concatenated', () => {
    fc.assert(
      fc.property(fc.array(entryArbitrary, { maxLength: 20 }), (list) => {
        const decoded = decodeRecords(encodeEntries(list));
        expect(decoded).toEqual(
          list.map((e) => ({ ...e, timestamp: Object.is(e.timestamp, -0) ? -0 : e.timestamp })),
        );
        for (const e of list) expect(decodeRecords(encodeEntry(e))).toEqual([e]);
      }),
    );
  });

  it('lays a record out as length | crc32c | index | term | type | flags | timestamp | payload', () => {
    const e: Entry = {
      index: 2 ** 40 + 5,
      term: 7,
      type: 'configuration',
      timestamp: 1.5,
      flags: 3,
      payload: new Uint8Array([9, 8, 7]),
    };
    const bytes = encodeEntry(e);
    const view = new DataView(bytes.buffer);
    expect(bytes.length).toBe(RECORD_HEADER_SIZE + 3);
    expect(recordSize(3)).toBe(bytes.length);
    expect(view.getUint32(0)).toBe(bytes.length - 4);
    expect(view.getUint32(4)).toBe(crc32c(bytes, 8));
    expect(view.getUint32(8) * 2 ** 32 + view.getUint32(12)).toBe(e.index);
    expect(view.getUint32(16) * 2 ** 32 + view.getUint32(20)).toBe(7);
    expect([bytes[24], bytes[25]]).toEqual([ENTRY_TYPES.configuration, 3]);
    expect(view.getFloat64(26)).toBe(1.5);
    expect([...bytes.subarray(34)]).toEqual([9, 8, 7]);
  });

  it('is position-independent: records mean the same thing in any order or batch', () => {
    const a = encodeEntry(entry(10, 2));
    const b = encodeEntry(entry(3, 1));
    const joined = new Uint8Array(a.length + b.length);
    joined.set(b);
    joined.set(a, b.length);
    expect(decodeRecords(joined)).toEqual([entry(3, 1), entry(10, 2)]);
  });

  it('detects any single flipped byte', () => {
    const bytes = encodeEntries([entry(1), entry(2)]);
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: bytes.length - 1 }),
        fc.integer({ min: 1, max: 255 }),
        (at, mask) => {
          const damaged = bytes.slice();
          damaged[at]! ^= mask;
          expect(() => decodeRecords(damaged)).toThrow(SerializationError);
        },
      ),
    );
  });

  it('names the offset and the problem of a bad record', () => {
    const good = encodeEntry(entry(1));
    const two = encodeEntries([entry(1), entry(2)]);
    expect(() => decodeRecords(two.subarray(0, two.length - 3))).toThrow(
      `bad record at offset ${good.length}: partial record`,
    );
    expect(() => decodeRecords(new Uint8Array([0, 0]))).toThrow(
      'bad record at offset 0: partial length field (2 of 4 bytes)',
    );
    expect(() => decodeRecords(new Uint8Array(40))).toThrow('bad record at offset 0: invalid length 0');
    const badType = encodeEntry(entry(1));
    badType[24] = 200;
    new DataView(badType.buffer).setUint32(4, crc32c(badType, 8));
    expect(() => decodeRecords(badType)).toThrow('unknown entry type code 200');
    const zeroIndex = encodeEntry(entry(1));
    zeroIndex.fill(0, 8, 16);
    new DataView(zeroIndex.buffer).setUint32(4, crc32c(zeroIndex, 8));
    expect(() => decodeRecords(zeroIndex)).toThrow('index 0');
  });

  it('checks entries before encoding them', () => {
    expect(() => encodeEntry({ ...entry(1), index: 0 })).toThrow(RangeError);
    expect(() => encodeEntry({ ...entry(1), term: -1 })).toThrow(RangeError);
    expect(() => encodeEntry({ ...entry(1), index: 2 ** 53 })).toThrow(RangeError);
    expect(() => encodeEntry({ ...entry(1), type: 'query' as EntryType })).toThrow(
      /unknown entry type query/,
    );
    expect(() => encodeEntries([entry(1), { ...entry(2), flags: -1 }])).toThrow(RangeError);
  });
});

/**
 * RecordEncoder (the append path) derives each header checksum from the previous header's
 * instead of checksumming the header: it must write exactly what writeRecord writes, for any
 * sequence of entries, across calls.
 */
describe('RecordEncoder', () => {
  // Batches shaped like appends: indexes that climb (sometimes across 2^32 or near 2^53),
  // header fields that mostly repeat and sometimes change, -0 and 0 timestamps, payloads on
  // both sides of the native checksum's 256 B threshold.
  const batchArbitrary = fc
    .record({
      first: fc.oneof(
        fc.integer({ min: 1, max: 1000 }),
        fc.integer({ min: 2 ** 32 - 40, max: 2 ** 32 + 40 }),
        fc.integer({ min: Number.MAX_SAFE_INTEGER - 2000, max: Number.MAX_SAFE_INTEGER - 1000 }),
        fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER - 1000 }),
      ),
      steps: fc.array(
        fc.record({
          gap: fc.constantFrom(1, 1, 1, 2, 7, 2 ** 24),
          changes: fc.option(entryArbitrary, { freq: 3 }),
          timestamp: fc.option(fc.constantFrom(0, -0, 1.5, 1_700_000_000_123, -1e300), { freq: 3 }),
          payload: fc.oneof(
            fc.uint8Array({ maxLength: 80 }),
            fc.uint8Array({ minLength: 250, maxLength: 1100, size: 'max' }),
          ),
        }),
        { minLength: 1, maxLength: 30 },
      ),
      at: fc.integer({ min: 0, max: 7 }),
    })
    .map(({ first, steps, at }) => {
      const list: Entry[] = [];
      let index = first;
      let fields: Omit<Entry, 'index' | 'payload'> = { term: 1, type: 'command', timestamp: 0 };
      for (const step of steps) {
        if (step.changes !== null) {
          const { index: _index, payload: _payload, ...changed } = step.changes;
          fields = changed;
        }
        if (step.timestamp !== null) fields = { ...fields, timestamp: step.timestamp };
        list.push({ ...fields, index, payload: step.payload });
        index = Math.min(Number.MAX_SAFE_INTEGER, index + step.gap);
      }
      return { list, at };
    });

  const encodeBoth = (encoder: RecordEncoder, list: readonly Entry[], at: number) => {
    const total = at + list.reduce((sum, e) => sum + recordSize(e.payload.length), 0);
    const expected = new Uint8Array(total);
    const actual = new Uint8Array(total);
    const expectedView = new DataView(expected.buffer);
    const actualView = new DataView(actual.buffer);
    let offset = at;
    for (const e of list) {
      writeRecord(expected, expectedView, offset, e);
      const size = encoder.write(actual, actualView, offset, e);
      expect(size).toBe(recordSize(e.payload.length));
      offset += size;
    }
    return { expected, actual };
  };

  it('writes the same bytes as writeRecord for random batches, also across batches', () => {
    fc.assert(
      fc.property(fc.array(batchArbitrary, { minLength: 1, maxLength: 4 }), (batches) => {
        const encoder = new RecordEncoder();
        for (const { list, at } of batches) {
          const { expected, actual } = encodeBoth(encoder, list, at);
          expect(actual).toEqual(expected);
        }
      }),
      { numRuns: 200 },
    );
  });

  it('tells apart headers that differ in one bit anywhere, and -0 from 0', () => {
    const encoder = new RecordEncoder();
    const base: Entry = {
      index: 5,
      term: 3,
      type: 'command',
      timestamp: 0,
      flags: 0,
      payload: new Uint8Array(9),
    };
    const variants: Entry[] = [base];
    for (let bit = 0; bit < 52; bit++) variants.push({ ...base, index: base.index ^ (2 ** bit) });
    for (let bit = 0; bit < 52; bit++) variants.push({ ...base, term: base.term + 2 ** bit });
    for (let bit = 0; bit < 8; bit++) variants.push({ ...base, flags: 1 << bit });
    variants.push(
      { ...base, timestamp: -0 },
      { ...base, timestamp: Number.MIN_VALUE },
      { ...base, type: 'noop' },
    );
    for (const e of variants.filter((v) => v.index >= 1)) {
      const { expected, actual } = encodeBoth(encoder, [e, base, e], 0);
      expect(actual).toEqual(expected);
      expect(decodeRecords(actual)[0]).toEqual({ ...e, flags: e.flags ?? 0 });
    }
  });
});
