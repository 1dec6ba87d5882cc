/**
 * The in-memory state of one segment: where each record sits (offset index), which entries
 * are released, the recently appended bytes (blocks), and how far the file is written and
 * synced. The `Log` drives it; this class only keeps the bookkeeping straight.
 */
import { StorageError } from '@copycat/common';
import type { StorageFile } from './directory.js';
import { plainView } from './record.js';
import { SEGMENT_HEADER_SIZE, type SegmentHeader, type SegmentMark } from './segment-header.js';

const BLOCK_SIZE = 1 << 20;

/**
 * Appended bytes not yet dropped from memory. Blocks are contiguous: block k + 1 starts where
 * block k ends. A block's bytes below `used` never change once written, so a write in flight
 * or a view handed to a caller stays valid; a truncation seals the block (`open = false`) and
 * later appends go to a new one.
 */
interface Block {
  start: number;
  bytes: Uint8Array;
  view: DataView;
  used: number;
  open: boolean;
  /** A view of it left the segment (`read` without `transient`): never reused. */
  exposed: boolean;
}

/**
 * Spare full-size blocks of one log, reused for new appends. A fresh 1 MiB buffer costs a page
 * fault per 4 KiB on first write (and an munmap when collected): 10-15% of the CPU time of a
 * 1 KiB x 256 append here. Only blocks trimmed after being written to the file, and never
 * exposed to a caller, come back here, so no view anyone holds can see their bytes change.
 */
export class BlockPool {
  private readonly spare: { bytes: Uint8Array; view: DataView }[] = [];

  constructor(private readonly limit = 4) {}

  take(): { bytes: Uint8Array; view: DataView } | undefined {
    return this.spare.pop();
  }

  give(block: Block): void {
    if (block.exposed || block.bytes.length !== BLOCK_SIZE || this.spare.length >= this.limit) return;
    this.spare.push({ bytes: block.bytes, view: block.view });
  }
}

export class Segment {
  readonly id: number;
  version: number;
  readonly firstIndex: number;
  lastId: number;
  readonly maxEntries: number;
  readonly maxBytes: number;
  /** The file was zero-filled to `maxBytes` before taking records (segment-header.ts). */
  readonly preallocated: boolean;
  readonly fileName: string;
  file: StorageFile | undefined;
  /** A prepared zero-filled file claimed for this segment, renamed into place by createFile. */
  prepared: { name: string; file: StorageFile } | undefined;
  removed = false;
  /** Bumped on every structural change (cut, mark, removal): a rewrite in flight then aborts. */
  generation = 0;

  /** Compaction mark persisted in the header (startIndex 0 = none). */
  startIndex = 0;
  startTerm = 0;
  /** Where the log ends if it ends in a compacted gap of this (last) segment (0 = none). */
  endIndex = 0;

  /** Byte offset of each index's record (slot = index - firstIndex); 0 = no record. */
  private offsets: Uint32Array;
  private released: Uint8Array;
  releasedCount = 0;
  entryCount = 0;
  /** Highest index with a record here, or firstIndex - 1. */
  lastStored: number;
  /** Logical size: header plus records, including bytes not yet written. */
  size = SEGMENT_HEADER_SIZE;

  private blocks: Block[] = [];

  /** Bytes confirmed written to the file (a valid prefix, unless `pendingCut` is set). */
  writtenEnd = SEGMENT_HEADER_SIZE;
  /** Upper bound of what may be in the file, including a write in flight. */
  diskEnd = SEGMENT_HEADER_SIZE;
  /** Bytes known to be durable (synced). */
  syncedEnd = SEGMENT_HEADER_SIZE;
  /** The durable end recorded in the file's mark (a lower bound of `syncedEnd`). */
  watermark = SEGMENT_HEADER_SIZE;
  /** A truncation not yet applied to the file: nothing is written here until it is. */
  pendingCut: number | undefined;
  /** fdatasyncs of flushes that found new data here (preallocation's break-even, log.ts). */
  flushSyncs = 0;
  /** The last mark written says "clean" (preallocated segments: all zeros after the end). */
  markClean = false;
  /**
   * The mark on disk may still say "clean": until a dirty mark is synced, nothing may be
   * written after the durable end, or a crash could leave records past a mark that claims
   * zeros there, and the next open would not scrub them.
   */
  mayBeClean = false;

  constructor(header: SegmentHeader, fileName: string, capacityHint = 1024) {
    this.id = header.id;
    this.version = header.version;
    this.firstIndex = header.firstIndex;
    this.lastId = header.lastId;
    this.maxEntries = header.maxEntries;
    this.maxBytes = header.maxBytes;
    this.preallocated = header.preallocated;
    this.fileName = fileName;
    this.lastStored = header.firstIndex - 1;
    const capacity = Math.max(16, Math.min(capacityHint, header.maxEntries));
    this.offsets = new Uint32Array(capacity);
    this.released = new Uint8Array((capacity + 7) >>> 3);
  }

  get header(): SegmentHeader {
    return {
      id: this.id,
      version: this.version,
      firstIndex: this.firstIndex,
      lastId: this.lastId,
      maxEntries: this.maxEntries,
      maxBytes: this.maxBytes,
      preallocated: this.preallocated,
    };
  }

  mark(durableEnd = this.watermark, clean = false): SegmentMark {
    return {
      durableEnd,
      startIndex: this.startIndex,
      startTerm: this.startTerm,
      endIndex: this.endIndex,
      clean,
    };
  }

  // ---- offset index ---------------------------------------------------------------------------

  offsetOf(index: number): number {
    const slot = index - this.firstIndex;
    return slot >= 0 && slot < this.offsets.length ? this.offsets[slot]! : 0;
  }

  private ensureSlot(slot: number): void {
    if (slot < this.offsets.length) return;
    let capacity = this.offsets.length * 2;
    while (capacity <= slot) capacity *= 2;
    const offsets = new Uint32Array(capacity);
    offsets.set(this.offsets);
    this.offsets = offsets;
    const released = new Uint8Array((capacity + 7) >>> 3);
    released.set(this.released);
    this.released = released;
  }

  /** Records that `index` (above lastStored) starts at byte `offset`. */
  setOffset(index: number, offset: number): void {
    const slot = index - this.firstIndex;
    this.ensureSlot(slot);
    this.offsets[slot] = offset;
    this.lastStored = index;
    this.entryCount++;
  }

  /** Lowest stored index >= `index` and <= lastStored, or undefined. */
  nextStored(index: number): number | undefined {
    const offsets = this.offsets;
    const last = this.lastStored - this.firstIndex;
    for (let slot = Math.max(0, index - this.firstIndex); slot <= last; slot++) {
      if (offsets[slot] !== 0) return this.firstIndex + slot;
    }
    return undefined;
  }

  /** Highest stored index <= `index`, or undefined. */
  previousStored(index: number): number | undefined {
    const offsets = this.offsets;
    for (let slot = Math.min(index, this.lastStored) - this.firstIndex; slot >= 0; slot--) {
      if (offsets[slot] !== 0) return this.firstIndex + slot;
    }
    return undefined;
  }

  /** End offset of the record at (stored) `index`: where the next record starts. */
  endOf(index: number): number {
    const next = this.nextStored(index + 1);
    return next === undefined ? this.size : this.offsets[next - this.firstIndex]!;
  }

  /** Forgets every record above `index` and returns the byte offset where they began. */
  dropAfter(index: number): number {
    const kept = this.previousStored(index);
    const cut = kept === undefined ? SEGMENT_HEADER_SIZE : this.endOf(kept);
    for (let i = (kept ?? this.firstIndex - 1) + 1; i <= this.lastStored; i++) {
      const slot = i - this.firstIndex;
      if (this.offsets[slot] !== 0) {
        this.offsets[slot] = 0;
        this.entryCount--;
        if (this.isReleased(i)) this.setReleased(i, false);
      }
    }
    this.lastStored = kept ?? this.firstIndex - 1;
    this.cutBlocks(cut);
    this.size = cut;
    return cut;
  }

  // ---- released marks (volatile: the state machine marks them again on replay) ----------------

  isReleased(index: number): boolean {
    const slot = index - this.firstIndex;
    return slot >= 0 && slot < this.offsets.length && (this.released[slot >>> 3]! & (1 << (slot & 7))) !== 0;
  }

  setReleased(index: number, value: boolean): void {
    const slot = index - this.firstIndex;
    const bit = 1 << (slot & 7);
    const byte = this.released[slot >>> 3]!;
    if (value === ((byte & bit) !== 0)) return;
    this.released[slot >>> 3] = value ? byte | bit : byte & ~bit;
    this.releasedCount += value ? 1 : -1;
  }

  // ---- bytes ----------------------------------------------------------------------------------

  /** Reserves `length` bytes at the end; returns where to write them. */
  reserve(
    length: number,
    pool?: BlockPool,
  ): { bytes: Uint8Array; view: DataView; at: number; offset: number } {
    let block = this.blocks[this.blocks.length - 1];
    if (block === undefined || !block.open || block.bytes.length - block.used < length) {
      if (block !== undefined) block.open = false;
      // No bigger than the segment can grow (small segments in tests and simulations).
      const size = Math.max(length, Math.min(BLOCK_SIZE, this.maxBytes - this.size));
      const spare = size === BLOCK_SIZE ? pool?.take() : undefined;
      const bytes = spare?.bytes ?? Buffer.allocUnsafe(size);
      block = {
        start: this.size,
        bytes,
        view: spare?.view ?? new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength),
        used: 0,
        open: true,
        exposed: false,
      };
      this.blocks.push(block);
    }
    const at = block.used;
    const offset = this.size;
    block.used += length;
    this.size += length;
    return { bytes: block.bytes, view: block.view, at, offset };
  }

  private cutBlocks(cut: number): void {
    while (this.blocks.length > 0 && this.blocks[this.blocks.length - 1]!.start >= cut) this.blocks.pop();
    const last = this.blocks[this.blocks.length - 1];
    if (last !== undefined) {
      last.used = Math.min(last.used, cut - last.start);
      last.open = false;
    }
  }

  /** Bytes still in memory. */
  get cachedBytes(): number {
    let total = 0;
    for (const block of this.blocks) total += block.used;
    return total;
  }

  /** The first byte offset held in memory (= size when nothing is). */
  get cacheStart(): number {
    return this.blocks[0]?.start ?? this.size;
  }

  /**
   * Drops leading blocks that are safely in the file, until at most `budget` bytes remain.
   * Their bytes are written (so no write is in flight from them): unexposed ones go to `pool`.
   */
  trim(budget: number, pool?: BlockPool): number {
    const validEnd = Math.min(this.writtenEnd, this.pendingCut ?? Infinity);
    let cached = this.cachedBytes;
    while (this.blocks.length > 1 && cached > budget) {
      const first = this.blocks[0]!;
      if (first.start + first.used > validEnd) break;
      this.blocks.shift();
      pool?.give(first);
      cached -= first.used;
    }
    if (this.blocks.length === 1 && cached > budget) {
      const only = this.blocks[0]!;
      if (!only.open && only.start + only.used <= validEnd) {
        this.blocks.shift();
        pool?.give(only);
        cached = 0;
      }
    }
    return cached;
  }

  /** Unwritten byte ranges, as [file offset, bytes] pairs, from `writtenEnd`. */
  pendingWrite(): { position: number; bytes: Uint8Array } | undefined {
    if (this.writtenEnd >= this.size) return undefined;
    for (const block of this.blocks) {
      const end = block.start + block.used;
      if (this.writtenEnd < end && this.writtenEnd >= block.start) {
        return {
          position: this.writtenEnd,
          bytes: block.bytes.subarray(this.writtenEnd - block.start, block.used),
        };
      }
    }
    throw new StorageError(
      `segment ${this.fileName}: bytes from ${this.writtenEnd} are neither written nor in memory`,
    );
  }

  /**
   * The bytes [start, end) of the segment. `shared` is true when they are a view of memory the
   * log keeps (never modified, but not to be modified either); otherwise a fresh array read
   * from the file. `transient`: the caller drops the view before it returns (copies what it
   * keeps), so the block may later be reused.
   */
  read(start: number, end: number, transient = false): { bytes: Uint8Array; shared: boolean } {
    const first = this.blocks[0];
    if (first !== undefined && start >= first.start) {
      for (const block of this.blocks) {
        if (start >= block.start && end <= block.start + block.used) {
          if (!transient) block.exposed = true;
          return {
            bytes: new Uint8Array(
              block.bytes.buffer,
              block.bytes.byteOffset + start - block.start,
              end - start,
            ),
            shared: true,
          };
        }
      }
    }
    const out = plainView(Buffer.allocUnsafe(end - start));
    const fileEnd = Math.min(end, first?.start ?? end);
    if (start < fileEnd) {
      if (this.file === undefined) throw new StorageError(`segment ${this.fileName}: file not open`);
      const n = this.file.read(out.subarray(0, fileEnd - start), start);
      if (n !== fileEnd - start)
        throw new StorageError(
          `segment ${this.fileName}: short read at ${start} (${n} of ${fileEnd - start} bytes)`,
        );
    }
    for (const block of this.blocks) {
      const from = Math.max(start, block.start);
      const to = Math.min(end, block.start + block.used);
      if (from < to) out.set(block.bytes.subarray(from - block.start, to - block.start), from - start);
    }
    return { bytes: out, shared: false };
  }
}
