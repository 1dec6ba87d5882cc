/**
 * Edge cases of preallocated segments found by a review (each failed before its fix): the clean
 * bit of a mark read only in preallocated segments, the clean bit cleared before a scrub, no
 * prepared file left behind. The expected behaviour is what the README's contract promises.
 * Entries have 30-byte payloads: each record is 64 bytes, record k starts at 96 + 64 (k - 1).
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { StorageError, noopLogger } from '@copycat/common';
import { SegmentCorruptionError, Storage, encodeEntries } from '@copycat/storage';
import { SegmentedLog, type LogConfig } from '../src/log.js';
import { MemoryDirectory } from '../src/memory-directory.js';
import { decodeMark, encodeHeader, MARK_OFFSET } from '../src/segment-header.js';
import {
  cleanupDirs,
  entry,
  HEADER,
  list,
  offsetOf,
  RECORD,
  recordingLogger,
  tempDir,
  writeBytes,
} from './helpers.js';

afterEach(cleanupDirs);

const SEGMENT = 64 * 1024;

/**
 * A preallocated log closed cleanly after entries 1..5, then a tail that is not zero although
 * the mark says clean (a bit flip, a bug, or the unfinished scrub of an earlier open): a torn
 * record at 6, a stale valid one at 9.
 */
async function cleanMarkOverDirtyTail(): Promise<{ directory: MemoryDirectory; config: LogConfig }> {
  const directory = new MemoryDirectory();
  const config: LogConfig = {
    maxSegmentSize: 8192,
    maxEntriesPerSegment: 1 << 20,
    fsync: true,
    cacheSize: 0,
    logger: noopLogger,
    preallocate: true,
  };
  const first = await SegmentedLog.open(directory, 'raft', config);
  first.append(list(1, 5));
  await first.close();
  expect(markSaysClean(directory.bytes('raft-1-1.log')!)).toBe(true);
  const file = await directory.open('raft-1-1.log');
  const torn = encodeEntries([entry(6, 1, { size: 30 })]);
  torn[40]! ^= 0x5a;
  await file.write(torn, offsetOf(6));
  await file.write(encodeEntries([entry(9, 1, { size: 30, flags: 1 })]), offsetOf(9));
  await file.sync();
  return { directory, config };
}

function open(directory: string, logger = recordingLogger()) {
  return new Storage({ directory, logger, maxSegmentSize: SEGMENT, preallocate: true });
}

/** Bit 31 of the durable-end word of the segment's mark ("clean"). */
const markSaysClean = (bytes: Uint8Array) => (bytes[MARK_OFFSET]! & 0x80) !== 0;

describe('preallocation edge cases', () => {
  // ---- Finding 1: bit 31 of the durable end is taken as "clean" in every segment ----------------

  it('F1a: a durable end of 2 GiB or more round-trips for a segment that is not preallocated', () => {
    // Merged segments may be up to MAX_FILE_OFFSET = 0xffffffff bytes (log.ts), so before this
    // commit the whole u32 was the durable end. Bit 31 is now read as "clean" in any segment.
    const header = {
      id: 1,
      version: 2,
      firstIndex: 1,
      lastId: 3,
      maxEntries: 1 << 20,
      maxBytes: 0xc0000000,
      preallocated: false,
    };
    const mark = { durableEnd: 0xc0000000, startIndex: 0, startTerm: 0, endIndex: 0 };
    const decoded = decodeMark(encodeHeader(header, mark), false);
    expect(decoded?.durableEnd).toBe(0xc0000000);
  });

  it('F1b: a bad record before a >2 GiB durable end is corruption, not a torn tail silently cut', async () => {
    // A (merged, not preallocated) last segment whose mark says 2 GiB + 160 bytes are durable:
    // a bad record at 160 lies before the durable end. The new decoder reads 160 (bit 31 taken
    // as "clean"), calls it a torn write and cuts the 2 GiB file down to 160 bytes.
    const dir = tempDir();
    const file = path.join(dir, 'raft-1-2.log');
    const durableEnd = 0x80000000 + offsetOf(2);
    const header = encodeHeader(
      {
        id: 1,
        version: 2,
        firstIndex: 1,
        lastId: 1,
        maxEntries: 1 << 20,
        maxBytes: 0xc0000000,
        preallocated: false,
      },
      { durableEnd, startIndex: 0, startTerm: 0, endIndex: 0 },
    );
    fs.writeFileSync(file, header);
    const records = encodeEntries(list(1, 3));
    records[RECORD + 40]! ^= 0x5a; // record 2 rots
    writeBytes(file, records, HEADER);
    fs.truncateSync(file, durableEnd + 4096); // sparse: costs no disk
    const storage = open(dir);
    const error = await storage.openLog('raft').catch((e: unknown) => e);
    await storage.close();
    expect(fs.statSync(file).size).toBe(durableEnd + 4096);
    expect(error).toBeInstanceOf(SegmentCorruptionError);
  });

  // ---- Finding 2: the tail scrub runs while the mark still says "clean" --------------------------

  it('F2a: the clean bit is cleared (synced) before the open scrubs a tail it claimed was zero', async () => {
    const { directory, config } = await cleanMarkOverDirtyTail();
    // Record the mark's state at every write the open makes to the segment (the scrub's).
    const cleanAtWrite: boolean[] = [];
    directory.beforeWrite = (name, length) => {
      // The scrub's writes (not the 32-byte rewrite of the mark itself).
      if (name === 'raft-1-1.log' && length !== 32) cleanAtWrite.push(markSaysClean(directory.bytes(name)!));
    };
    const again = await SegmentedLog.open(directory, 'raft', config);
    directory.beforeWrite = undefined;
    expect(again.lastIndex).toBe(5);
    expect(cleanAtWrite.length).toBeGreaterThan(0);
    // The scrub's zeros go out page by page in any order: while they do, the mark must not
    // tell the next open to trust the tail. (A crash here leaves zeros at 6 and record 9.)
    expect(cleanAtWrite.every((clean) => !clean)).toBe(true);
    await again.close();
  });

  it('F2b: a crash in the middle of that scrub leaves a tail the next open scrubs again', async () => {
    const { directory, config } = await cleanMarkOverDirtyTail();
    // Power fails right after the mark is unclaimed and synced, before any zero is written.
    let writes = 0;
    directory.beforeWrite = (name, length) => {
      if (name === 'raft-1-1.log' && length !== 32 && ++writes === 1) directory.crash('power');
    };
    await expect(SegmentedLog.open(directory, 'raft', config)).rejects.toThrow();
    directory.beforeWrite = undefined;
    // The next open must not trust the tail: it scrubs, and entry 9 never comes back.
    const second = await SegmentedLog.open(directory, 'raft', config);
    expect(second.lastIndex).toBe(5);
    second.append(list(6, 8));
    await second.flush();
    directory.crash('power');
    const third = await SegmentedLog.open(directory, 'raft', config);
    expect(third.get(9)).toBeUndefined();
    expect(third.lastIndex).toBe(8);
    await third.close();
  });

  // ---- Finding 3: a prepared file that failed to be placed is left behind by close() -----------

  it('F3: close() deletes a prepared file whose rename into place failed', async () => {
    class RenameFails extends MemoryDirectory {
      override async rename(from: string, to: string): Promise<void> {
        if (from.includes('prealloc') && !to.endsWith('-1-1.log'))
          throw new StorageError(`rename ${from} failed: EIO`);
        return super.rename(from, to);
      }
    }
    const directory = new RenameFails();
    const config: LogConfig = {
      maxSegmentSize: 4096,
      maxEntriesPerSegment: 1 << 20,
      fsync: true,
      cacheSize: 0,
      logger: noopLogger,
      preallocate: true,
    };
    const log = await SegmentedLog.open(directory, 'raft', config);
    // Let the background preparation of the next segment finish.
    for (let i = 0; i < 200 && !log.preallocationReady; i++) await new Promise((r) => setTimeout(r, 5));
    expect(log.preallocationReady).toBe(true);
    log.append(list(1, 100)); // rolls over onto the prepared file
    const flushed = await log.flush().catch((e: unknown) => e);
    expect(flushed).toBeInstanceOf(StorageError);
    await log.close().catch(() => {});
    // README: "Storage.close() deletes the prepared file".
    expect((await directory.list()).filter((f) => f.includes('prealloc'))).toEqual([]);
  });
});
