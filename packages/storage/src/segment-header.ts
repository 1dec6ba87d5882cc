/**
 * The segment file header: 64 fixed bytes written once, then a 32-byte mutable "mark" area
 * rewritten in place. Both parts carry their own CRC-32C, so a torn or rotten header is
 * detected rather than trusted. Records start at byte 96.
 *
 *   fixed part                           mark part
 *    0  u32 magic 'CCSG'                  64  u32 durable end: every byte before it was
 *    4  u16 format version (1)                    fsynced; a bad record there is corruption.
 *                                                 Bit 31 (preallocated segments only):
 *                                                 "clean", every byte from the durable end
 *                                                 on is zero, durably (set at close)
 *    6  u16 header size (96)              68  u64 start index: the log's first index after
 *    8  u64 segment id                            compaction (0 = this segment has no mark)
 *   16  u32 segment version               76  u64 start term: term of start index - 1
 *   20  u32 max entries                   84  u64 end index: when this is the last segment,
 *   24  u32 max bytes                             the log reaches at least this index (set by
 *                                                 a truncation that ends in a compacted gap;
 *                                                 0 = none)
 *                                         92  u32 crc32c of bytes 64..92
 *   28  u32 flags: bit 0 = preallocated (the file was filled with zeros to max bytes
 *           before it took records; records end at the first zero length field).
 *           Older files have 0 here (the field was reserved and written as zero).
 *   32  u64 first index
 *   40  u64 last id: highest segment id this file replaces (> id after a merge)
 *   48  12 bytes reserved
 *   60  u32 crc32c of bytes 0..60
 */
import { crc32c } from '@copycat/io';
import { readU64, writeU64 } from './record.js';

export const SEGMENT_MAGIC = 0x43435347; // 'CCSG'
export const SEGMENT_FORMAT_VERSION = 1;
export const FIXED_HEADER_SIZE = 64;
export const MARK_OFFSET = 64;
export const MARK_SIZE = 32;
export const SEGMENT_HEADER_SIZE = FIXED_HEADER_SIZE + MARK_SIZE;
/** Header flag: the file was preallocated (zero-filled to `maxBytes`). */
const FLAG_PREALLOCATED = 1;
/** Bit of the mark's durable-end word saying the tail from the durable end on is all zeros. */
const MARK_CLEAN = 0x80000000;

export interface SegmentHeader {
  id: number;
  version: number;
  firstIndex: number;
  lastId: number;
  maxEntries: number;
  maxBytes: number;
  /** Zero-filled to `maxBytes` at creation: the first zero length field ends the records. */
  preallocated: boolean;
}

export interface SegmentMark {
  durableEnd: number;
  startIndex: number;
  startTerm: number;
  endIndex: number;
  /**
   * Preallocated segments: every byte from `durableEnd` on is zero on disk, so a reopen need
   * not scrub the tail. Only a clean close sets it; it is cleared (synced) before any write.
   */
  clean?: boolean;
}

export function encodeMark(mark: SegmentMark): Uint8Array {
  // Only preallocated segments (at most 1 GiB) set the bit: a merged segment's durable end may
  // use all 32 bits.
  if (mark.clean === true && mark.durableEnd >= MARK_CLEAN)
    throw new RangeError(`a clean mark needs a durable end below 2 GiB, got ${mark.durableEnd}`);
  const bytes = new Uint8Array(MARK_SIZE);
  const view = new DataView(bytes.buffer);
  view.setUint32(0, (mark.durableEnd | (mark.clean === true ? MARK_CLEAN : 0)) >>> 0);
  writeU64(view, 4, mark.startIndex);
  writeU64(view, 12, mark.startTerm);
  writeU64(view, 20, mark.endIndex);
  view.setUint32(28, crc32c(bytes, 0, 28));
  return bytes;
}

export function encodeHeader(header: SegmentHeader, mark: SegmentMark): Uint8Array {
  const bytes = new Uint8Array(SEGMENT_HEADER_SIZE);
  const view = new DataView(bytes.buffer);
  view.setUint32(0, SEGMENT_MAGIC);
  view.setUint16(4, SEGMENT_FORMAT_VERSION);
  view.setUint16(6, SEGMENT_HEADER_SIZE);
  writeU64(view, 8, header.id);
  view.setUint32(16, header.version);
  view.setUint32(20, header.maxEntries);
  view.setUint32(24, header.maxBytes);
  view.setUint32(28, header.preallocated ? FLAG_PREALLOCATED : 0);
  writeU64(view, 32, header.firstIndex);
  writeU64(view, 40, header.lastId);
  view.setUint32(60, crc32c(bytes, 0, 60));
  bytes.set(encodeMark(mark), MARK_OFFSET);
  return bytes;
}

/** Decodes the fixed header, or returns what is wrong with it. */
export function decodeHeader(bytes: Uint8Array): SegmentHeader | string {
  if (bytes.length < SEGMENT_HEADER_SIZE) return `file shorter than the ${SEGMENT_HEADER_SIZE}-byte header`;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (view.getUint32(0) !== SEGMENT_MAGIC) return 'bad magic number';
  if (view.getUint32(60) !== crc32c(bytes, 0, 60)) return 'header checksum mismatch';
  const format = view.getUint16(4);
  if (format !== SEGMENT_FORMAT_VERSION) return `unsupported format version ${format}`;
  if (view.getUint16(6) !== SEGMENT_HEADER_SIZE) return `unexpected header size ${view.getUint16(6)}`;
  return {
    id: readU64(view, 8),
    version: view.getUint32(16),
    maxEntries: view.getUint32(20),
    maxBytes: view.getUint32(24),
    firstIndex: readU64(view, 32),
    lastId: readU64(view, 40),
    preallocated: (view.getUint32(28) & FLAG_PREALLOCATED) !== 0,
  };
}

/**
 * Decodes the mark area (bytes 64..96 of the header), or undefined if its checksum fails. The
 * top bit of the durable end is the "clean" bit only in a preallocated segment: in any other, the
 * durable end uses all 32 bits (merged segments reach 4 GiB).
 */
export function decodeMark(bytes: Uint8Array, preallocated: boolean): SegmentMark | undefined {
  const area = bytes.subarray(MARK_OFFSET, MARK_OFFSET + MARK_SIZE);
  const view = new DataView(area.buffer, area.byteOffset, area.byteLength);
  if (view.getUint32(28) !== crc32c(area, 0, 28)) return undefined;
  const word = view.getUint32(0);
  return {
    durableEnd: preallocated ? (word & ~MARK_CLEAN) >>> 0 : word,
    clean: preallocated && (word & MARK_CLEAN) !== 0,
    startIndex: readU64(view, 4),
    startTerm: readU64(view, 12),
    endIndex: readU64(view, 20),
  };
}

export function segmentFileName(log: string, id: number, version: number): string {
  return `${log}-${id}-${version}.log`;
}

/** Parses `<log>-<id>-<version>.log` (and `.log.tmp`) for one log name. */
export function parseSegmentFileName(
  log: string,
  file: string,
): { id: number; version: number; temporary: boolean } | undefined {
  if (!file.startsWith(`${log}-`)) return undefined;
  const match = /^(\d+)-(\d+)\.log(\.tmp)?$/.exec(file.slice(log.length + 1));
  if (match === null) return undefined;
  return { id: Number(match[1]), version: Number(match[2]), temporary: match[3] !== undefined };
}

/**
 * `<log>-prealloc-<n>.log.tmp`: a zero-filled file being prepared for the next segment. Not a
 * segment name (no digits where the id goes), so no other log's files can look like it.
 */
export function preparedFileName(log: string, n: number): string {
  return `${log}-prealloc-${n}.log.tmp`;
}

export function isPreparedFileName(log: string, file: string): boolean {
  return file.startsWith(`${log}-`) && /^prealloc-\d+\.log\.tmp$/.test(file.slice(log.length + 1));
}
