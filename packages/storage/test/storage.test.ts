import { afterEach, describe, expect, it, vi } from 'vitest';
import { ClosedError, ConfigurationError, StorageCorruptionError, consoleLogger } from '@copycat/common';
import { DEFAULT_STORAGE_OPTIONS, Storage, resolveOptions } from '@copycat/storage';
import { cleanupDirs, entries, makeStorage, tempDir } from './helpers.js';

afterEach(cleanupDirs);

describe('options', () => {
  it('fills in documented defaults in one place', () => {
    const options = resolveOptions({ directory: '/tmp/x' });
    expect(options).toMatchObject({
      level: 'disk',
      directory: '/tmp/x',
      maxSegmentSize: 32 * 1024 * 1024,
      maxEntriesPerSegment: 1024 * 1024,
      fsync: true,
      cacheSize: 8 * 1024 * 1024,
      compaction: {
        threshold: 0.5,
        minorInterval: 60_000,
        majorInterval: 3_600_000,
        snapshotEntries: 65_536,
      },
    });
    expect(options.compaction).toEqual(DEFAULT_STORAGE_OPTIONS.compaction);
    expect(Object.isFrozen(options)).toBe(true);
    expect(
      new Storage({ level: 'memory', compaction: { threshold: 0.25 } }).options.compaction.threshold,
    ).toBe(0.25);
  });

  it('rejects bad options with ConfigurationError naming the option', () => {
    const bad: [object, RegExp][] = [
      [{}, /needs a directory/],
      [{ level: 'tape' }, /level must be/],
      [{ level: 'memory', maxSegmentSize: 10 }, /maxSegmentSize must be an integer/],
      [{ level: 'memory', maxSegmentSize: 2 ** 31 }, /maxSegmentSize/],
      [{ level: 'memory', maxEntriesPerSegment: 0 }, /maxEntriesPerSegment/],
      [{ level: 'memory', cacheSize: -1 }, /cacheSize/],
      [{ level: 'memory', fsync: 'yes' }, /fsync must be a boolean/],
      [{ level: 'memory', compaction: { threshold: 0 } }, /compaction.threshold/],
      [{ level: 'memory', compaction: { minorInterval: 0.5 } }, /compaction.minorInterval/],
      [{ level: 'memory', logger: {} }, /logger/],
    ];
    for (const [options, message] of bad) {
      expect(() => new Storage(options as never)).toThrow(ConfigurationError);
      expect(() => new Storage(options as never)).toThrow(message);
    }
    expect(() => new Storage({ level: 'memory', logger: consoleLogger({ level: 'error' }) })).not.toThrow();
  });
});

describe('simulated crashes', () => {
  it("memory 'power': only flushed entries survive; pending flushes fail with ClosedError", async () => {
    const storage = makeStorage('memory');
    const log = await storage.openLog('raft');
    log.append(entries(1, 10));
    await log.flush();
    log.append(entries(11, 20));
    const pending = log.flush();
    await storage.crash({ mode: 'power' });
    await expect(pending).rejects.toThrow(ClosedError);
    expect(() => log.get(1)).toThrow(ClosedError);
    const again = await storage.openLog('raft');
    expect(again.lastIndex).toBe(10);
    expect(again.getRange(1, 20)).toEqual(entries(1, 10));
    await storage.close();
  });

  it("memory 'process': what reached the OS survives, what was still buffered in the log is lost", async () => {
    const storage = makeStorage('memory', { fsync: false });
    const log = await storage.openLog('raft');
    log.append(entries(1, 10));
    await log.flush(); // handed to the (simulated) OS, not synced
    log.append(entries(11, 20)); // still in the log's buffers
    await storage.crash({ mode: 'process' });
    const again = await storage.openLog('raft');
    expect(again.lastIndex).toBe(10);
    // Without fsync nothing was ever durable: after a power loss even the segment header is
    // gone, and the log refuses to open rather than guess (README, options: fsync).
    await storage.crash({ mode: 'power' });
    await expect(storage.openLog('raft')).rejects.toThrow(StorageCorruptionError);
    await storage.close();
  });

  it('a clean close keeps everything appended', async () => {
    const storage = makeStorage('memory');
    const log = await storage.openLog('raft');
    log.append(entries(1, 10));
    await storage.close();
    await storage.crash({ mode: 'power' });
    expect((await storage.openLog('raft')).lastIndex).toBe(10);
    await storage.close();
  });

  it('opening a log again while its close is still under way waits for the close', async () => {
    for (const level of ['disk', 'memory'] as const) {
      // Small segments: the close has rollovers (seals, new files) to finish.
      const storage = makeStorage(level, { maxSegmentSize: 64 * 1024 });
      const log = await storage.openLog('raft');
      for (let index = 1; index <= 3000; index++) log.append(entries(index, index));
      const closing = log.close();
      // The old instance is still flushing: the new one must not recover its files meanwhile.
      const again = await storage.openLog('raft');
      await closing;
      expect(again.lastIndex).toBe(3000);
      expect(again.getRange(2990, 3000)).toEqual(entries(2990, 3000));
      await storage.close();
    }
  });

  it('closing or crashing the storage waits for a log close already under way', async () => {
    for (const stop of ['close', 'crash'] as const) {
      const dir = tempDir();
      const storage = new Storage({ directory: dir, maxSegmentSize: 64 * 1024 });
      const log = await storage.openLog('raft');
      for (let index = 1; index <= 3000; index++) log.append(entries(index, index));
      let finished = false;
      const closing = log.close().then(
        () => (finished = true),
        () => (finished = true),
      );
      // The log is closed to its owner, but still flushing and sealing: the lock must stay.
      await (stop === 'close' ? storage.close() : storage.crash());
      expect(finished).toBe(true);
      await closing;
      const next = new Storage({ directory: dir });
      const again = await next.openLog('raft');
      if (stop === 'close') expect(again.lastIndex).toBe(3000);
      await next.close();
    }
  });

  it('an open waiting for a close fails with ClosedError when the storage closes meanwhile', async () => {
    const storage = makeStorage('disk', { maxSegmentSize: 64 * 1024 });
    const log = await storage.openLog('raft');
    for (let index = 1; index <= 3000; index++) log.append(entries(index, index));
    const closing = log.close();
    const again = storage.openLog('raft').catch((error: unknown) => error);
    await storage.close();
    expect(await again).toBeInstanceOf(ClosedError);
    await closing;
  });

  /** A log of 3000 entries with small segments: its close has rollovers to finish. */
  async function busyLog(dir: string) {
    const storage = new Storage({ directory: dir, maxSegmentSize: 64 * 1024 });
    const log = await storage.openLog('raft');
    for (let index = 1; index <= 3000; index++) log.append(entries(index, index));
    return { storage, log };
  }

  /** True if a second Storage can take the directory now (it then lets it go again). */
  async function lockIsFree(dir: string): Promise<boolean> {
    const other = new Storage({ directory: dir });
    try {
      await other.openMetaStore('probe');
      return true;
    } catch (error) {
      expect(String(error)).toMatch(/locked/);
      return false;
    } finally {
      await other.close();
    }
  }

  it('an open while the storage closes or crashes fails with ClosedError, and works afterwards', async () => {
    for (const stop of ['close', 'crash'] as const) {
      const dir = tempDir();
      const { storage } = await busyLog(dir);
      const stopping = stop === 'close' ? storage.close() : storage.crash();
      // The old instance is still flushing: a second one on its files would undo its work.
      await expect(storage.openLog('raft')).rejects.toThrow(ClosedError);
      await stopping;
      const again = await storage.openLog('raft');
      if (stop === 'close') expect(again.lastIndex).toBe(3000);
      expect(again.getRange(1, again.lastIndex)).toEqual(entries(1, again.lastIndex));
      await storage.close();
    }
  });

  it('keeps no closed instances of a log that was closed and opened again', async () => {
    const storage = makeStorage('memory');
    for (let round = 0; round < 5; round++) await (await storage.openLog('raft')).close();
    await storage.openLog('raft');
    // (White box: what a crash would stop, and what keeps logs and their caches in memory.)
    const live = (storage as unknown as { live: Set<unknown> }).live;
    expect(live.size).toBe(1);
    await storage.close();
    expect(live.size).toBe(0);
  });

  it('a crash while a log is still opening waits for it before letting the directory go', async () => {
    const dir = tempDir();
    const storage = new Storage({ directory: dir });
    let settled = false;
    const opening = storage.openLog('raft').catch((error: unknown) => {
      settled = true;
      return error;
    });
    await new Promise((resolve) => setImmediate(resolve)); // the open is under way (preparing files)
    expect(settled).toBe(false);
    await storage.crash();
    // The log that was opening has let go of its files (and the open has failed) by now.
    expect(settled).toBe(true);
    expect(await opening).toBeInstanceOf(ClosedError);
    const next = new Storage({ directory: dir });
    const log = await next.openLog('raft');
    log.append(entries(1, 10));
    await log.flush();
    await next.close();
    expect((await new Storage({ directory: dir }).openLog('raft')).lastIndex).toBe(10);
  });

  it('a close and a crash at the same time keep the lock until both are done', async () => {
    for (const first of ['close', 'crash'] as const) {
      const dir = tempDir();
      const { storage, log } = await busyLog(dir);
      await log.flush();
      log.append(entries(3001, 3001));
      const a = first === 'close' ? storage.close() : storage.crash();
      const b = first === 'close' ? storage.crash() : storage.close();
      expect(await lockIsFree(dir)).toBe(false);
      await Promise.all([a.catch(() => {}), b.catch(() => {})]);
      expect(await lockIsFree(dir)).toBe(true);
      const next = new Storage({ directory: dir });
      const again = await next.openLog('raft');
      expect(again.lastIndex).toBeGreaterThanOrEqual(3000);
      expect(again.getRange(1, 3000)).toEqual(entries(1, 3000));
      await next.close();
    }
  });

  it('disk storage crashes like a killed process, releases its lock, and reopens', async () => {
    const dir = tempDir();
    const storage = new Storage({ directory: dir });
    const log = await storage.openLog('raft');
    log.append(entries(1, 10));
    await log.flush();
    await expect(storage.crash({ mode: 'power' })).rejects.toThrow(/only be simulated at level 'memory'/);
    await storage.crash();
    const other = new Storage({ directory: dir });
    expect((await other.openLog('raft')).getRange(1, 10)).toEqual(entries(1, 10));
    await other.close();
  });

  it('memory storage runs without timers or threads (what the deterministic simulation needs)', async () => {
    // Timers frozen: if anything waited on a timer or an immediate, this test would hang.
    vi.useFakeTimers({ toFake: ['setTimeout', 'setInterval', 'setImmediate'] });
    try {
      const storage = makeStorage('memory', { maxSegmentSize: 1024 });
      const log = await storage.openLog('raft');
      const meta = await storage.openMetaStore('meta');
      const snapshots = await storage.openSnapshotStore('snapshots');
      log.append(entries(1, 100));
      await log.flush();
      for (let i = 1; i < 50; i++) log.release(i);
      await log.rewrite(log.segments()[1]!.id);
      log.compact(30);
      log.truncate(80);
      // An unflushed truncation may or may not survive a power loss (any prefix of the old
      // log is a possible outcome); after flush() it has.
      await log.flush();
      await meta.update({ term: 2, votedFor: 'a' });
      const writer = await snapshots.create({ index: 29, term: 1 });
      await writer.write(new Uint8Array(10));
      await writer.complete();
      await storage.crash({ mode: 'power' });
      const again = await storage.openLog('raft');
      expect([again.firstIndex, again.lastIndex]).toEqual([30, 80]);
      expect(vi.getTimerCount()).toBe(0);
      await storage.close();
    } finally {
      vi.useRealTimers();
    }
  });
});
