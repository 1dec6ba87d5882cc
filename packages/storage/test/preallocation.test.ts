/**
 * Preallocated segments (zero-filled to maxSegmentSize before they take appends): reopening,
 * torn tails inside the zero-filled region (bytes written by hand, as in recovery.test.ts),
 * truncation, rollover before the next file is ready, disk full, and the option turned off.
 * Entries have 30-byte payloads: each record is 64 bytes, record k starts at 96 + 64 (k - 1).
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { StorageError, noopLogger } from '@copycat/common';
import { SegmentCorruptionError, Storage, encodeEntries, resolveOptions, type Log } from '@copycat/storage';
import { SegmentedLog, type LogConfig } from '../src/log.js';
import { MemoryDirectory } from '../src/memory-directory.js';
import {
  cleanupDirs,
  entries,
  entry,
  list,
  offsetOf,
  readBytes,
  RECORD,
  recordingLogger,
  tempDir,
  writeBytes,
} from './helpers.js';

afterEach(cleanupDirs);

const SEGMENT = 64 * 1024;

function open(directory: string, logger = recordingLogger(), preallocate = true) {
  return new Storage({ directory, logger, maxSegmentSize: SEGMENT, preallocate });
}

async function reopen(directory: string) {
  const logger = recordingLogger();
  const storage = open(directory, logger);
  return { storage, logger, log: await storage.openLog('raft') };
}

/** A closed log of 1500 entries over several segments: its directory, first segment and file. */
async function sealedFirstSegment() {
  const dir = tempDir();
  const storage = open(dir);
  const log = await storage.openLog('raft');
  log.append(list(1, 1500));
  await log.flush();
  const segments = log.segments();
  expect(segments.length).toBeGreaterThan(1);
  await storage.close();
  const first = segments[0]!;
  return { dir, first, firstFile: path.join(dir, `raft-${first.id}-1.log`) };
}

const warnings = (logger: ReturnType<typeof recordingLogger>) =>
  logger.lines.filter((l) => l.level === 'warn');

/** The header's flags word: bit 0 = preallocated. */
function headerFlags(file: string): number {
  const bytes = Buffer.alloc(4);
  const fd = fs.openSync(file, 'r');
  fs.readSync(fd, bytes, 0, 4, 28);
  fs.closeSync(fd);
  return bytes.readUInt32BE(0);
}

function flipByte(file: string, offset: number): void {
  const byte = readBytes(file, offset, offset + 1);
  writeBytes(file, Buffer.from([byte[0]! ^ 0x5a]), offset);
}

const isZero = (bytes: Uint8Array) => bytes.every((b) => b === 0);

/** A preallocating log of 4 KiB segments, for a MemoryDirectory with faults injected. */
function memoryConfig(logger: LogConfig['logger']): LogConfig {
  return {
    maxSegmentSize: 4096,
    maxEntriesPerSegment: 1 << 20,
    fsync: true,
    cacheSize: 0,
    logger,
    preallocate: true,
  };
}

/** Waits (up to 5 s) until the log's next rollover will get a prepared file. */
async function preparationReady(log: Log): Promise<boolean> {
  const internal = log as Log & SegmentedLog;
  for (let i = 0; i < 500 && !internal.preallocationReady; i++) await new Promise((r) => setTimeout(r, 10));
  return internal.preallocationReady;
}

/** Entries 1..5 closed cleanly, then 6..10 flushed and a kill -9 (the durable end says 5). */
async function crashedAfterTen(): Promise<{ dir: string; file: string }> {
  const dir = tempDir();
  const first = open(dir);
  (await first.openLog('raft')).append(list(1, 5));
  await first.close();
  const second = open(dir);
  const log = await second.openLog('raft');
  log.append(list(6, 10));
  await log.flush();
  await second.crash();
  return { dir, file: path.join(dir, 'raft-1-1.log') };
}

describe('preallocated segments', () => {
  it('take their full size at creation and reopen with the same entries, without a warning', async () => {
    const dir = tempDir();
    const logger = recordingLogger();
    const storage = open(dir, logger);
    const log = await storage.openLog('raft');
    const file = path.join(dir, 'raft-1-1.log');
    expect(fs.statSync(file).size).toBe(SEGMENT);
    expect(headerFlags(file)).toBe(1);
    log.append(list(1, 10));
    await storage.close();
    expect(fs.statSync(file).size).toBe(SEGMENT);
    // The file prepared for the next segment goes with the close.
    expect(fs.readdirSync(dir).filter((f) => f.endsWith('.tmp'))).toEqual([]);

    const again = await reopen(dir);
    expect(again.log.getRange(1, 10)).toEqual(list(1, 10));
    expect(again.log.lastIndex).toBe(10);
    // After a kill -9 too, the zero tail is the normal end.
    again.log.append(list(11, 20));
    await again.log.flush();
    await again.storage.crash();
    const third = await reopen(dir);
    expect(third.log.getRange(1, 30)).toEqual(list(1, 20));
    expect(fs.statSync(file).size).toBe(SEGMENT);
    await third.storage.close();
    expect(
      [...logger.lines, ...again.logger.lines, ...third.logger.lines].filter((l) => l.level === 'warn'),
    ).toEqual([]);
  });

  it('a torn record is cut and the bytes after it zeroed, so later appends read back right', async () => {
    const { dir, file } = await crashedAfterTen();
    flipByte(file, offsetOf(10) + 40);
    // A stale record further on that would continue the log read after entries 10'..11' of
    // term 2, if the cut left it there: index 13, term 2, exactly where 12' would start.
    writeBytes(file, encodeEntries([entry(13, 2, { size: 30 })]), offsetOf(12));
    const first = await reopen(dir);
    expect(first.log.lastIndex).toBe(9);
    expect(first.logger.lines).toContainEqual(
      expect.objectContaining({
        level: 'warn',
        message: 'truncating torn tail of the log',
        // From the torn record to the end of the stale one: what was not zero.
        fields: expect.objectContaining({
          offset: offsetOf(10),
          bytes: offsetOf(13) - offsetOf(10),
          reason: 'checksum mismatch',
        }),
      }),
    );
    expect(fs.statSync(file).size).toBe(SEGMENT);
    expect(isZero(readBytes(file, offsetOf(10), offsetOf(14)))).toBe(true);
    first.log.append(list(10, 11, 2));
    await first.log.flush();
    await first.storage.crash();

    const second = await reopen(dir);
    expect(second.log.lastIndex).toBe(11);
    expect(second.log.getRange(1, 20)).toEqual([...list(1, 9), ...list(10, 11, 2)]);
    expect(second.log.get(13)).toBeUndefined();
    expect(warnings(second.logger)).toEqual([]);
    await second.storage.close();
  });

  it('records after a zeroed hole (pages that never reached the disk) are scrubbed', async () => {
    const { dir, file } = await crashedAfterTen();
    writeBytes(file, new Uint8Array(RECORD), offsetOf(8));
    const first = await reopen(dir);
    expect(first.log.lastIndex).toBe(7);
    expect(first.logger.lines).toContainEqual(
      expect.objectContaining({
        level: 'warn',
        fields: expect.objectContaining({ offset: offsetOf(8), reason: 'records after a zeroed gap' }),
      }),
    );
    expect(isZero(readBytes(file, offsetOf(8), offsetOf(12)))).toBe(true);
    first.log.append(list(8, 8, 2));
    await first.storage.close();
    const second = await reopen(dir);
    expect(second.log.getRange(1, 20)).toEqual([...list(1, 7), ...list(8, 8, 2)]);
    expect(warnings(second.logger)).toEqual([]);
    await second.storage.close();
  });

  it('zeros before the durable end are corruption, not the end of the log', async () => {
    const dir = tempDir();
    const storage = open(dir);
    (await storage.openLog('raft')).append(list(1, 10));
    await storage.close();
    const file = path.join(dir, 'raft-1-1.log');
    writeBytes(file, new Uint8Array(RECORD), offsetOf(5));
    const error = await reopen(dir).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SegmentCorruptionError);
    expect((error as SegmentCorruptionError).message).toMatch(/invalid length 0 before the durable end/);
  });

  it('a truncation zeroes the records it cuts and keeps the file size', async () => {
    const dir = tempDir();
    const storage = open(dir);
    const log = await storage.openLog('raft');
    log.append(list(1, 20));
    await log.flush();
    log.truncate(10);
    log.append(list(11, 12, 2));
    await log.flush();
    const file = path.join(dir, 'raft-1-1.log');
    expect(fs.statSync(file).size).toBe(SEGMENT);
    expect(isZero(readBytes(file, offsetOf(13), offsetOf(21)))).toBe(true);
    await storage.crash();
    const again = await reopen(dir);
    expect(again.log.getRange(1, 30)).toEqual([...list(1, 10), ...list(11, 12, 2)]);
    expect(warnings(again.logger)).toEqual([]);
    await again.storage.close();
  });

  it('a rollover before the next file is prepared gets a growing file, later ones preallocated files', async () => {
    const dir = tempDir();
    const storage = open(dir);
    const log = (await storage.openLog('raft')) as Log & SegmentedLog;
    // Synchronously after open: the background preparation cannot be done yet.
    expect(log.preallocationReady).toBe(false);
    log.append(list(1, 1500));
    await log.flush();
    const [first, second] = log.segments();
    expect(second).toBeDefined();
    const secondFile = path.join(dir, `raft-${second!.id}-1.log`);
    const firstFile = path.join(dir, `raft-${first!.id}-1.log`);
    expect(headerFlags(firstFile)).toBe(1);
    // Sealed, it gave back the zeros it did not use.
    expect(fs.statSync(firstFile).size).toBe(first!.bytes);
    expect(headerFlags(secondFile)).toBe(0);
    expect(fs.statSync(secondFile).size).toBe(second!.bytes);

    expect(await preparationReady(log)).toBe(true);
    log.append(list(1501, 3000));
    await log.flush();
    const third = log.segments()[2]!;
    const thirdFile = path.join(dir, `raft-${third.id}-1.log`);
    expect(headerFlags(thirdFile)).toBe(1);
    expect(fs.statSync(thirdFile).size).toBe(SEGMENT);
    await storage.close();

    const again = await reopen(dir);
    expect(again.log.lastIndex).toBe(3000);
    expect(again.log.getRange(1, 3000)).toEqual(list(1, 3000));
    expect(warnings(again.logger)).toEqual([]);
    await again.storage.close();
  });

  it('a sealed segment that kept its zeros (a crash before the cut) gives them back on open', async () => {
    const { dir, first, firstFile } = await sealedFirstSegment();
    expect(fs.statSync(firstFile).size).toBe(first.bytes);
    // The state a kill -9 between the seal's mark and its cut leaves: the full preallocated size.
    fs.truncateSync(firstFile, SEGMENT);
    const again = await reopen(dir);
    expect(fs.statSync(firstFile).size).toBe(first.bytes);
    expect(again.log.getRange(1, 1500)).toEqual(list(1, 1500));
    expect(warnings(again.logger)).toEqual([]);
    await again.storage.close();
  });

  it('a sealed segment with records after a zeroed length field is corruption, readable mark or not', async () => {
    const { dir, firstFile } = await sealedFirstSegment();
    const refuses = async () => {
      const refused = open(dir);
      await expect(refused.openLog('raft')).rejects.toThrow(SegmentCorruptionError);
      await refused.close();
    };
    writeBytes(firstFile, new Uint8Array(4), offsetOf(500));
    await refuses();
    // Also when the mark (the durable end) is unreadable, and at full size (a crash before the cut).
    flipByte(firstFile, 64);
    await refuses();
    fs.truncateSync(firstFile, SEGMENT);
    await refuses();
    // The file keeps every byte, for repair.
    expect(readBytes(firstFile, offsetOf(501), offsetOf(502))).toEqual(
      Buffer.from(encodeEntries(list(501, 501))).subarray(0, RECORD),
    );
  });

  it('a sealed segment with zeros after its records is corruption when its mark cannot vouch for them', async () => {
    const { dir, first, firstFile } = await sealedFirstSegment();
    const refuses = async (size: number) => {
      const refused = open(dir);
      await expect(refused.openLog('raft')).rejects.toThrow(SegmentCorruptionError);
      await refused.close();
      // Refused means untouched: the file keeps every byte, for repair.
      expect(fs.statSync(firstFile).size).toBe(size);
    };
    // Full size with only zeros after the records, but the mark is unreadable: the zeros could
    // as well be a lost page of records, which only the mark's durable end tells apart.
    fs.truncateSync(firstFile, SEGMENT);
    flipByte(firstFile, 64);
    await refuses(SEGMENT);
    // Records zeroed to the end of the file: with the mark unreadable, as above...
    writeBytes(firstFile, new Uint8Array(first.bytes - offsetOf(1000)), offsetOf(1000));
    await refuses(SEGMENT);
    // ... and with it readable, whose durable end lies past where the records now stop.
    flipByte(firstFile, 64);
    await refuses(SEGMENT);
  });

  it('a sealed segment with a nonzero byte anywhere after its records is corruption', async () => {
    const { dir, first, firstFile } = await sealedFirstSegment();
    // Longer than one scrub block (1 MiB), one stray byte at the very end.
    const size = (1 << 20) + 4096;
    fs.truncateSync(firstFile, size);
    writeBytes(firstFile, Buffer.from([7]), size - 1);
    const refused = open(dir);
    await expect(refused.openLog('raft')).rejects.toThrow(/offset 1052671 after them is not zero/);
    await refused.close();
    expect(fs.statSync(firstFile).size).toBe(size);
    // Zeroed again, it opens and gives the room back.
    writeBytes(firstFile, new Uint8Array(1), size - 1);
    const again = await reopen(dir);
    expect(fs.statSync(firstFile).size).toBe(first.bytes);
    expect(again.log.getRange(1, 1500)).toEqual(list(1, 1500));
    await again.storage.close();
  });

  it('large flushes stop the preparation: its zeros would cost more than they save', async () => {
    const dir = tempDir();
    const storage = new Storage({ directory: dir, maxSegmentSize: 1 << 20 });
    const log = await storage.openLog('raft');
    expect(await preparationReady(log)).toBe(true);
    // 1 KiB entries, 256 per flush: 270 KB flushes, beyond the break-even.
    for (let next = 1; next <= 4096; next += 256) {
      log.append(entries(next, next + 255, 1, 1024));
      await log.flush();
    }
    const flags = log.segments().map((s) => headerFlags(path.join(dir, `raft-${s.id}-1.log`)));
    // The first (at open) and the one prepared at open; the rest grow.
    expect(flags.length).toBeGreaterThan(3);
    expect(flags).toEqual([1, 1, ...flags.slice(2).map(() => 0)]);
    expect(fs.readdirSync(dir).filter((f) => f.includes('prealloc'))).toEqual([]);
    await storage.close();
  });

  it('segments that maxEntriesPerSegment closes while small stop the preparation', async () => {
    const dir = tempDir();
    const storage = new Storage({ directory: dir, maxSegmentSize: SEGMENT, maxEntriesPerSegment: 100 });
    const log = await storage.openLog('raft');
    expect(await preparationReady(log)).toBe(true);
    // 100 records of 64 bytes fill a tenth of a segment: a full-size file each would be mostly zeros.
    for (let next = 1; next <= 1000; next += 10) {
      log.append(list(next, next + 9));
      await log.flush();
    }
    const flags = log.segments().map((s) => headerFlags(path.join(dir, `raft-${s.id}-1.log`)));
    expect(flags).toHaveLength(10);
    // The first (at open) and the one prepared at open; the rest grow.
    expect(flags).toEqual([1, 1, 0, 0, 0, 0, 0, 0, 0, 0]);
    expect(fs.readdirSync(dir).filter((f) => f.includes('prealloc'))).toEqual([]);
    await storage.close();
    const again = await reopen(dir);
    expect(again.log.getRange(1, 1000)).toEqual(list(1, 1000));
    await again.storage.close();
  });

  it('a small segment closed by an entry that does not fit keeps the preparation going', async () => {
    const dir = tempDir();
    const storage = open(dir);
    const log = await storage.openLog('raft');
    expect(await preparationReady(log)).toBe(true);
    log.append(list(1, 10));
    await log.flush();
    // Too big for what is left of the first segment: it takes the prepared file, and the next
    // preparation starts, though the segment it closed holds 736 bytes.
    log.append(entries(11, 11, 1, SEGMENT - 96 - 34 - 100));
    await log.flush();
    expect(log.segments()).toHaveLength(2);
    expect(await preparationReady(log)).toBe(true);
    await storage.close();
  });

  it('disk full while preparing is logged and the segments grow as before', async () => {
    const directory = new MemoryDirectory();
    directory.beforeWrite = (name) => {
      if (name.includes('prealloc')) throw new StorageError(`write ${name} failed: disk full (ENOSPC)`);
    };
    const logger = recordingLogger();
    const config = memoryConfig(logger);
    const log = await SegmentedLog.open(directory, 'raft', config);
    log.append(list(1, 300));
    await log.flush();
    expect(log.segments().length).toBeGreaterThan(3);
    expect(logger.lines).toContainEqual(
      expect.objectContaining({
        level: 'warn',
        message: 'could not preallocate the next segment; it will grow as it is written',
      }),
    );
    await log.close();
    expect((await directory.list()).filter((f) => f.includes('prealloc'))).toEqual([]);
    directory.beforeWrite = undefined;
    const again = await SegmentedLog.open(directory, 'raft', { ...config, logger: noopLogger });
    expect(again.getRange(1, 300)).toEqual(list(1, 300));
    await again.close();
  });

  it('segments written without preallocation still open, and new ones are preallocated', async () => {
    const dir = tempDir();
    const old = open(dir, recordingLogger(), false);
    (await old.openLog('raft')).append(list(1, 1200));
    await old.close();
    const oldFile = path.join(dir, 'raft-2-1.log');
    expect(headerFlags(oldFile)).toBe(0);
    const size = fs.statSync(oldFile).size;

    const { storage, log, logger } = await reopen(dir);
    expect(log.getRange(1, 1200)).toEqual(list(1, 1200));
    expect(await preparationReady(log)).toBe(true);
    log.append(list(1201, 2500));
    await storage.close();
    expect(fs.statSync(oldFile).size).toBeGreaterThan(size); // it grew, as before
    const newest = fs
      .readdirSync(dir)
      .filter((f) => f.endsWith('.log'))
      .sort((a, b) => Number(a.split('-')[1]) - Number(b.split('-')[1]))
      .pop()!;
    expect(headerFlags(path.join(dir, newest))).toBe(1);
    expect(warnings(logger)).toEqual([]);
    const again = await reopen(dir);
    expect(again.log.getRange(1, 2500)).toEqual(list(1, 2500));
    await again.storage.close();
  });

  it('with the option off, files grow as they are written and nothing is prepared', async () => {
    const dir = tempDir();
    const storage = open(dir, recordingLogger(), false);
    const log = await storage.openLog('raft');
    log.append(list(1, 10));
    await log.flush();
    const file = path.join(dir, 'raft-1-1.log');
    expect(fs.statSync(file).size).toBe(offsetOf(11));
    expect(headerFlags(file)).toBe(0);
    expect(fs.readdirSync(dir).filter((f) => f.includes('prealloc'))).toEqual([]);
    await storage.close();
    expect(fs.statSync(file).size).toBe(offsetOf(11));
  });

  it('is on by default for the disk level, off for the memory level', () => {
    expect(resolveOptions({ directory: '/tmp/x' }).preallocate).toBe(true);
    expect(resolveOptions({ level: 'memory', preallocate: true }).preallocate).toBe(false);
    expect(() => resolveOptions({ directory: '/tmp/x', preallocate: 'yes' as never })).toThrow(
      /preallocate must be a boolean/,
    );
  });
});
