/**
 * The segmented Raft log (INTERNALS.md, "Storage").
 *
 * Two halves:
 * - The in-memory view, changed synchronously by `append`, `truncate`, `compact` and
 *   `release`: segments, the offset index, the term of every index, and the bytes not yet
 *   written (served to `get` until they are).
 * - One I/O loop that brings the files up to date, one operation at a time, in the order the
 *   view changed: writes, syncs, segment creation and sealing, cuts, deletions, rewrites.
 *
 * Ordering rules the loop keeps, so that a crash at any moment leaves files that open to a
 * state the log really had (or a torn tail of unflushed appends):
 * 1. A segment is synced, and its header records that all of it is durable, before the next
 *    segment's file is created (so only the last segment can have a torn tail).
 * 2. A truncation deletes later segments (newest first, then syncs the directory) before it
 *    cuts the file it ends in, and lowers that file's durable end (synced) before cutting.
 * 3. A compaction writes its mark (the new first index) into the segment that will be first,
 *    and syncs it, before deleting the segments below.
 * 4. A rewrite or merge writes the new version under a temporary name, syncs it, renames it
 *    into place and syncs the directory before deleting the versions it replaces.
 * 5. `flush()` resolves after every append made before the call has been written and synced;
 *    concurrent calls share one sync (group commit).
 */
import {
  ClosedError,
  CopycatError,
  ProtocolError,
  SerializationError,
  StorageError,
  type Logger,
} from '@copycat/common';
import { readFully, type StorageDirectory, type StorageFile } from './directory.js';
import type { Entry, StoredEntry } from './entry.js';
import { SegmentCorruptionError, toError } from './errors.js';
import {
  checkRecord,
  readRecord,
  recordIndex,
  recordSize,
  recordTerm,
  validateEntry,
  viewOf,
  RecordEncoder,
  type RecordBatch,
} from './record.js';
import { Preallocator, writeZeros, type PreparedFile } from './prealloc.js';
import { recoverLog } from './recover.js';
import { BlockPool, Segment } from './segment.js';
import {
  MARK_OFFSET,
  SEGMENT_HEADER_SIZE,
  encodeHeader,
  encodeMark,
  segmentFileName,
} from './segment-header.js';
import type { TermRuns } from './term-runs.js';

/** Appended bytes that start a background write even before `flush()` asks for one. */
const WRITE_THRESHOLD = 1 << 20;
const MAX_FILE_OFFSET = 0xffffffff;
/** Pending bytes up to this size are handed to the OS synchronously (a page-cache copy). */
const SYNC_WRITE_LIMIT = 512 * 1024;
/**
 * The durable end in the active segment's header is rewritten once this many more bytes are
 * durable (and exactly at seal, truncate and close). Rewriting it on every flush would add a
 * second page to every fdatasync (25-50% slower small flushes). It is only ever a lower bound,
 * so a stale value is safe: it narrows, after a crash, what counts as corruption rather than
 * as a torn tail to the bytes before it (README, "Recovery").
 */
export const MARK_INTERVAL = 1 << 20;
/**
 * Preallocation pays while a segment's flushes average at most this many bytes. Its zeros cost
 * as much disk bandwidth as the data they make room for, and what they save is the metadata
 * commit of each fdatasync, a fixed cost per flush. Measured here (pnpm bench log): flushes
 * of 17-25 KB gained 30-60% bytes/s, flushes of 270 KB lost 5-30% (the disk writing zeros
 * while it writes data). Beyond it (or with no flushes at all) the next segment grows.
 */
const PREALLOCATE_MAX_FLUSH_BYTES = 128 * 1024;
/** Preallocation pays only for segments that fill at least 1/PREALLOCATE_MIN_FILL of maxSegmentSize. */
const PREALLOCATE_MIN_FILL = 4;

export interface AppendOptions {
  /**
   * Accept indexes above `lastIndex + 1`; the skipped indexes read as removed entries. For
   * followers appending a leader's compacted entries (Copycat's `skip`). Default false.
   */
  allowGaps?: boolean;
}

export interface SegmentInfo {
  id: number;
  version: number;
  firstIndex: number;
  /** Last index of the segment's range (entries may be missing from it after compaction). */
  lastIndex: number;
  /** Entries stored in the file. */
  entries: number;
  /** Stored entries marked with `release()`. */
  released: number;
  bytes: number;
  /** Every segment but the last is sealed: no more appends, eligible for rewrite and merge. */
  sealed: boolean;
}

export interface CompactionResult {
  /** False when the segments changed (truncated, compacted away) while the rewrite ran. */
  rewritten: boolean;
  segmentId: number;
  version: number;
  entriesBefore: number;
  entriesAfter: number;
  bytesBefore: number;
  bytesAfter: number;
}

export interface LogStats {
  appendedEntries: number;
  appendedBytes: number;
  /** write() calls and bytes handed to the file system. */
  writes: number;
  writtenBytes: number;
  /** fdatasync calls on segment files (0 when `fsync` is off). */
  syncs: number;
  flushes: number;
}

export interface Log {
  readonly name: string;
  /** First index the log holds (after compaction); `lastIndex + 1` when empty. */
  readonly firstIndex: number;
  /** Last index appended, 0 for a new log. */
  readonly lastIndex: number;
  /** Term of `lastIndex` (of `firstIndex - 1` when the log is empty). */
  readonly lastTerm: number;
  readonly stats: Readonly<LogStats>;
  /**
   * Appends entries, visible to `get` at once; durable after `flush()`. Checks every entry
   * first and appends nothing if one is invalid: indexes must continue the log (RangeError for
   * bad fields, ProtocolError for an index or term out of order). Returns the new lastIndex.
   */
  append(entries: Entry | readonly Entry[], options?: AppendOptions): number;
  /**
   * Appends encoded records (a concatenation, e.g. from a leader's `getRecords`), checking
   * every checksum (SerializationError) and the index order (ProtocolError) first; on any
   * error nothing is appended.
   */
  appendRecords(bytes: Uint8Array, options?: AppendOptions): RecordBatch;
  /** The entry at `index`, or undefined if out of range or removed by compaction. */
  get(index: number): StoredEntry | undefined;
  /** The stored entries with indexes in [from, to] (inclusive), skipping removed ones. */
  getRange(from: number, to: number): StoredEntry[];
  /**
   * Encoded records from `from` on, at most `maxBytes` of them (at least one record if any
   * exists) and within one segment. `bytes` may be a view of the log's memory: read-only.
   * Checksums are not checked here but by the receiver (`appendRecords`, `decodeRecords`).
   */
  getRecords(from: number, maxBytes: number): RecordBatch;
  /** Term at `index` for firstIndex - 1 <= index <= lastIndex (also for removed entries). */
  termAt(index: number): number | undefined;
  /** Removes every entry after `after` (>= firstIndex - 1). Durable with the next flush(). */
  truncate(after: number): void;
  /** Resolves once everything appended before the call is durable (one fsync for all). */
  flush(): Promise<void>;
  /**
   * Removes entries below `before` (a snapshot covers them): firstIndex becomes `before`. Past
   * the end of the log this empties it, and `termBefore` (the snapshot's term) is required.
   */
  compact(before: number, termBefore?: number): void;
  /** Marks a stored entry as removable by rewrite/merge. Volatile (see README). */
  release(index: number): boolean;
  isReleased(index: number): boolean;
  segments(): SegmentInfo[];
  /** Writes a new version of a sealed segment without its released entries. */
  rewrite(segmentId: number): Promise<CompactionResult>;
  /** Rewrites adjacent sealed segments into one, without their released entries. */
  merge(segmentIds: readonly number[]): Promise<CompactionResult>;
  /** Flushes, records the durable end and closes the files. */
  close(): Promise<void>;
}

export interface LogConfig {
  maxSegmentSize: number;
  maxEntriesPerSegment: number;
  fsync: boolean;
  cacheSize: number;
  logger: Logger;
  /**
   * Zero-fill each new segment to `maxSegmentSize` before it takes appends (prepared in the
   * background, prealloc.ts), so a flush's fdatasync has no file size or extents to commit.
   * Default false here; `Storage` turns it on for the disk level.
   */
  preallocate?: boolean;
}

interface ReservedBatch {
  segment: Segment;
  bytes: Uint8Array;
  view: DataView;
  /** Where the batch starts in `bytes`, and in the segment's file. */
  at: number;
  offset: number;
}

interface Waiter {
  seq: number;
  resolve(): void;
  reject(error: unknown): void;
}

interface Task {
  run(): Promise<void>;
  reject?: (error: unknown) => void;
}

/** A merge error that leaves the files as they were: reject the merge, keep the log. */
class RecoverableMergeError extends Error {}

export class SegmentedLog implements Log {
  readonly stats: LogStats = {
    appendedEntries: 0,
    appendedBytes: 0,
    writes: 0,
    writtenBytes: 0,
    syncs: 0,
    flushes: 0,
  };
  private segs: Segment[];
  private start: number;
  private last: number;
  private readonly runs: TermRuns;
  private nextId: number;
  private readonly maxRecordSize: number;
  private readonly pool = new BlockPool();
  private readonly encoder = new RecordEncoder();
  private readonly preallocator: Preallocator | undefined;
  /** Prepared files claimed by a segment whose file is not created yet (closed on stop). */
  private readonly unplaced = new Set<PreparedFile>();

  private readonly tasks: Task[] = [];
  /** Rewrites and merges in progress (their heavy part runs beside the queue). */
  private readonly merges = new Set<Promise<void>>();
  private currentTask: Task | undefined;
  private waiters: Waiter[] = [];
  private running = false;
  private loopDone: Promise<void> = Promise.resolve();
  private mutationSeq = 0;
  private durableSeq = 0;
  private writeRequested = false;
  private unwritten = 0;
  private failure: CopycatError | undefined;
  private abandoning: Promise<void> | undefined;
  private state: 'open' | 'closing' | 'closed' = 'open';
  private closePromise: Promise<void> | undefined;
  private halted = false;

  private constructor(
    private readonly directory: StorageDirectory,
    readonly name: string,
    private readonly config: LogConfig,
    recovered: { segments: Segment[]; start: number; last: number; runs: TermRuns; nextId: number },
  ) {
    this.segs = recovered.segments;
    this.start = recovered.start;
    this.last = recovered.last;
    this.runs = recovered.runs;
    this.nextId = recovered.nextId;
    this.maxRecordSize = config.maxSegmentSize - SEGMENT_HEADER_SIZE;
    this.preallocator =
      config.preallocate === true
        ? new Preallocator(directory, name, config.maxSegmentSize, config.fsync, config.logger)
        : undefined;
  }

  static async open(directory: StorageDirectory, name: string, config: LogConfig): Promise<SegmentedLog> {
    const recovered = await recoverLog(directory, name, { fsync: config.fsync, logger: config.logger });
    const log = new SegmentedLog(directory, name, config, recovered);
    try {
      if (log.segs.length === 0) {
        // A new log's first segment is preallocated now, not in the background: on a new
        // cluster it takes every write until it fills, and a log is created once (about 40 ms
        // for 32 MiB here). If that fails (disk full), it grows like before.
        const segment = log.newSegment(1, await log.preallocator?.prepareNow());
        log.segs.push(segment);
        await log.createFile(segment);
      }
    } catch (error) {
      await log.abandon();
      throw error;
    }
    log.preallocator?.start();
    return log;
  }

  get firstIndex(): number {
    return this.start;
  }

  get lastIndex(): number {
    return this.last;
  }

  get lastTerm(): number {
    return this.runs.lastTerm;
  }

  /** @internal For tests: the next rollover will get a preallocated file. */
  get preallocationReady(): boolean {
    return this.preallocator?.ready === true;
  }

  get isClosed(): boolean {
    return this.state !== 'open';
  }

  // ---- appending ----------------------------------------------------------------------------

  append(entries: Entry | readonly Entry[], options: AppendOptions = {}): number {
    this.check();
    const list: readonly Entry[] = 'index' in entries ? [entries] : entries;
    let expected = this.last + 1;
    let previousTerm = this.runs.lastTerm;
    let total = 0;
    for (const entry of list) {
      validateEntry(entry);
      this.checkOrder(entry.index, entry.term, expected, previousTerm, options);
      const size = recordSize(entry.payload.length);
      if (size > this.maxRecordSize) {
        throw new RangeError(
          `entry ${entry.index} needs ${size} bytes, more than a segment holds (maxSegmentSize ${this.config.maxSegmentSize})`,
        );
      }
      total += size;
      expected = entry.index + 1;
      previousTerm = entry.term;
    }
    if (list.length === 0) return this.last;
    const batch = this.reserveBatch(expected - 1, total);
    if (batch !== undefined) {
      // The whole batch encoded straight into one reserved run of the block: one pass, no
      // per-entry reservation.
      const { segment, bytes, view } = batch;
      let at = batch.at;
      let offset = batch.offset;
      for (const entry of list) {
        const size = this.encoder.write(bytes, view, at, entry);
        segment.setOffset(entry.index, offset);
        this.runs.push(entry.index, entry.term);
        at += size;
        offset += size;
      }
      this.last = expected - 1;
    } else {
      for (const entry of list) {
        const slot = this.place(entry.index, entry.term, recordSize(entry.payload.length));
        this.encoder.write(slot.bytes, slot.view, slot.at, entry);
      }
    }
    this.afterAppend(list.length);
    return this.last;
  }

  appendRecords(bytes: Uint8Array, options: AppendOptions = {}): RecordBatch {
    this.check();
    if (!(bytes instanceof Uint8Array)) throw new TypeError('records must be a Uint8Array');
    const view = viewOf(bytes);
    let expected = this.last + 1;
    let previousTerm = this.runs.lastTerm;
    let count = 0;
    let first = expected;
    for (let at = 0; at < bytes.length;) {
      const size = checkRecord(bytes, view, at, bytes.length);
      if (typeof size === 'string') throw new SerializationError(`bad record at offset ${at}: ${size}`);
      if (size > this.maxRecordSize)
        throw new RangeError(`record at offset ${at} needs ${size} bytes, more than a segment holds`);
      const index = recordIndex(view, at);
      const term = recordTerm(view, at);
      this.checkOrder(index, term, expected, previousTerm, options);
      if (count === 0) first = index;
      count++;
      expected = index + 1;
      previousTerm = term;
      at += size;
    }
    const batch = count === 0 ? undefined : this.reserveBatch(expected - 1, bytes.length);
    if (batch !== undefined) {
      // One copy of the whole batch, then the offsets.
      batch.bytes.set(bytes, batch.at);
      for (let at = 0; at < bytes.length;) {
        batch.segment.setOffset(recordIndex(view, at), batch.offset + at);
        this.runs.push(recordIndex(view, at), recordTerm(view, at));
        at += view.getUint32(at) + 4;
      }
      this.last = expected - 1;
    } else {
      for (let at = 0; at < bytes.length;) {
        const size = view.getUint32(at) + 4;
        const slot = this.place(recordIndex(view, at), recordTerm(view, at), size);
        slot.bytes.set(bytes.subarray(at, at + size), slot.at);
        at += size;
      }
    }
    this.afterAppend(count);
    return { bytes, firstIndex: first, lastIndex: expected - 1, count };
  }

  private checkOrder(
    index: number,
    term: number,
    expected: number,
    previousTerm: number,
    options: AppendOptions,
  ): void {
    if (options.allowGaps === true ? index < expected : index !== expected) {
      throw new ProtocolError(`log '${this.name}': entry index ${index} does not follow ${expected - 1}`);
    }
    if (term < previousTerm) {
      throw new ProtocolError(
        `log '${this.name}': entry ${index} has term ${term}, lower than the previous term ${previousTerm}`,
      );
    }
  }

  /**
   * Reserves `bytes` for a batch of records ending at `lastIndex` in the last segment, if they
   * all fit there (else undefined: the caller places records one by one, rolling over).
   */
  private reserveBatch(lastIndex: number, bytes: number): ReservedBatch | undefined {
    const segment = this.segs[this.segs.length - 1]!;
    if (lastIndex - segment.firstIndex >= segment.maxEntries || segment.size + bytes > segment.maxBytes)
      return undefined;
    const slot = segment.reserve(bytes, this.pool);
    this.unwritten += bytes;
    this.stats.appendedBytes += bytes;
    return { segment, bytes: slot.bytes, view: slot.view, at: slot.at, offset: slot.offset };
  }

  /** Reserves room for a record at the end of the log (rolling over if needed). */
  private place(index: number, term: number, size: number): ReturnType<Segment['reserve']> {
    let segment = this.segs[this.segs.length - 1]!;
    const full = segment.size > SEGMENT_HEADER_SIZE && segment.size + size > segment.maxBytes;
    if (index - segment.firstIndex >= segment.maxEntries || full) segment = this.rollover(index);
    const slot = segment.reserve(size, this.pool);
    segment.setOffset(index, slot.offset);
    this.runs.push(index, term);
    this.last = index;
    this.unwritten += size;
    this.stats.appendedBytes += size;
    return slot;
  }

  private afterAppend(count: number): void {
    if (count === 0) return;
    this.stats.appendedEntries += count;
    this.mutationSeq++;
    if (this.unwritten >= WRITE_THRESHOLD) {
      this.unwritten = 0;
      this.writeRequested = true;
      this.kick();
    }
  }

  /** A new segment, using `prepared` (a zero-filled file of maxSegmentSize) if given. */
  private newSegment(firstIndex: number, prepared: PreparedFile | undefined): Segment {
    const id = this.nextId++;
    const segment = new Segment(
      {
        id,
        version: 1,
        firstIndex,
        lastId: id,
        maxEntries: this.config.maxEntriesPerSegment,
        maxBytes: this.config.maxSegmentSize,
        preallocated: prepared !== undefined,
      },
      segmentFileName(this.name, id, 1),
    );
    if (prepared !== undefined) {
      segment.prepared = prepared;
      this.unplaced.add(prepared);
    }
    return segment;
  }

  private rollover(firstIndex: number): Segment {
    const previous = this.segs[this.segs.length - 1]!;
    // The prepared file if it is ready; if not, a growing file as without preallocation
    // (never a stall on the append path).
    const segment = this.newSegment(
      firstIndex,
      this.preallocator?.take(this.preallocationPays(previous, firstIndex)),
    );
    this.segs.push(segment);
    this.enqueue(() => this.seal(previous));
    this.enqueue(() => this.createFile(segment));
    return segment;
  }

  /**
   * Whether to prepare a file for the segment after the next, judging by `segment`, which just
   * filled up (the next one starts at `nextIndex`): by its flushes, and, if it was closed by
   * `maxEntriesPerSegment`, by how much of `maxSegmentSize` it used. Segments closed that way
   * while small would each have cost a full-size file of zeros for the few bytes they hold.
   */
  private preallocationPays(segment: Segment, nextIndex: number): boolean {
    const closedByCount = nextIndex - segment.firstIndex >= segment.maxEntries;
    if (closedByCount && segment.size * PREALLOCATE_MIN_FILL < this.config.maxSegmentSize) return false;
    const bytes = segment.size - SEGMENT_HEADER_SIZE;
    return segment.flushSyncs > 0 && bytes / segment.flushSyncs <= PREALLOCATE_MAX_FLUSH_BYTES;
  }

  // ---- reading --------------------------------------------------------------------------------

  private segmentIndexFor(index: number): number {
    let low = 0;
    let high = this.segs.length - 1;
    while (low < high) {
      const mid = (low + high + 1) >>> 1;
      if (this.segs[mid]!.firstIndex <= index) low = mid;
      else high = mid - 1;
    }
    return low;
  }

  get(index: number): StoredEntry | undefined {
    this.check();
    if (!Number.isSafeInteger(index) || index < this.start || index > this.last) return undefined;
    const segment = this.segs[this.segmentIndexFor(index)]!;
    const offset = segment.offsetOf(index);
    if (offset === 0) return undefined;
    const { bytes, shared } = segment.read(offset, segment.endOf(index), true);
    const view = viewOf(bytes);
    if (!shared) this.verify(segment, bytes, offset, index);
    return readRecord(bytes, view, 0, shared);
  }

  getRange(from: number, to: number): StoredEntry[] {
    this.check();
    const entries: StoredEntry[] = [];
    if (!Number.isSafeInteger(from) || !Number.isSafeInteger(to))
      throw new RangeError(`getRange needs safe integers, got ${from}, ${to}`);
    from = Math.max(from, this.start);
    to = Math.min(to, this.last);
    if (from > to) return entries;
    for (let k = this.segmentIndexFor(from); k < this.segs.length; k++) {
      const segment = this.segs[k]!;
      if (segment.firstIndex > to) break;
      const first = segment.nextStored(Math.max(from, segment.firstIndex));
      if (first === undefined || first > to) continue;
      const lastStored = segment.previousStored(to)!;
      const begin = segment.offsetOf(first);
      const { bytes, shared } = segment.read(begin, segment.endOf(lastStored), true);
      if (!shared) this.verify(segment, bytes, begin);
      const view = viewOf(bytes);
      for (let at = 0; at < bytes.length; at += view.getUint32(at) + 4)
        entries.push(readRecord(bytes, view, at, shared));
    }
    return entries;
  }

  getRecords(from: number, maxBytes: number): RecordBatch {
    this.check();
    if (!Number.isSafeInteger(from))
      throw new RangeError(`getRecords needs a safe integer index, got ${from}`);
    if (!(maxBytes >= 0)) throw new RangeError(`maxBytes must be >= 0, got ${maxBytes}`);
    const index = Math.max(from, this.start);
    if (index <= this.last) {
      for (let k = this.segmentIndexFor(index); k < this.segs.length; k++) {
        const segment = this.segs[k]!;
        const first = segment.nextStored(Math.max(index, segment.firstIndex));
        if (first === undefined) continue;
        const begin = segment.offsetOf(first);
        let lastIndex = first;
        let end = segment.endOf(first);
        let count = 1;
        for (let i = segment.nextStored(first + 1); i !== undefined; i = segment.nextStored(i + 1)) {
          const next = segment.endOf(i);
          if (next - begin > maxBytes) break;
          lastIndex = i;
          end = next;
          count++;
        }
        // No checksum pass here: these bytes go to a follower, whose appendRecords checks every
        // record (INTERNALS.md, replication), so checking twice would only halve read speed.
        const { bytes } = segment.read(begin, end);
        return { bytes, firstIndex: first, lastIndex, count };
      }
    }
    return { bytes: new Uint8Array(0), firstIndex: from, lastIndex: from - 1, count: 0 };
  }

  /** Checks records read back from a file: bytes at rest can rot after the open-time scan. */
  private verify(segment: Segment, bytes: Uint8Array, fileOffset: number, expectedIndex?: number): void {
    const view = viewOf(bytes);
    for (let at = 0; at < bytes.length;) {
      const size = checkRecord(bytes, view, at, bytes.length);
      const problem =
        typeof size === 'string'
          ? size
          : expectedIndex !== undefined && recordIndex(view, at) !== expectedIndex
            ? `expected index ${expectedIndex}, found ${recordIndex(view, at)}`
            : undefined;
      if (problem !== undefined || typeof size === 'string') {
        throw new SegmentCorruptionError(
          `${this.directory.path}/${segment.fileName}`,
          fileOffset + at,
          problem ?? 'bad record',
        );
      }
      at += size;
    }
  }

  termAt(index: number): number | undefined {
    if (!Number.isSafeInteger(index) || index < this.start - 1 || index > this.last) return undefined;
    return this.runs.termAt(index);
  }

  // ---- truncation and compaction -------------------------------------------------------------

  truncate(after: number): void {
    this.check();
    if (!Number.isSafeInteger(after)) throw new RangeError(`truncate needs a safe integer, got ${after}`);
    if (after >= this.last) return;
    if (after < this.start - 1) {
      throw new RangeError(
        `cannot truncate the log after ${after}: entries below ${this.start} are compacted`,
      );
    }
    let k = this.segs.length - 1;
    while (k > 0 && this.segs[k]!.firstIndex > after) k--;
    const removed = this.segs.splice(k + 1);
    const segment = this.segs[k]!;
    for (const old of removed) {
      old.removed = true;
      old.generation++;
    }
    const cut = segment.dropAfter(after);
    segment.generation++;
    this.runs.truncateAfter(after);
    this.last = after;
    // If the log now ends in a gap left by compaction, no record says where it ends: the
    // segment's mark does, written (synced) before anything is deleted.
    const endIndex = after > Math.max(segment.lastStored, segment.firstIndex - 1, this.start - 1) ? after : 0;
    if (segment.endIndex !== endIndex) {
      segment.endIndex = endIndex;
      this.enqueue(() => this.writeStartMark(segment));
    }
    // Rule 2: later segments first, newest first, so a crash leaves a prefix of the log.
    for (const old of removed.reverse()) this.enqueue(() => this.deleteFile(old));
    if (removed.length > 0) this.enqueue(() => this.syncDirectory());
    if (cut < segment.diskEnd) {
      segment.pendingCut = Math.min(segment.pendingCut ?? Number.MAX_SAFE_INTEGER, cut);
      this.enqueue(() => this.applyCut(segment));
    }
    this.mutationSeq++;
  }

  compact(before: number, termBefore?: number): void {
    this.check();
    if (!Number.isSafeInteger(before) || before < 1)
      throw new RangeError(`compact needs a safe integer >= 1, got ${before}`);
    if (before <= this.start) return;
    if (before > this.last + 1) {
      if (termBefore === undefined || !Number.isSafeInteger(termBefore) || termBefore < 0) {
        throw new RangeError(
          `compacting to ${before}, past the end of the log (${this.last}), needs the term of index ${before - 1}`,
        );
      }
      const old = this.segs;
      const segment = this.newSegment(before, this.preallocator?.take());
      segment.startIndex = before;
      segment.startTerm = termBefore;
      this.segs = [segment];
      for (const s of old) {
        s.removed = true;
        s.generation++;
      }
      this.start = before;
      this.last = before - 1;
      this.runs.reset(before - 1, termBefore);
      // Rule 3: the new segment carries the mark; it exists before the old ones go.
      this.enqueue(() => this.createFile(segment));
      for (const s of old.reverse()) this.enqueue(() => this.deleteFile(s));
      this.enqueue(() => this.syncDirectory());
    } else {
      const k = this.segmentIndexFor(before);
      const removed = this.segs.splice(0, k);
      const segment = this.segs[0]!;
      for (const s of removed) {
        s.removed = true;
        s.generation++;
      }
      this.runs.compactBefore(before);
      segment.startIndex = before;
      segment.startTerm = this.runs.termAt(before - 1);
      segment.generation++;
      this.start = before;
      this.enqueue(() => this.writeStartMark(segment));
      for (const s of removed) this.enqueue(() => this.deleteFile(s));
      if (removed.length > 0) this.enqueue(() => this.syncDirectory());
    }
    this.mutationSeq++;
  }

  release(index: number): boolean {
    this.check();
    if (!Number.isSafeInteger(index) || index < this.start || index > this.last) return false;
    const segment = this.segs[this.segmentIndexFor(index)]!;
    if (segment.offsetOf(index) === 0) return false;
    segment.setReleased(index, true);
    return true;
  }

  isReleased(index: number): boolean {
    if (!Number.isSafeInteger(index) || index < this.start || index > this.last) return false;
    return this.segs[this.segmentIndexFor(index)]!.isReleased(index);
  }

  segments(): SegmentInfo[] {
    return this.segs.map((segment, k) => {
      const next = this.segs[k + 1];
      return {
        id: segment.id,
        version: segment.version,
        firstIndex: k === 0 ? this.start : segment.firstIndex,
        lastIndex: next === undefined ? this.last : next.firstIndex - 1,
        entries: segment.entryCount,
        released: segment.releasedCount,
        bytes: segment.size,
        sealed: next !== undefined,
      };
    });
  }

  rewrite(segmentId: number): Promise<CompactionResult> {
    return this.merge([segmentId]);
  }

  merge(segmentIds: readonly number[]): Promise<CompactionResult> {
    try {
      this.check();
      this.findGroup(segmentIds, true);
    } catch (error) {
      return Promise.reject(toError(error));
    }
    const run = (async () => {
      // Queued first, so that earlier seals and cuts have reached the files; the heavy part
      // then runs beside the queue, and flushes meanwhile are not held up (only the rename and
      // swap at the end go through the queue).
      await this.inQueue(async () => {});
      return this.runMerge(segmentIds);
    })();
    const settled = run.then(
      () => undefined,
      () => undefined,
    );
    this.merges.add(settled);
    void settled.then(() => this.merges.delete(settled));
    return run.catch((error: unknown) => {
      throw toError(error instanceof RecoverableMergeError ? error.cause : error);
    });
  }

  /** The sealed, adjacent segments with these ids, in order; undefined (or throws) if not. */
  private findGroup(ids: readonly number[], throwing: boolean): Segment[] | undefined {
    const fail = (reason: string) => {
      if (throwing) throw new RangeError(`cannot rewrite segments [${ids.join(', ')}]: ${reason}`);
      return undefined;
    };
    if (ids.length === 0) return fail('no segment ids');
    const k = this.segs.findIndex((s) => s.id === ids[0]);
    if (k < 0) return fail(`no segment ${ids[0]}`);
    const group = this.segs.slice(k, k + ids.length);
    if (group.length !== ids.length || group.some((s, i) => s.id !== ids[i]))
      return fail('not adjacent segments of the log');
    if (k + ids.length >= this.segs.length) return fail('the last segment is still being appended to');
    return group;
  }

  // ---- durability -------------------------------------------------------------------------------

  flush(): Promise<void> {
    try {
      this.check();
    } catch (error) {
      return Promise.reject(toError(error));
    }
    this.stats.flushes++;
    const seq = this.mutationSeq;
    if (seq <= this.durableSeq) return Promise.resolve();
    return new Promise((resolve, reject) => {
      this.waiters.push({ seq, resolve, reject });
      this.kick();
    });
  }

  close(): Promise<void> {
    if (this.closePromise !== undefined) return this.closePromise;
    const flushed = this.failure === undefined ? this.flush() : Promise.reject(this.failure);
    this.state = 'closing';
    this.closePromise = (async () => {
      let error: unknown;
      try {
        await flushed;
      } catch (e) {
        error = e;
      }
      await Promise.all(this.merges);
      while (this.running) await this.loopDone;
      await this.stopPreallocation(false);
      if (error === undefined && !this.halted) {
        try {
          const last = this.segs[this.segs.length - 1];
          // Preallocated: nothing was written past what is durable, so the tail is zeros.
          const clean =
            last?.preallocated === true && last.pendingCut === undefined && last.diskEnd <= last.syncedEnd;
          if (last?.file !== undefined && (last.watermark < last.syncedEnd || (clean && !last.markClean))) {
            // A clean close records that the whole tail is durable: after it, any bad record
            // at all is reported as corruption rather than taken for a torn write. For a
            // preallocated segment it also says the rest is zeros: the next open need not
            // scrub it.
            this.writeMark(last, last.syncedEnd, clean);
            await this.syncFile(last);
          }
        } catch (e) {
          error = e;
        }
      }
      for (const segment of this.segs) await segment.file?.close().catch(() => {});
      this.state = 'closed';
      if (error !== undefined) throw toError(error);
    })();
    return this.closePromise;
  }

  /** Stops without flushing (simulated crash): waits for the operation in flight, closes files. */
  abandon(): Promise<void> {
    if (this.state === 'closed' && this.halted) return this.abandoning ?? Promise.resolve();
    this.halted = true;
    this.state = 'closed';
    const error = new ClosedError(`log '${this.name}' stopped by a simulated crash`);
    this.rejectAll(error);
    this.abandoning = (async () => {
      await Promise.all(this.merges);
      while (this.running) await this.loopDone;
      await this.stopPreallocation(true);
      for (const segment of this.segs) await segment.file?.close().catch(() => {});
    })();
    return this.abandoning;
  }

  /**
   * Settles once a `close()` or `abandon()` under way has let go of the files (undefined if
   * neither was called): `Storage` waits for it before opening the log again, so that two
   * instances never work on the same files.
   */
  get released(): Promise<void> | undefined {
    // Both, when a crash came while closing: the close still deletes its prepared files by name.
    const under = [this.closePromise, this.abandoning].filter((p) => p !== undefined);
    return under.length === 0 ? undefined : Promise.allSettled(under).then(() => undefined);
  }

  /** Stops preparing files and closes prepared ones not in use (deleted unless `crashed`). */
  private async stopPreallocation(crashed: boolean): Promise<void> {
    await this.preallocator?.stop(crashed);
    for (const prepared of this.unplaced) {
      if (crashed) await prepared.file.close().catch(() => {});
      else await this.discardPrepared(prepared);
    }
    this.unplaced.clear();
  }

  private check(): void {
    if (this.state !== 'open') throw new ClosedError(`log '${this.name}' is closed`);
    if (this.failure !== undefined) {
      throw new StorageError(`log '${this.name}' failed and must be reopened: ${this.failure.message}`, {
        cause: this.failure,
      });
    }
  }

  private rejectAll(error: unknown): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const waiter of waiters) waiter.reject(error);
    const tasks = this.tasks.splice(0);
    if (this.currentTask !== undefined) tasks.unshift(this.currentTask);
    for (const task of tasks) task.reject?.(error);
  }

  private fail(error: unknown): void {
    if (this.failure !== undefined || this.halted) return;
    this.failure =
      error instanceof CopycatError
        ? error
        : new StorageError(`log '${this.name}': ${error instanceof Error ? error.message : String(error)}`, {
            cause: error,
          });
    this.config.logger.error('log failed; it must be reopened', { log: this.name, error: this.failure });
    this.rejectAll(this.failure);
  }

  // ---- the I/O loop ---------------------------------------------------------------------------

  private enqueue(run: () => Promise<void>, reject?: (error: unknown) => void): void {
    if (this.halted || this.failure !== undefined) {
      reject?.(this.failure ?? new ClosedError(`log '${this.name}' stopped by a simulated crash`));
      return;
    }
    this.tasks.push(reject === undefined ? { run } : { run, reject });
    this.kick();
  }

  /** Runs `fn` as a queue task; a RecoverableMergeError rejects only this call. */
  private inQueue<T>(fn: () => Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.enqueue(async () => {
        try {
          resolve(await fn());
        } catch (error) {
          reject(toError(error));
          if (!(error instanceof RecoverableMergeError)) throw error;
        }
      }, reject);
    });
  }

  private kick(): void {
    if (this.running || this.halted || this.failure !== undefined) return;
    this.running = true;
    this.loopDone = this.loop();
  }

  private async loop(): Promise<void> {
    try {
      while (!this.halted) {
        const task = this.tasks.shift();
        if (task !== undefined) {
          this.currentTask = task;
          await task.run();
          this.currentTask = undefined;
          continue;
        }
        const wantSync = this.waiters.length > 0;
        if (!wantSync && !this.writeRequested) break;
        this.writeRequested = false;
        const seq = this.mutationSeq;
        await this.writeAll(wantSync);
        // Structural work queued meanwhile (a rollover, a truncation) must reach the files
        // before this round can claim `seq` durable.
        if (this.tasks.length > 0 || this.halted || !wantSync) continue;
        await this.syncAll();
        if (this.halted) break;
        this.durableSeq = Math.max(this.durableSeq, seq);
        const waiters = this.waiters;
        this.waiters = waiters.filter((w) => w.seq > this.durableSeq);
        for (const waiter of waiters) if (waiter.seq <= this.durableSeq) waiter.resolve();
      }
    } catch (error) {
      this.currentTask = undefined;
      this.fail(error);
    } finally {
      this.running = false;
    }
  }

  private async writeAll(withMarks: boolean): Promise<void> {
    const segments = this.segs.slice();
    if (withMarks) {
      // The durable end from earlier syncs goes out with this round's data: it only ever
      // claims bytes that an earlier sync completed.
      for (const segment of segments) {
        if (
          segment.file !== undefined &&
          !segment.removed &&
          segment.pendingCut === undefined &&
          segment.watermark + MARK_INTERVAL <= segment.syncedEnd
        ) {
          this.writeMark(segment, segment.syncedEnd);
        }
      }
    }
    for (const segment of segments) if (segment.writtenEnd < segment.size) await this.writeSegment(segment);
    let budget = this.config.cacheSize;
    for (let k = this.segs.length - 1; k >= 0; k--)
      budget = Math.max(0, budget - this.segs[k]!.trim(budget, this.pool));
  }

  private async writeSegment(segment: Segment): Promise<void> {
    for (;;) {
      if (this.halted || segment.removed || segment.file === undefined || segment.pendingCut !== undefined)
        return;
      const pending = segment.pendingWrite();
      if (pending === undefined) return;
      if (segment.mayBeClean) {
        await this.markDirty(segment);
        continue;
      }
      const end = pending.position + pending.bytes.length;
      segment.diskEnd = Math.max(segment.diskEnd, end);
      if (pending.bytes.length <= SYNC_WRITE_LIMIT) segment.file.writeSync(pending.bytes, pending.position);
      else await segment.file.write(pending.bytes, pending.position);
      this.stats.writes++;
      this.stats.writtenBytes += pending.bytes.length;
      segment.writtenEnd = Math.max(segment.writtenEnd, end);
    }
  }

  private async syncAll(): Promise<void> {
    for (const segment of this.segs.slice()) {
      if (segment.removed || segment.file === undefined || segment.pendingCut !== undefined) continue;
      const target = segment.writtenEnd;
      if (target <= segment.syncedEnd) continue;
      segment.flushSyncs++;
      await this.syncFile(segment);
      segment.syncedEnd = Math.max(segment.syncedEnd, target);
    }
  }

  private async syncFile(segment: Segment): Promise<void> {
    if (segment.file === undefined) return;
    const markClean = segment.markClean;
    if (this.config.fsync) {
      await segment.file.sync();
      this.stats.syncs++;
    }
    segment.mayBeClean = markClean;
  }

  /**
   * A preallocated segment whose mark says its tail is all zeros (after a clean close) gets a
   * mark without that claim, synced, before anything is written past its durable end: else a
   * crash could leave records there that the next open, trusting the claim, would not scrub.
   * Once per segment per process.
   */
  private async markDirty(segment: Segment): Promise<void> {
    this.writeMark(segment, segment.watermark);
    await this.syncFile(segment);
  }

  private async syncDirectory(): Promise<void> {
    if (this.config.fsync) await this.directory.sync();
  }

  /**
   * Rewrites the segment's mark (32 bytes into the page cache, like a small append: written
   * synchronously, so a flush that carries it does not wait a thread-pool round trip before its
   * sync).
   */
  private writeMark(segment: Segment, durableEnd: number, clean = false): void {
    segment.file!.writeSync(encodeMark(segment.mark(durableEnd, clean)), MARK_OFFSET);
    segment.watermark = durableEnd;
    segment.markClean = clean;
    if (clean) segment.mayBeClean = true;
  }

  private async createFile(segment: Segment): Promise<void> {
    const prepared = segment.prepared;
    segment.prepared = undefined;
    if (prepared !== undefined) this.unplaced.delete(prepared);
    if (segment.removed) {
      if (prepared !== undefined) await this.discardPrepared(prepared);
      return;
    }
    if (prepared !== undefined) return this.placePrepared(segment, prepared);
    const temporary = `${segment.fileName}.tmp`;
    await this.directory.remove(temporary);
    const file = await this.directory.create(temporary);
    try {
      await file.write(encodeHeader(segment.header, segment.mark(SEGMENT_HEADER_SIZE)), 0);
      if (this.config.fsync) await file.sync();
      await this.directory.rename(temporary, segment.fileName);
      await this.syncDirectory();
    } catch (error) {
      await file.close().catch(() => {});
      throw error;
    }
    segment.file = file;
  }

  /**
   * Like createFile's atomic creation, with a zero-filled file prepared earlier: the header is
   * written over its first bytes (the size does not change), synced, and the file renamed into
   * place (directory synced).
   */
  private async placePrepared(segment: Segment, prepared: PreparedFile): Promise<void> {
    try {
      await prepared.file.write(encodeHeader(segment.header, segment.mark(SEGMENT_HEADER_SIZE)), 0);
      if (this.config.fsync) await prepared.file.sync();
      await this.directory.rename(prepared.name, segment.fileName);
      await this.syncDirectory();
    } catch (error) {
      // Not left behind for close() to miss (once renamed it is an empty segment: kept).
      await this.discardPrepared(prepared);
      throw error;
    }
    segment.file = prepared.file;
  }

  private async discardPrepared(prepared: PreparedFile): Promise<void> {
    await prepared.file.close().catch(() => {});
    await this.directory.remove(prepared.name).catch(() => {});
  }

  /** Rule 1: everything in the segment durable, and its header saying so. */
  private async seal(segment: Segment): Promise<void> {
    // A truncation since the rollover made this segment the last one again; a later
    // rollover queues a fresh seal.
    if (segment.removed || segment.pendingCut !== undefined || segment.file === undefined) return;
    await this.writeSegment(segment);
    if (segment.removed || segment.pendingCut !== undefined) return;
    const written = segment.writtenEnd;
    await this.syncFile(segment);
    segment.syncedEnd = Math.max(segment.syncedEnd, written);
    this.writeMark(segment, segment.syncedEnd);
    await this.syncFile(segment);
    // Sealed, a preallocated file gives back the zeros it did not use: they only served
    // appends. Disk use stays the data plus the last segment's and the prepared file's room
    // (and small segments, e.g. with maxEntriesPerSegment, do not each keep maxSegmentSize).
    if (segment.preallocated && !segment.removed && segment.pendingCut === undefined) {
      await segment.file?.truncate(segment.diskEnd);
      await this.syncFile(segment);
    }
  }

  /** Rule 2: lower the durable end (synced) before cutting, then cut (synced). */
  private async applyCut(segment: Segment): Promise<void> {
    while (segment.pendingCut !== undefined && !segment.removed && segment.file !== undefined) {
      const cut = segment.pendingCut;
      if (segment.watermark > cut || segment.mayBeClean) {
        this.writeMark(segment, Math.min(segment.watermark, cut));
        await this.syncFile(segment);
      }
      // A preallocated file keeps its size: the cut-off records are zeroed instead, so that
      // appends from `cut` on never leave one of them readable after what they write.
      if (segment.preallocated) await writeZeros(segment.file, cut, segment.diskEnd);
      else await segment.file.truncate(cut);
      await this.syncFile(segment);
      segment.writtenEnd = Math.min(segment.writtenEnd, cut);
      segment.diskEnd = cut;
      segment.syncedEnd = Math.min(segment.syncedEnd, cut);
      if (segment.pendingCut === cut) segment.pendingCut = undefined;
    }
  }

  /** Persists a changed compaction mark or end index (synced). */
  private async writeStartMark(segment: Segment): Promise<void> {
    // A segment whose file is not created yet gets the mark with its header.
    if (segment.removed || segment.file === undefined) return;
    this.writeMark(segment, segment.watermark);
    await this.syncFile(segment);
  }

  private async deleteFile(segment: Segment): Promise<void> {
    const file = segment.file;
    segment.file = undefined;
    await file?.close();
    await this.directory.remove(segment.fileName);
  }

  // ---- rewrite and merge (compaction primitives) ----------------------------------------------

  private async runMerge(ids: readonly number[]): Promise<CompactionResult> {
    const group = this.findGroup(ids, false);
    const first = group?.[0];
    const notRewritten = (entries = 0, bytes = 0): CompactionResult => ({
      rewritten: false,
      segmentId: ids[0] ?? 0,
      version: first?.version ?? 0,
      entriesBefore: entries,
      entriesAfter: entries,
      bytesBefore: bytes,
      bytesAfter: bytes,
    });
    if (group === undefined || first === undefined) return notRewritten();
    const generations = group.map((s) => s.generation);
    const changed = () => group.some((s, i) => s.removed || s.generation !== generations[i]);
    const lastOfGroup = group[group.length - 1]!;
    const next = this.segs[this.segs.indexOf(lastOfGroup) + 1]!;
    const isFirst = this.segs[0] === first;
    const start = isFirst ? this.start : first.firstIndex;
    const version = Math.max(...group.map((s) => s.version)) + 1;
    const fileName = segmentFileName(this.name, first.id, version);
    const temporary = `${fileName}.tmp`;

    // Which records stay: not released, or the first of their term (so terms of removed
    // indexes can always be rebuilt on open), and never below the log's first index.
    const kept: { index: number; bytes: Uint8Array }[] = [];
    let entriesBefore = 0;
    let bytesBefore = 0;
    let size = SEGMENT_HEADER_SIZE;
    for (const segment of group) {
      entriesBefore += segment.entryCount;
      bytesBefore += segment.size;
      let contents: Uint8Array;
      try {
        contents = await this.readSegmentBody(segment);
      } catch (error) {
        // A truncation or compaction may have closed the file under us: then nothing to do.
        if (changed() && !this.halted) return notRewritten(entriesBefore, bytesBefore);
        throw error;
      }
      if (changed()) return notRewritten(entriesBefore, bytesBefore);
      const view = viewOf(contents);
      for (
        let index = segment.nextStored(segment.firstIndex);
        index !== undefined;
        index = segment.nextStored(index + 1)
      ) {
        if (index < start || (segment.isReleased(index) && !this.runs.startsAt(index))) continue;
        const at = segment.offsetOf(index) - SEGMENT_HEADER_SIZE;
        const end = segment.endOf(index) - SEGMENT_HEADER_SIZE;
        const checked = checkRecord(contents, view, at, end);
        if (typeof checked === 'string' || recordIndex(view, at) !== index) {
          const corruption = new SegmentCorruptionError(
            `${this.directory.path}/${segment.fileName}`,
            at + SEGMENT_HEADER_SIZE,
            typeof checked === 'string' ? checked : 'index mismatch',
          );
          this.fail(corruption);
          throw corruption;
        }
        kept.push({ index, bytes: contents.subarray(at, end) });
        size += end - at;
      }
    }
    if (size > MAX_FILE_OFFSET) {
      throw new RecoverableMergeError('merged segment too large', {
        cause: new RangeError(`a merged segment of ${size} bytes exceeds 4 GiB`),
      });
    }
    const header = {
      id: first.id,
      version,
      firstIndex: first.firstIndex,
      lastId: lastOfGroup.lastId,
      maxEntries: Math.min(MAX_FILE_OFFSET, Math.max(first.maxEntries, next.firstIndex - first.firstIndex)),
      maxBytes: Math.max(first.maxBytes, size),
      // Rewrites are written in one piece, exactly their size: nothing to gain.
      preallocated: false,
    };
    const mark = {
      durableEnd: size,
      startIndex: isFirst ? first.startIndex : 0,
      startTerm: isFirst ? first.startTerm : 0,
      endIndex: 0,
    };
    const out = Buffer.allocUnsafe(size);
    out.set(encodeHeader(header, mark), 0);
    const merged = new Segment(header, fileName, kept.length);
    merged.startIndex = mark.startIndex;
    merged.startTerm = mark.startTerm;
    let at = SEGMENT_HEADER_SIZE;
    for (const record of kept) {
      out.set(record.bytes, at);
      merged.setOffset(record.index, at);
      at += record.bytes.length;
    }

    // Rule 4. Until the rename, a failure leaves the old files in charge: not fatal.
    let file: StorageFile;
    try {
      await this.directory.remove(temporary);
      file = await this.directory.create(temporary);
    } catch (error) {
      if (this.halted) throw error;
      throw new RecoverableMergeError('create failed', { cause: error });
    }
    const discard = async () => {
      await file.close().catch(() => {});
      await this.directory.remove(temporary).catch(() => {});
    };
    try {
      await file.write(out, 0);
      if (this.config.fsync) await file.sync();
    } catch (error) {
      await discard();
      if (this.halted) throw error;
      throw new RecoverableMergeError('write failed', { cause: error });
    }
    // The rest is short and must not interleave with other file work: queued.
    return this.inQueue(async () => {
      if (changed()) {
        await discard();
        return notRewritten(entriesBefore, bytesBefore);
      }
      try {
        await this.directory.rename(temporary, fileName);
      } catch (error) {
        await discard();
        throw new RecoverableMergeError('rename failed', { cause: error });
      }
      await this.syncDirectory();
      if (changed()) {
        // A truncation or compaction changed these segments while the new version was being
        // renamed into place; its queued work expects the old files, so the new one goes.
        await file.close();
        await this.directory.remove(fileName);
        await this.syncDirectory();
        return notRewritten(entriesBefore, bytesBefore);
      }
      return this.swapIn(group, merged, file, size, kept, {
        segmentId: first.id,
        version,
        entriesBefore,
        bytesBefore,
      });
    }).catch(async (error: unknown) => {
      // If the queue stopped before the rename, the *.tmp file is removed on the next open.
      await file.close().catch(() => {});
      throw error;
    });
  }

  /** Puts `merged` in place of `group` in memory, then deletes the old files. */
  private async swapIn(
    group: Segment[],
    merged: Segment,
    file: StorageFile,
    size: number,
    kept: { index: number }[],
    result: { segmentId: number; version: number; entriesBefore: number; bytesBefore: number },
  ): Promise<CompactionResult> {
    const first = group[0]!;
    merged.file = file;
    merged.size = size;
    merged.writtenEnd = size;
    merged.diskEnd = size;
    merged.syncedEnd = size;
    merged.watermark = size;
    for (const record of kept) {
      const owner = group.find((s) => s.offsetOf(record.index) !== 0);
      if (owner?.isReleased(record.index) === true) merged.setReleased(record.index, true);
    }
    const k = this.segs.indexOf(first);
    this.segs.splice(k, group.length, merged);
    for (const segment of group) {
      segment.removed = true;
      segment.generation++;
    }
    for (const segment of group) await this.deleteFile(segment);
    await this.syncDirectory();
    return { rewritten: true, ...result, entriesAfter: kept.length, bytesAfter: size };
  }

  /** The record bytes of a sealed segment (everything after the header). */
  private async readSegmentBody(segment: Segment): Promise<Uint8Array> {
    const length = segment.size - SEGMENT_HEADER_SIZE;
    if (segment.writtenEnd < segment.size || segment.file === undefined)
      return segment.read(SEGMENT_HEADER_SIZE, segment.size).bytes;
    const bytes = Buffer.allocUnsafe(length);
    const n = await readFully(segment.file, bytes, SEGMENT_HEADER_SIZE);
    if (n !== length)
      throw new StorageError(
        `${this.directory.path}/${segment.fileName}: short read (${n} of ${length} bytes)`,
      );
    return bytes;
  }
}
