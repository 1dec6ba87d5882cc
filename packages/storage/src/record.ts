/**
 * The record codec: one entry as bytes, the same on disk and in replication (the leader sends
 * stored records and followers append them as received, after checking each checksum).
 *
 * Layout, big-endian (34 bytes of header, then the payload):
 *
 *   offset  size  field
 *        0     4  length     bytes after this field (30 + payload length)
 *        4     4  crc32c     CRC-32C of every byte after this field (index .. end of payload)
 *        8     8  index      absolute log index (unsigned, < 2^53)
 *       16     8  term       (unsigned, < 2^53)
 *       24     1  type       ENTRY_TYPES code (0 is invalid)
 *       25     1  flags
 *       26     8  timestamp  IEEE 754 float64
 *       34     n  payload
 *
 * The index is absolute (not a delta from the segment start) so a record means the same thing
 * wherever it sits: in any segment, in any version of a segment, or in a replication batch.
 */
import { SerializationError } from '@copycat/common';
import { crc32c } from '@copycat/io';
import { ENTRY_TYPES, entryTypeOfCode, type Entry, type StoredEntry } from './entry.js';

export const RECORD_HEADER_SIZE = 34;
/** Smallest valid value of the length field (a record with an empty payload). */
export const MIN_RECORD_LENGTH = RECORD_HEADER_SIZE - 4;

const CRC_AT = 4;
const BODY_AT = 8;
const INDEX_AT = 8;
const TERM_AT = 16;
const TYPE_AT = 24;
const FLAGS_AT = 25;
const TIMESTAMP_AT = 26;
const TWO_32 = 2 ** 32;
const MAX_HIGH_WORD = 0x1fffff; // 2^53 - 1 = 0x1fffff_ffffffff

/** A run of encoded records and the indexes it holds. */
export interface RecordBatch {
  /** Concatenated records. May share memory with the log: treat as read-only. */
  bytes: Uint8Array;
  /** Index of the first record, or the requested index when `count` is 0. */
  firstIndex: number;
  /** Index of the last record, or `firstIndex - 1` when `count` is 0. */
  lastIndex: number;
  count: number;
}

/** Total bytes of the record for a payload of `payloadLength` bytes. */
export function recordSize(payloadLength: number): number {
  return RECORD_HEADER_SIZE + payloadLength;
}

export function writeU64(view: DataView, at: number, value: number): void {
  view.setUint32(at, Math.floor(value / TWO_32));
  view.setUint32(at + 4, value >>> 0);
}

export function readU64(view: DataView, at: number): number {
  return view.getUint32(at) * TWO_32 + view.getUint32(at + 4);
}

/** Checks an entry's fields; throws TypeError/RangeError naming the bad field. */
export function validateEntry(entry: Entry): void {
  if (typeof entry !== 'object' || entry === null) throw new TypeError('entry must be an object');
  if (!Number.isSafeInteger(entry.index) || entry.index < 1)
    throw new RangeError(`entry index must be a safe integer >= 1, got ${entry.index}`);
  if (!Number.isSafeInteger(entry.term) || entry.term < 0)
    throw new RangeError(`entry term must be a safe integer >= 0, got ${entry.term}`);
  if (!Object.hasOwn(ENTRY_TYPES, entry.type))
    throw new RangeError(`unknown entry type ${String(entry.type)}`);
  if (typeof entry.timestamp !== 'number' || !Number.isFinite(entry.timestamp))
    throw new RangeError(`entry timestamp must be a finite number, got ${entry.timestamp}`);
  const flags = entry.flags ?? 0;
  if (!Number.isInteger(flags) || flags < 0 || flags > 255)
    throw new RangeError(`entry flags must be an integer in [0, 255], got ${flags}`);
  if (!(entry.payload instanceof Uint8Array)) throw new TypeError('entry payload must be a Uint8Array');
}

/**
 * Writes `entry` as a record at `at` in `target` (which must have room) and returns its size.
 * The entry must have been validated.
 */
export function writeRecord(target: Uint8Array, view: DataView, at: number, entry: Entry): number {
  const size = writeUnchecksummed(target, view, at, entry);
  view.setUint32(at + CRC_AT, crc32c(target, at + BODY_AT, size - BODY_AT));
  return size;
}

/** Writes all of a record but its checksum; returns its size. */
function writeUnchecksummed(target: Uint8Array, view: DataView, at: number, entry: Entry): number {
  const payload = entry.payload;
  const size = RECORD_HEADER_SIZE + payload.length;
  view.setUint32(at, size - 4);
  writeU64(view, at + INDEX_AT, entry.index);
  writeU64(view, at + TERM_AT, entry.term);
  target[at + TYPE_AT] = ENTRY_TYPES[entry.type];
  target[at + FLAGS_AT] = entry.flags ?? 0;
  view.setFloat64(at + TIMESTAMP_AT, entry.timestamp);
  target.set(payload, at + RECORD_HEADER_SIZE);
  return size;
}

/**
 * Payloads from this size on are checksummed in the entry's array rather than in the copy: the
 * size from which `crc32c` hands inputs to the native code, when it has it (below, the portable
 * code reads either array equally fast).
 */
const WHOLE_PAYLOAD_CRC_FROM = 256;
/** Bytes of a record's header covered by its checksum: index, term, type, flags, timestamp. */
const HEADER_BODY_SIZE = RECORD_HEADER_SIZE - BODY_AT;

/**
 * HEADER_DELTA[j * 256 + v]: how the checksum of the 26 checksummed header bytes changes when
 * byte j of them is XORed with v. CRC-32C is affine over GF(2) for inputs of one length,
 * crc(a ^ b) = crc(a) ^ crc(b) ^ crc(0), so the change does not depend on the other bytes and
 * the changes of several bytes XOR together. Built from `crc32c` itself, one probe per bit (the
 * change is linear in v too).
 */
const HEADER_DELTA = (() => {
  const table = new Int32Array(HEADER_BODY_SIZE * 256);
  const probe = new Uint8Array(HEADER_BODY_SIZE);
  const zero = crc32c(probe);
  for (let j = 0; j < HEADER_BODY_SIZE; j++) {
    const row = j * 256;
    for (let bit = 1; bit < 256; bit <<= 1) {
      probe[j] = bit;
      table[row + bit] = crc32c(probe) ^ zero;
    }
    probe[j] = 0;
    for (let v = 3; v < 256; v++) {
      const low = v & -v;
      if (low !== v) table[row + v] = table[row + low]! ^ table[row + (v ^ low)]!;
    }
  }
  return table;
})();

/** The checksum change for the header bytes [j, j + 4) XORed with the big-endian word `d`. */
function wordDelta(j: number, d: number): number {
  const row = j * 256;
  return (
    HEADER_DELTA[row + (d >>> 24)]! ^
    HEADER_DELTA[row + 256 + ((d >>> 16) & 0xff)]! ^
    HEADER_DELTA[row + 512 + ((d >>> 8) & 0xff)]! ^
    HEADER_DELTA[row + 768 + (d & 0xff)]!
  );
}

/**
 * Writes records exactly as `writeRecord` does, for appends of many entries. Consecutive
 * records differ in few header bytes (the index, often the timestamp; the term, type and flags
 * rarely), so the checksum of a header is derived from the previous one: four table lookups
 * per changed 4-byte word instead of a CRC over all 26 bytes, which is a third of the checksum
 * work of a 64 B entry. The payload is then checksummed continuing from it. The encoder keeps
 * the last header between calls; it starts from an all-zero one.
 */
export class RecordEncoder {
  /** The checksummed header bytes of the last record, as six words and a final half word. */
  private readonly header = new Uint32Array(7);
  private headerCrc = crc32c(new Uint8Array(HEADER_BODY_SIZE));

  /** Like `writeRecord`: `entry` must have been validated, `target` must have room. */
  write(target: Uint8Array, view: DataView, at: number, entry: Entry): number {
    const payload = entry.payload;
    const size = writeUnchecksummed(target, view, at, entry);
    const headerCrc = this.headerChecksum(view, at + BODY_AT);
    // A large payload is checksummed in the entry's own array, which holds the bytes just
    // copied: a whole array goes to the native code as it is, where a part of `target` would
    // need a new view per record. Not in shared memory, though, which another thread could
    // change between the copy and the checksum.
    const crc =
      payload.length >= WHOLE_PAYLOAD_CRC_FROM && payload.buffer instanceof ArrayBuffer
        ? crc32c(payload, 0, payload.length, headerCrc)
        : crc32c(target, at + RECORD_HEADER_SIZE, payload.length, headerCrc);
    view.setUint32(at + CRC_AT, crc);
    return size;
  }

  /** The CRC-32C of the 26 header bytes at `at`, from the previous header's. */
  private headerChecksum(view: DataView, at: number): number {
    const header = this.header;
    let crc = this.headerCrc;
    for (let k = 0; k < 6; k++) {
      const word = view.getUint32(at + 4 * k);
      const d = word ^ header[k]!;
      if (d !== 0) {
        crc ^= wordDelta(4 * k, d);
        header[k] = word;
      }
    }
    const half = view.getUint16(at + 24);
    const d = half ^ header[6]!;
    if (d !== 0) {
      crc ^= HEADER_DELTA[24 * 256 + (d >>> 8)]! ^ HEADER_DELTA[25 * 256 + (d & 0xff)]!;
      header[6] = half;
    }
    this.headerCrc = crc >>> 0;
    return this.headerCrc;
  }
}

/** Encodes one entry as a record (a new array). */
export function encodeEntry(entry: Entry): Uint8Array {
  validateEntry(entry);
  const bytes = new Uint8Array(recordSize(entry.payload.length));
  writeRecord(bytes, new DataView(bytes.buffer), 0, entry);
  return bytes;
}

/** Encodes entries as one concatenation of records. */
export function encodeEntries(entries: readonly Entry[]): Uint8Array {
  let total = 0;
  for (const entry of entries) {
    validateEntry(entry);
    total += recordSize(entry.payload.length);
  }
  const bytes = new Uint8Array(total);
  const view = new DataView(bytes.buffer);
  let at = 0;
  for (const entry of entries) at += writeRecord(bytes, view, at, entry);
  return bytes;
}

/**
 * Checks the record at `at` (not past `end`): length, checksum, index and term range, type.
 * Returns the record's total size, or a short description of what is wrong.
 */
export function checkRecord(bytes: Uint8Array, view: DataView, at: number, end: number): number | string {
  if (end - at < 4) return `partial length field (${end - at} of 4 bytes)`;
  const length = view.getUint32(at);
  if (length < MIN_RECORD_LENGTH) return `invalid length ${length}`;
  if (length > end - at - 4) return `partial record (length ${length}, only ${end - at - 4} bytes follow)`;
  const expected = view.getUint32(at + CRC_AT);
  if (crc32c(bytes, at + BODY_AT, length - 4) !== expected) return 'checksum mismatch';
  if (view.getUint32(at + INDEX_AT) > MAX_HIGH_WORD || view.getUint32(at + TERM_AT) > MAX_HIGH_WORD)
    return 'index or term beyond 2^53';
  if (readU64(view, at + INDEX_AT) < 1) return 'index 0';
  if (entryTypeOfCode(bytes[at + TYPE_AT]!) === undefined)
    return `unknown entry type code ${bytes[at + TYPE_AT]}`;
  return length + 4;
}

export function recordIndex(view: DataView, at: number): number {
  return readU64(view, at + INDEX_AT);
}

export function recordTerm(view: DataView, at: number): number {
  return readU64(view, at + TERM_AT);
}

/**
 * Decodes the (already checked) record at `at`. The payload is a view into `bytes` unless
 * `copy` is set.
 */
export function readRecord(bytes: Uint8Array, view: DataView, at: number, copy: boolean): StoredEntry {
  const size = view.getUint32(at) + 4;
  const start = at + RECORD_HEADER_SIZE;
  const end = at + size;
  return {
    index: readU64(view, at + INDEX_AT),
    term: readU64(view, at + TERM_AT),
    type: entryTypeOfCode(bytes[at + TYPE_AT]!)!,
    timestamp: view.getFloat64(at + TIMESTAMP_AT),
    flags: bytes[at + FLAGS_AT]!,
    payload: copy
      ? copyOf(bytes, start, end)
      : new Uint8Array(bytes.buffer, bytes.byteOffset + start, end - start),
  };
}

/** A plain Uint8Array copy (never a Buffer: Buffer#slice would not even copy). */
export function copyOf(bytes: Uint8Array, start: number, end: number): Uint8Array {
  const out = new Uint8Array(end - start);
  out.set(bytes.subarray(start, end));
  return out;
}

/** A plain Uint8Array view of the same memory (so no Buffer escapes to callers). */
export function plainView(bytes: Uint8Array): Uint8Array {
  return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.length);
}

export function viewOf(bytes: Uint8Array): DataView {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/**
 * Decodes a concatenation of records, checking every checksum. Payloads are views into
 * `bytes`. Throws SerializationError naming the offset of the first bad record.
 */
export function decodeRecords(bytes: Uint8Array): StoredEntry[] {
  const view = viewOf(bytes);
  const entries: StoredEntry[] = [];
  let at = 0;
  while (at < bytes.length) {
    const size = checkRecord(bytes, view, at, bytes.length);
    if (typeof size === 'string') throw new SerializationError(`bad record at offset ${at}: ${size}`);
    entries.push(readRecord(bytes, view, at, false));
    at += size;
  }
  return entries;
}
