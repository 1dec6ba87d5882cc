/**
 * Opening a log after a crash or after damage, with every case made by writing bytes into the
 * segment files. Entries have 30-byte payloads, so each record is 64 bytes and record k (from
 * 1) of a segment starts at byte 96 + 64 (k - 1).
 *
 * These run with `preallocate: false`: files that grow as they are written, as every segment
 * was before preallocation (so they also show such files still open as before). Preallocated
 * segments have their own tests in preallocation.test.ts.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { isCopycatError } from '@copycat/common';
import { SegmentCorruptionError, Storage, decodeRecords, type Log } from '@copycat/storage';
import { cleanupDirs, list, offsetOf, recordingLogger, tempDir } from './helpers.js';

afterEach(cleanupDirs);

function storageAt(directory: string, logger = recordingLogger(), maxSegmentSize = 32 * 1024 * 1024) {
  return { storage: new Storage({ directory, logger, maxSegmentSize, preallocate: false }), logger };
}

/**
 * Entries 1..5 flushed and closed cleanly (the header records them durable), then 6..10
 * appended and flushed, then the process "crashes": the header's durable end still says 5.
 */
async function crashedAfterTen(): Promise<{ dir: string; file: string }> {
  const dir = tempDir();
  const first = storageAt(dir).storage;
  const log = await first.openLog('raft');
  log.append(list(1, 5));
  await first.close();
  const second = storageAt(dir).storage;
  const again = await second.openLog('raft');
  again.append(list(6, 10));
  await again.flush();
  await second.crash();
  return { dir, file: path.join(dir, 'raft-1-1.log') };
}

function flipByte(file: string, offset: number): void {
  const fd = fs.openSync(file, 'r+');
  const byte = Buffer.alloc(1);
  fs.readSync(fd, byte, 0, 1, offset);
  byte[0] = byte[0]! ^ 0x5a;
  fs.writeSync(fd, byte, 0, 1, offset);
  fs.closeSync(fd);
}

async function reopen(
  dir: string,
  logger = recordingLogger(),
): Promise<{ log: Log; storage: Storage; logger: ReturnType<typeof recordingLogger> }> {
  const storage = storageAt(dir, logger).storage;
  return { log: await storage.openLog('raft'), storage, logger };
}

describe('torn tails are cut off on open and logged', () => {
  it('a partial last entry', async () => {
    const { dir, file } = await crashedAfterTen();
    fs.truncateSync(file, offsetOf(11) - 10);
    const { log, storage, logger } = await reopen(dir);
    expect(log.lastIndex).toBe(9);
    expect(log.getRange(1, 10)).toEqual(list(1, 9));
    expect(logger.lines).toContainEqual(
      expect.objectContaining({
        level: 'warn',
        message: 'truncating torn tail of the log',
        fields: expect.objectContaining({ offset: offsetOf(10) }),
      }),
    );
    expect(fs.statSync(file).size).toBe(offsetOf(10));
    // The log goes on from there, and what it appends is durable.
    log.append(list(10, 12, 2));
    await storage.close();
    const after = await reopen(dir);
    expect(after.log.getRange(1, 20)).toEqual([...list(1, 9), ...list(10, 12, 2)]);
    expect(after.logger.lines.filter((l) => l.level === 'warn')).toEqual([]);
    await after.storage.close();
  });

  it('a zeroed tail (the file grew but the data never landed)', async () => {
    const { dir, file } = await crashedAfterTen();
    fs.appendFileSync(file, new Uint8Array(4096));
    const { log, storage, logger } = await reopen(dir);
    expect(log.lastIndex).toBe(10);
    expect(logger.lines).toContainEqual(
      expect.objectContaining({
        level: 'warn',
        fields: expect.objectContaining({ offset: offsetOf(11), reason: 'invalid length 0' }),
      }),
    );
    expect(fs.statSync(file).size).toBe(offsetOf(11));
    await storage.close();
  });

  it('a bad checksum in the last entry', async () => {
    const { dir, file } = await crashedAfterTen();
    flipByte(file, offsetOf(10) + 40);
    const { log, storage, logger } = await reopen(dir);
    expect(log.lastIndex).toBe(9);
    expect(logger.lines).toContainEqual(
      expect.objectContaining({
        level: 'warn',
        fields: expect.objectContaining({ offset: offsetOf(10), reason: 'checksum mismatch' }),
      }),
    );
    await storage.close();
  });

  it('a half-written length field followed by garbage', async () => {
    const { dir, file } = await crashedAfterTen();
    fs.appendFileSync(file, Buffer.from([0x00, 0x00, 0xff, 0xff, 1, 2, 3]));
    const { log, storage } = await reopen(dir);
    expect(log.lastIndex).toBe(10);
    expect(fs.statSync(file).size).toBe(offsetOf(11));
    await storage.close();
  });

  it('anything after the durable end: the first bad record ends the log', async () => {
    // Entry 7 is after the recorded durable end (5): a crash can leave a hole there when the
    // OS wrote later pages first, so it is a torn tail, not corruption.
    const { dir, file } = await crashedAfterTen();
    flipByte(file, offsetOf(7) + 50);
    const { log, storage } = await reopen(dir);
    expect(log.lastIndex).toBe(6);
    await storage.close();
  });
});

describe('corruption is reported, never silently dropped', () => {
  it('a bad entry before the durable end raises STORAGE_CORRUPTION with file and offset', async () => {
    const { dir, file } = await crashedAfterTen();
    flipByte(file, offsetOf(3) + 40);
    const error: unknown = await reopen(dir).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SegmentCorruptionError);
    expect(isCopycatError(error, 'STORAGE_CORRUPTION')).toBe(true);
    const corruption = error as SegmentCorruptionError;
    expect(corruption.file).toBe(file);
    expect(corruption.offset).toBe(offsetOf(3));
    expect(corruption.message).toMatch(/checksum mismatch before the durable end/);
    // The file was left alone.
    expect(fs.statSync(file).size).toBe(offsetOf(11));
  });

  it('after a clean close, even the last entry is covered', async () => {
    const dir = tempDir();
    const { storage } = storageAt(dir);
    (await storage.openLog('raft')).append(list(1, 10));
    await storage.close();
    const file = path.join(dir, 'raft-1-1.log');
    flipByte(file, offsetOf(10) + 40);
    await expect(reopen(dir)).rejects.toThrow(SegmentCorruptionError);
  });

  it('a file shorter than its durable end', async () => {
    const dir = tempDir();
    const { storage } = storageAt(dir);
    (await storage.openLog('raft')).append(list(1, 10));
    await storage.close();
    const file = path.join(dir, 'raft-1-1.log');
    fs.truncateSync(file, offsetOf(10));
    await expect(reopen(dir)).rejects.toThrow(/file is 672 bytes but 736 bytes were made durable/);
  });

  it('any bad record in a sealed segment, even its last one', async () => {
    const dir = tempDir();
    const { storage } = storageAt(dir, recordingLogger(), 1024);
    const log = await storage.openLog('raft');
    log.append(list(1, 40));
    const sealed = log.segments()[0]!;
    await storage.close();
    const file = path.join(dir, `raft-${sealed.id}-1.log`);
    flipByte(file, offsetOf(sealed.entries) + 40);
    await expect(reopen(dir)).rejects.toThrow(/in a sealed segment/);
  });

  it('a sealed segment that lost its tail', async () => {
    const dir = tempDir();
    const { storage } = storageAt(dir, recordingLogger(), 1024);
    const log = await storage.openLog('raft');
    log.append(list(1, 40));
    const sealed = log.segments()[0]!;
    await storage.close();
    fs.truncateSync(path.join(dir, `raft-${sealed.id}-1.log`), offsetOf(sealed.entries));
    await expect(reopen(dir)).rejects.toThrow(SegmentCorruptionError);
  });

  it('a damaged segment header', async () => {
    const { dir, file } = await crashedAfterTen();
    flipByte(file, 33);
    const error = (await reopen(dir).catch((e: unknown) => e)) as SegmentCorruptionError;
    expect(error).toBeInstanceOf(SegmentCorruptionError);
    expect(error.offset).toBe(0);
    expect(error.message).toMatch(/header checksum mismatch/);
  });

  it('a record that rots after the log was opened is reported when read', async () => {
    const dir = tempDir();
    const first = new Storage({ directory: dir });
    (await first.openLog('raft')).append(list(1, 10));
    await first.close();
    // Reopened: nothing is cached, so reads go to the file.
    const storage = new Storage({ directory: dir });
    const log = await storage.openLog('raft');
    flipByte(path.join(dir, 'raft-1-1.log'), offsetOf(4) + 40);
    expect(log.get(3)).toEqual(list(3, 3)[0]);
    expect(() => log.get(4)).toThrow(SegmentCorruptionError);
    expect(() => log.getRange(1, 10)).toThrow(/offset 288: checksum mismatch/);
    // getRecords hands bytes to a follower, which checks them: a rotten record never gets in.
    expect(() => decodeRecords(log.getRecords(1, 1 << 20).bytes)).toThrow(/offset 192: checksum mismatch/); // offsets within the batch
    await storage.crash();
  });
});

describe('leftovers of interrupted operations are finished on open', () => {
  it('removes unfinished segment files', async () => {
    const { dir } = await crashedAfterTen();
    fs.writeFileSync(path.join(dir, 'raft-2-1.log.tmp'), new Uint8Array(50));
    const { log, storage, logger } = await reopen(dir);
    expect(log.lastIndex).toBe(10);
    expect(fs.existsSync(path.join(dir, 'raft-2-1.log.tmp'))).toBe(false);
    expect(logger.lines.map((l) => l.message)).toContain('removing unfinished segment file');
    await storage.close();
  });

  it('a rewrite that crashed before deleting the old version', async () => {
    const dir = tempDir();
    const { storage } = storageAt(dir, recordingLogger(), 1024);
    const log = await storage.openLog('raft');
    log.append(list(1, 40));
    for (let i = 2; i <= 40; i += 2) log.release(i);
    const first = log.segments()[0]!;
    await log.flush();
    const old = fs.readFileSync(path.join(dir, 'raft-1-1.log'));
    await log.rewrite(first.id);
    await storage.close();
    fs.writeFileSync(path.join(dir, 'raft-1-1.log'), old);
    const again = await reopen(dir);
    expect(fs.existsSync(path.join(dir, 'raft-1-1.log'))).toBe(false);
    expect(again.log.segments()[0]).toMatchObject({ id: 1, version: 2 });
    expect(again.log.get(2)).toBeUndefined();
    expect(again.log.get(1)).toEqual(list(1, 1)[0]);
    await again.storage.close();
  });

  it('a merge that crashed before deleting the segments it replaced', async () => {
    const dir = tempDir();
    const { storage } = storageAt(dir, recordingLogger(), 1024);
    const log = await storage.openLog('raft');
    log.append(list(1, 60));
    await log.flush();
    const segments = log.segments();
    const saved = segments.slice(0, 3).map((s) => ({
      name: `raft-${s.id}-${s.version}.log`,
      bytes: fs.readFileSync(path.join(dir, `raft-${s.id}-${s.version}.log`)),
    }));
    for (let i = 1; i <= segments[2]!.lastIndex; i += 3) log.release(i + 1);
    await log.merge(segments.slice(0, 3).map((s) => s.id));
    const expected = log.getRange(1, 60);
    await storage.close();
    for (const file of saved) fs.writeFileSync(path.join(dir, file.name), file.bytes);
    const again = await reopen(dir);
    expect(again.log.getRange(1, 60)).toEqual(expected);
    expect(again.logger.lines.map((l) => l.message)).toContain('removing segment replaced by a merge');
    for (const file of saved.slice(1)) expect(fs.existsSync(path.join(dir, file.name))).toBe(false);
    await again.storage.close();
  });

  it('a compaction that crashed after writing its mark but before deleting segments', async () => {
    const dir = tempDir();
    const { storage } = storageAt(dir, recordingLogger(), 1024);
    const log = await storage.openLog('raft');
    log.append(list(1, 60));
    await log.flush();
    const segments = log.segments();
    const saved = segments.slice(0, 2).map((s) => ({
      name: `raft-${s.id}-${s.version}.log`,
      bytes: fs.readFileSync(path.join(dir, `raft-${s.id}-${s.version}.log`)),
    }));
    const before = segments[2]!.firstIndex + 1;
    log.compact(before);
    await storage.close();
    for (const file of saved) fs.writeFileSync(path.join(dir, file.name), file.bytes);
    const again = await reopen(dir);
    expect(again.log.firstIndex).toBe(before);
    expect(again.log.get(before - 1)).toBeUndefined();
    expect(again.log.getRange(1, 60)).toEqual(list(before, 60));
    for (const file of saved) expect(fs.existsSync(path.join(dir, file.name))).toBe(false);
    await again.storage.close();
  });
});
