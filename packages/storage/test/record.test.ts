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
