/**
 * Opening a log: find its segment files, finish whatever a crash interrupted (a rewrite, a
 * merge, a compaction, a torn append), check every record and rebuild the offset index.
 *
 * Rules (README, "Recovery"):
 * - `*.log.tmp` files are unfinished creations or rewrites: deleted.
 * - Of several versions of one segment id, the highest wins (it was renamed into place only
 *   after being synced); lower versions are deleted. A merged segment (last id > id) replaces
 *   every segment with an id in (id, last id]: those are deleted.
 * - The highest compaction mark gives the log's first index; segments wholly below it are
 *   deleted (a compaction that crashed after writing its mark), except the one holding it.
 * - Every record of every segment but the last must be valid: they were synced before the
 *   next segment was created. In the last segment, a bad record before the durable end
 *   recorded in its header is corruption; a bad record after it is a torn write: the tail from
 *   there is cut off and the event logged.
 * - Preallocated segments (zero-filled at creation) end at the first zero length field: that
 *   is their normal end, not a torn write, and the file is never cut (that would throw the
 *   preallocation away). Before the durable end it is corruption, like any bad record. Unless
 *   the last segment's mark says its tail is clean (a clean close), its tail is scrubbed:
 *   bytes of unflushed appends may lie beyond a hole there (the OS writes pages in any
 *   order), and later appends, which overwrite from the end, must never find them again.
 * - `<log>-prealloc-<n>.log.tmp` files are unfinished preparations of a next segment: deleted.
 */
import type { Logger } from '@copycat/common';
import { readFully, type StorageDirectory, type StorageFile } from './directory.js';
import { SegmentCorruptionError } from './errors.js';
import { writeZeros } from './prealloc.js';
import { checkRecord, recordIndex, recordTerm, viewOf } from './record.js';
import { Segment } from './segment.js';
import {
  SEGMENT_HEADER_SIZE,
  decodeHeader,
  decodeMark,
  encodeMark,
  isPreparedFileName,
  MARK_OFFSET,
  parseSegmentFileName,
  segmentFileName,
  type SegmentHeader,
  type SegmentMark,
} from './segment-header.js';
import { TermRuns } from './term-runs.js';

export interface RecoveryConfig {
  fsync: boolean;
  logger: Logger;
}

export interface RecoveredLog {
  segments: Segment[];
  start: number;
  last: number;
  runs: TermRuns;
  nextId: number;
}

interface Candidate {
  header: SegmentHeader;
  mark: SegmentMark;
  /** False when the mark area failed its checksum and `mark` is a stand-in that claims nothing. */
  markReadable: boolean;
  file: StorageFile;
  fileName: string;
  size: number;
}

const SCAN_CHUNK = 8 << 20;
/** Unit of the tail scrub: read and compared with zeros. */
const SCRUB_BLOCK = 1 << 20;
const ZERO_BLOCK = new Uint8Array(SCRUB_BLOCK);

export async function recoverLog(
  directory: StorageDirectory,
  name: string,
  config: RecoveryConfig,
): Promise<RecoveredLog> {
  const { logger } = config;
  const versions = new Map<number, number[]>();
  for (const file of await directory.list()) {
    if (isPreparedFileName(name, file)) {
      await directory.remove(file);
      continue;
    }
    const parsed = parseSegmentFileName(name, file);
    if (parsed === undefined) continue;
    if (parsed.temporary) {
      logger.info('removing unfinished segment file', { file });
      await directory.remove(file);
      continue;
    }
    const list = versions.get(parsed.id) ?? [];
    list.push(parsed.version);
    versions.set(parsed.id, list);
  }

  let nextId = 1;
  const candidates: Candidate[] = [];
  const opened: StorageFile[] = [];
  try {
    for (const id of [...versions.keys()].sort((a, b) => a - b)) {
      const list = versions.get(id)!.sort((a, b) => b - a);
      const version = list[0]!;
      for (const older of list.slice(1)) {
        logger.info('removing superseded segment version', { file: segmentFileName(name, id, older) });
        await directory.remove(segmentFileName(name, id, older));
      }
      const fileName = segmentFileName(name, id, version);
      const file = await directory.open(fileName);
      opened.push(file);
      const size = await file.size();
      const headerBytes = new Uint8Array(SEGMENT_HEADER_SIZE);
      await readFully(file, headerBytes.subarray(0, Math.min(size, SEGMENT_HEADER_SIZE)), 0);
      const header = decodeHeader(size < SEGMENT_HEADER_SIZE ? headerBytes.subarray(0, size) : headerBytes);
      if (typeof header === 'string')
        throw new SegmentCorruptionError(`${directory.path}/${fileName}`, 0, header);
      if (header.id !== id || header.version !== version) {
        throw new SegmentCorruptionError(
          `${directory.path}/${fileName}`,
          0,
          `header says segment ${header.id} version ${header.version}`,
        );
      }
      const decoded = decodeMark(headerBytes, header.preallocated);
      if (decoded === undefined)
        logger.warn('segment mark area failed its checksum; ignoring it', { file: fileName });
      const mark = decoded ?? { durableEnd: SEGMENT_HEADER_SIZE, startIndex: 0, startTerm: 0, endIndex: 0 };
      nextId = Math.max(nextId, header.id + 1, header.lastId + 1);
      candidates.push({ header, mark, markReadable: decoded !== undefined, file, fileName, size });
    }

    // A merged segment replaces the ids it covers; those files are leftovers of the merge.
    const live: Candidate[] = [];
    let covered = 0;
    for (const candidate of candidates) {
      if (candidate.header.id <= covered) {
        logger.info('removing segment replaced by a merge', { file: candidate.fileName });
        await candidate.file.close();
        await directory.remove(candidate.fileName);
        continue;
      }
      covered = Math.max(covered, candidate.header.lastId);
      live.push(candidate);
    }

    // The log starts at the highest compaction mark.
    let start = live[0]?.header.firstIndex ?? 1;
    let startTerm = 0;
    let holder: Candidate | undefined;
    for (const candidate of live) {
      if (candidate.mark.startIndex > 0 && (holder === undefined || candidate.mark.startIndex > start)) {
        start = candidate.mark.startIndex;
        startTerm = candidate.mark.startTerm;
        holder = candidate;
      }
    }
    const marked = holder !== undefined;
    if (!marked && live.length > 0 && start !== 1) {
      const first = live[0]!;
      throw new SegmentCorruptionError(
        `${directory.path}/${first.fileName}`,
        0,
        `the log starts at index ${start} but no compaction mark says so`,
      );
    }
    // (The segment holding the mark stays even when all it holds is below the mark: it is
    // what says where the log starts.)
    while (live.length > 1 && live[1]!.header.firstIndex - 1 < start && live[0] !== holder) {
      const below = live.shift()!;
      logger.info('removing segment below the compaction mark', { file: below.fileName, start });
      await below.file.close();
      await directory.remove(below.fileName);
    }
    for (let i = 1; i < live.length; i++) {
      if (live[i]!.header.firstIndex <= live[i - 1]!.header.firstIndex) {
        throw new SegmentCorruptionError(
          `${directory.path}/${live[i]!.fileName}`,
          0,
          `first index ${live[i]!.header.firstIndex} does not follow the previous segment's`,
        );
      }
    }

    const runs = new TermRuns(start - 1, startTerm);
    const segments: Segment[] = [];
    const position = { index: 0, term: 0 };
    for (let i = 0; i < live.length; i++) {
      const candidate = live[i]!;
      const isLast = i === live.length - 1;
      const limit = isLast ? Number.MAX_SAFE_INTEGER : live[i + 1]!.header.firstIndex;
      segments.push(await scanSegment(directory, candidate, isLast, limit, start, runs, position, config));
    }
    const lastSegment = segments[segments.length - 1];
    const last =
      lastSegment === undefined
        ? start - 1
        : Math.max(lastSegment.lastStored, lastSegment.firstIndex - 1, start - 1, lastSegment.endIndex);
    return { segments, start, last, runs, nextId };
  } catch (error) {
    for (const file of opened) await file.close().catch(() => {});
    throw error;
  }
}

async function scanSegment(
  directory: StorageDirectory,
  candidate: Candidate,
  isLast: boolean,
  limit: number,
  start: number,
  runs: TermRuns,
  position: { index: number; term: number },
  config: RecoveryConfig,
): Promise<Segment> {
  const { header, mark, markReadable, file, fileName, size } = candidate;
  const where = `${directory.path}/${fileName}`;
  if (size < mark.durableEnd) {
    throw new SegmentCorruptionError(
      where,
      size,
      `file is ${size} bytes but ${mark.durableEnd} bytes were made durable`,
    );
  }
  const segment = new Segment(header, fileName);
  segment.file = file;
  segment.startIndex = mark.startIndex;
  segment.startTerm = mark.startTerm;
  segment.endIndex = mark.endIndex;

  let buffer = Buffer.allocUnsafe(Math.min(SCAN_CHUNK, Math.max(size - SEGMENT_HEADER_SIZE, 1)));
  let view = viewOf(buffer);
  let bufferStart = SEGMENT_HEADER_SIZE;
  let bufferLength = 0;
  // Makes [from, to) available in the buffer; returns false if the file ends first.
  const ensure = async (from: number, to: number): Promise<boolean> => {
    if (to > size) return false;
    if (from >= bufferStart && to <= bufferStart + bufferLength) return true;
    const keep = Math.max(0, bufferStart + bufferLength - from);
    if (buffer.length < to - from) {
      const grown = Buffer.allocUnsafe(Math.max(to - from, SCAN_CHUNK));
      grown.set(buffer.subarray(from - bufferStart, from - bufferStart + keep));
      buffer = grown;
      view = viewOf(buffer);
    } else if (keep > 0) {
      buffer.copyWithin(0, from - bufferStart, from - bufferStart + keep);
    }
    bufferStart = from;
    bufferLength = keep;
    const want = Math.min(buffer.length, size - from) - keep;
    const n = await readFully(file, buffer.subarray(keep, keep + want), from + keep);
    bufferLength += n;
    return to <= bufferStart + bufferLength;
  };

  let at = SEGMENT_HEADER_SIZE;
  let problem: string | undefined;
  // Preallocated: the records ended at a zero length field (or too near the file's end for one).
  let terminated = false;
  while (at < size) {
    if (header.preallocated && size - at < 4) {
      terminated = true;
      break;
    }
    if (!(await ensure(at, Math.min(at + 4, size)))) {
      problem = 'unreadable';
      break;
    }
    if (size - at < 4) {
      problem = `partial length field (${size - at} of 4 bytes)`;
      break;
    }
    const length = view.getUint32(at - bufferStart);
    if (length === 0 && header.preallocated) {
      terminated = true;
      break;
    }
    // Load the whole record (or whatever of it the file has) so the check sees all of it.
    const end = Math.min(at + 4 + length, size);
    if (!(await ensure(at, end))) {
      problem = 'unreadable';
      break;
    }
    const local = at - bufferStart;
    const checked = checkRecord(buffer, view, local, end - bufferStart);
    if (typeof checked === 'string') {
      problem = checked;
      break;
    }
    const index = recordIndex(view, local);
    const term = recordTerm(view, local);
    if (index < header.firstIndex || index >= limit || index <= position.index) {
      problem = `index ${index} out of order (segment starts at ${header.firstIndex}, previous index ${position.index})`;
      break;
    }
    if (term < position.term || (index >= start && term < runs.lastTerm)) {
      problem = `term ${term} of index ${index} is lower than the previous term ${Math.max(position.term, runs.lastTerm)}`;
      break;
    }
    position.index = index;
    position.term = term;
    segment.setOffset(index, at);
    if (index >= start) runs.push(index, term);
    at += checked;
  }

  // Zeros where records were made durable are a lost page, not the end of the records.
  if (terminated && at < mark.durableEnd) problem = 'invalid length 0';
  let scrubbed = 0;
  if (problem !== undefined) {
    if (!isLast) throw new SegmentCorruptionError(where, at, `${problem} in a sealed segment`);
    if (at < mark.durableEnd)
      throw new SegmentCorruptionError(where, at, `${problem} before the durable end ${mark.durableEnd}`);
    // A preallocated file keeps its size: the torn bytes (and anything after them) are zeroed.
    if (header.preallocated) scrubbed = await scrubTail(file, at, size, mark, config.fsync);
    config.logger.warn('truncating torn tail of the log', {
      file: where,
      offset: at,
      bytes: header.preallocated ? scrubbed : size - at,
      reason: problem,
    });
    if (!header.preallocated) await file.truncate(at);
  } else if (isLast && header.preallocated && !(mark.clean === true && at === mark.durableEnd)) {
    // Not closed cleanly: records of unflushed appends may sit beyond a hole.
    scrubbed = await scrubTail(file, at, size, mark, config.fsync);
    if (scrubbed > 0) {
      config.logger.warn('truncating torn tail of the log', {
        file: where,
        offset: at,
        bytes: scrubbed,
        reason: 'records after a zeroed gap',
      });
    }
  }
  if (!isLast && header.preallocated && size > at) {
    // Sealed, yet the file goes on after its records. Its records were all synced before its
    // mark, so what follows can only be the zeros it was preallocated with (the process died
    // between the seal's mark and its cut: log.ts, seal), given back now. Anything else is
    // records behind a damaged length field, whatever the mark says. And the seal made its mark
    // durable before it would cut: without a readable mark, the zeros may as well be a lost
    // page where records were, which only a mark's durable end could tell apart.
    if (!markReadable) {
      throw new SegmentCorruptionError(
        where,
        at,
        `the records of a sealed segment end here, ${size - at} bytes before the end of its file, and its mark is unreadable`,
      );
    }
    const dirty = await firstNonZero(file, at, size);
    if (dirty !== undefined) {
      throw new SegmentCorruptionError(
        where,
        at,
        `the records of a sealed segment end here, but a byte at offset ${dirty} after them is not zero`,
      );
    }
    await file.truncate(at);
    if (config.fsync) await file.sync();
  }
  if (isLast && config.fsync && (problem !== undefined || scrubbed > 0 || mark.durableEnd < at)) {
    // What was found valid may so far be only in the page cache (the previous process died
    // before its fsync): make it durable before building on it.
    await file.sync();
  }
  segment.size = at;
  segment.writtenEnd = at;
  segment.diskEnd = at;
  segment.syncedEnd = at;
  segment.watermark = mark.durableEnd;
  segment.markClean = mark.clean === true;
  segment.mayBeClean = mark.clean === true;
  return segment;
}

/** Offset of the first byte in [from, to) of `file` that is not zero, or undefined. */
async function firstNonZero(file: StorageFile, from: number, to: number): Promise<number | undefined> {
  const block = new Uint8Array(SCRUB_BLOCK);
  for (let at = from; at < to; at += SCRUB_BLOCK) {
    const part = block.subarray(0, Math.min(SCRUB_BLOCK, to - at));
    const n = await readFully(file, part, at);
    if (Buffer.compare(part.subarray(0, n), ZERO_BLOCK.subarray(0, n)) === 0) continue;
    return at + part.findIndex((byte) => byte !== 0);
  }
  return undefined;
}

/**
 * Zeroes whatever is not zero in [from, size) of a preallocated segment, so that appends,
 * which overwrite from `from`, never leave stale records readable after what they wrote.
 * Returns the length of the range it rewrote (0: the tail was all zeros). Reads the whole
 * tail: only done when the log was not closed cleanly.
 */
async function scrubTail(
  file: StorageFile,
  from: number,
  size: number,
  mark: SegmentMark,
  fsync: boolean,
): Promise<number> {
  if (mark.clean === true) {
    // The mark claims a zero tail that is not: unclaim it, durably, before zeroing anything, so
    // that a crash midway leaves a tail the next open scrubs again rather than trusts.
    await file.write(encodeMark({ ...mark, clean: false }), MARK_OFFSET);
    if (fsync) await file.sync();
    mark.clean = false;
  }
  const block = new Uint8Array(SCRUB_BLOCK);
  let dirtyEnd = from;
  for (let at = from; at < size; at += SCRUB_BLOCK) {
    const part = block.subarray(0, Math.min(SCRUB_BLOCK, size - at));
    const n = await readFully(file, part, at);
    if (Buffer.compare(part.subarray(0, n), ZERO_BLOCK.subarray(0, n)) === 0) continue;
    let last = n - 1;
    while (part[last] === 0) last--;
    dirtyEnd = at + last + 1;
  }
  await writeZeros(file, from, dirtyEnd);
  return dirtyEnd - from;
}
