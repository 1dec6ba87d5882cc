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
  const payload = entry.payload;
  const size = RECORD_HEADER_SIZE + payload.length;
  view.setUint32(at, size - 4);
  writeU64(view, at + INDEX_AT, entry.index);
  writeU64(view, at + TERM_AT, entry.term);
  target[at + TYPE_AT] = ENTRY_TYPES[entry.type];
  target[at + FLAGS_AT] = entry.flags ?? 0;
  view.setFloat64(at + TIMESTAMP_AT, entry.timestamp);
  target.set(payload, at + RECORD_HEADER_SIZE);
  view.setUint32(at + CRC_AT, crc32c(target, at + BODY_AT, size - BODY_AT));
  return size;
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
