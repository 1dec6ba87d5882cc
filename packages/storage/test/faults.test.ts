/**
 * I/O failures (disk full, failed fsync, a write cut short) and the directory lock. Failures
 * are injected through the storage's directory interface, which both levels go through.
 */
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { StorageError, noopLogger } from '@copycat/common';
import { LOCK_FILE, Storage } from '@copycat/storage';
import type { StorageDirectory, StorageFile } from '../src/directory.js';
import { SegmentedLog, type LogConfig } from '../src/log.js';
import { MemoryDirectory } from '../src/memory-directory.js';
import { FileMetaStore } from '../src/meta-store.js';
import { cleanupDirs, entries, recordingLogger, tempDir } from './helpers.js';

afterEach(cleanupDirs);

const config = (overrides: Partial<LogConfig> = {}): LogConfig => ({
  maxSegmentSize: 64 * 1024,
  maxEntriesPerSegment: 1 << 20,
  fsync: true,
  cacheSize: 1 << 20,
  logger: noopLogger,
  ...overrides,
});

const diskFull = () => new StorageError('write failed: disk full (ENOSPC)');

/** Wraps a directory so that, once armed, writes stop after `budget` more bytes (torn). */
class FaultyDirectory implements StorageDirectory {
  budget = Number.POSITIVE_INFINITY;
  failCreate = false;
  constructor(readonly inner: StorageDirectory) {}
  get path() {
    return this.inner.path;
  }
  list() {
    return this.inner.list();
  }
  async open(name: string) {
    return this.wrap(await this.inner.open(name));
  }
  async create(name: string) {
    if (this.failCreate) throw diskFull();
    return this.wrap(await this.inner.create(name));
  }
  rename(from: string, to: string) {
    return this.inner.rename(from, to);
  }
  remove(name: string) {
    return this.inner.remove(name);
  }
  sync() {
    return this.inner.sync();
  }
  private wrap(file: StorageFile): StorageFile {
    const take = (data: Uint8Array, position: number): Uint8Array => {
      if (data.length <= this.budget) {
        this.budget -= data.length;
        return data;
      }
      const part = data.subarray(0, Math.max(0, this.budget));
      this.budget = 0;
      if (part.length > 0) file.writeSync(part, position);
      throw diskFull();
    };
    return {
      name: file.name,
      size: () => file.size(),
      read: (target, position) => file.read(target, position),
      readAsync: (target, position) => file.readAsync(target, position),
      write: async (data, position) => file.write(take(data, position), position),
      writeSync: (data, position) => file.writeSync(take(data, position), position),
      truncate: (size) => file.truncate(size),
      sync: () => file.sync(),
      close: () => file.close(),
    };
  }
}

describe('write failures', () => {
  it('a failed write rejects flush with StorageError, and the log refuses all further work', async () => {
    const memory = new MemoryDirectory();
    const log = await SegmentedLog.open(memory, 'raft', config());
    log.append(entries(1, 10));
    await log.flush();
    memory.beforeWrite = () => {
      throw diskFull();
    };
    log.append(entries(11, 20));
    await expect(log.flush()).rejects.toThrow(/ENOSPC/);
    expect(() => log.append(entries(21, 21))).toThrow(StorageError);
    expect(() => log.append(entries(21, 21))).toThrow(/failed and must be reopened/);
    expect(() => log.get(5)).toThrow(StorageError);
    expect(() => log.truncate(5)).toThrow(StorageError);
    await expect(log.flush()).rejects.toThrow(StorageError);
    await expect(log.rewrite(1)).rejects.toThrow(StorageError);
    await expect(log.close()).rejects.toThrow(/ENOSPC/);

    memory.beforeWrite = undefined;
    memory.crash('process');
    const again = await SegmentedLog.open(memory, 'raft', config());
    expect(again.lastIndex).toBe(10);
    expect(again.getRange(1, 20)).toEqual(entries(1, 10));
    await again.close();
  });

  it('a write cut short leaves a torn tail that the next open cuts off', async () => {
    const faulty = new FaultyDirectory(new MemoryDirectory());
    const log = await SegmentedLog.open(faulty, 'raft', config());
    log.append(entries(1, 10));
    await log.flush();
    faulty.budget = 100; // the next write stops 100 bytes in, mid-record
    log.append(entries(11, 20));
    await expect(log.flush()).rejects.toThrow(StorageError);
    (faulty.inner as MemoryDirectory).crash('process');
    faulty.budget = Number.POSITIVE_INFINITY;
    const logger = recordingLogger();
    const again = await SegmentedLog.open(faulty, 'raft', config({ logger }));
    expect(again.lastIndex).toBeGreaterThanOrEqual(10);
    expect(again.lastIndex).toBeLessThan(20);
    expect(again.getRange(1, 20)).toEqual(entries(1, again.lastIndex));
    expect(logger.lines.map((l) => l.message)).toContain('truncating torn tail of the log');
    await again.close();
  });

  it('a failed fsync rejects flush and fails the log', async () => {
    const memory = new MemoryDirectory();
    const log = await SegmentedLog.open(memory, 'raft', config());
    log.append(entries(1, 3));
    memory.beforeSync = () => {
      throw new StorageError('fdatasync failed: EIO');
    };
    await expect(log.flush()).rejects.toThrow(/EIO/);
    expect(() => log.append(entries(4, 4))).toThrow(StorageError);
    memory.beforeSync = undefined;
    memory.crash('power');
    const again = await SegmentedLog.open(memory, 'raft', config());
    expect(again.lastIndex).toBe(0);
    await again.close();
  });

  it('a failure to create the next segment fails the log; what was flushed stays', async () => {
    const faulty = new FaultyDirectory(new MemoryDirectory());
    const log = await SegmentedLog.open(faulty, 'raft', config({ maxSegmentSize: 1024 }));
    log.append(entries(1, 10));
    await log.flush();
    faulty.failCreate = true;
    log.append(entries(11, 80));
    await expect(log.flush()).rejects.toThrow(/ENOSPC/);
    faulty.failCreate = false;
    (faulty.inner as MemoryDirectory).crash('power');
    const again = await SegmentedLog.open(faulty, 'raft', config({ maxSegmentSize: 1024 }));
    expect(again.lastIndex).toBeGreaterThanOrEqual(10);
    expect(again.getRange(1, 100)).toEqual(entries(1, again.lastIndex));
    await again.close();
  });

  it('a failed rewrite before the rename leaves the log working and the old version in place', async () => {
    const faulty = new FaultyDirectory(new MemoryDirectory());
    const log = await SegmentedLog.open(faulty, 'raft', config({ maxSegmentSize: 1024 }));
    log.append(entries(1, 40));
    for (let i = 2; i <= 40; i += 2) log.release(i);
    await log.flush();
    faulty.failCreate = true;
    await expect(log.rewrite(log.segments()[0]!.id)).rejects.toThrow(/ENOSPC/);
    faulty.failCreate = false;
    log.append(entries(41, 42));
    await log.flush();
    expect(log.getRange(1, 42)).toEqual(entries(1, 42));
    expect((await log.rewrite(log.segments()[0]!.id)).rewritten).toBe(true);
    await log.close();
  });

  it('a failed metadata write rejects the update and the store refuses later ones', async () => {
    const memory = new MemoryDirectory();
    const store = await FileMetaStore.open(memory, 'meta', true, noopLogger);
    await store.storeTerm(3);
    memory.beforeWrite = () => {
      throw diskFull();
    };
    await expect(store.update({ term: 4, votedFor: 'b' })).rejects.toThrow(/ENOSPC/);
    await expect(store.storeTerm(5)).rejects.toThrow(StorageError);
    memory.beforeWrite = undefined;
    memory.crash('power');
    const again = await FileMetaStore.open(memory, 'meta', true, noopLogger);
    expect(again.state()).toEqual({ term: 3, votedFor: null, configuration: null });
  });
});

describe('rewrites beside appends', () => {
  it('a flush does not wait for a rewrite in progress', async () => {
    const memory = new MemoryDirectory();
    let reached!: () => void;
    const atGate = new Promise<void>((resolve) => (reached = resolve));
    let open!: () => void;
    const gate = new Promise<void>((resolve) => (open = resolve));
    // Holds the rewrite's write of its temporary file until the gate opens.
    const gated: StorageDirectory = {
      path: memory.path,
      list: () => memory.list(),
      open: (name) => memory.open(name),
      rename: (from, to) => memory.rename(from, to),
      remove: (name) => memory.remove(name),
      sync: () => memory.sync(),
      create: async (name) => {
        const file = await memory.create(name);
        if (!name.endsWith('.log.tmp') || name.endsWith('-1.log.tmp')) return file;
        return {
          ...file,
          name: file.name,
          size: () => file.size(),
          read: (t, p) => file.read(t, p),
          readAsync: (t, p) => file.readAsync(t, p),
          writeSync: (d, p) => file.writeSync(d, p),
          truncate: (n) => file.truncate(n),
          sync: () => file.sync(),
          close: () => file.close(),
          write: async (data, position) => {
            reached();
            await gate;
            return file.write(data, position);
          },
        };
      },
    };
    const log = await SegmentedLog.open(gated, 'raft', config({ maxSegmentSize: 1024 }));
    log.append(entries(1, 40));
    for (let i = 2; i <= 10; i++) log.release(i);
    const rewrite = log.rewrite(log.segments()[0]!.id);
    await atGate;
    log.append(entries(41, 45));
    await log.flush(); // would hang if the rewrite held the queue
    expect(log.get(45)).toEqual(entries(45, 45)[0]);
    open();
    expect((await rewrite).rewritten).toBe(true);
    expect(log.get(2)).toBeUndefined();
    expect(log.getRange(11, 45)).toEqual(entries(11, 45));
    await log.close();
  });
});

const here = path.dirname(fileURLToPath(import.meta.url));

describe('directory lock', () => {
  it('a second storage on the same directory fails clearly until the first closes', async () => {
    const dir = tempDir();
    const first = new Storage({ directory: dir });
    await first.openLog('raft');
    const second = new Storage({ directory: dir });
    const error = await second.openLog('raft').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StorageError);
    expect((error as Error).message).toMatch(new RegExp(`locked by process ${process.pid} on `));
    expect((error as Error).message).toContain(path.join(fs.realpathSync(dir), LOCK_FILE));
    await first.close();
    expect(fs.existsSync(path.join(dir, LOCK_FILE))).toBe(false);
    await second.openLog('raft');
    await second.close();
  });

  it('takes over a lock left by a process that no longer exists', async () => {
    const dir = tempDir();
    const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], {
      encoding: 'utf8',
    });
    fs.writeFileSync(path.join(dir, LOCK_FILE), `${dead.stdout}\n${os.hostname()}\n`);
    const logger = recordingLogger();
    const storage = new Storage({ directory: dir, logger });
    await storage.openLog('raft');
    expect(logger.lines).toContainEqual(
      expect.objectContaining({ level: 'warn', message: 'taking over a stale storage lock' }),
    );
    expect(fs.readFileSync(path.join(dir, LOCK_FILE), 'utf8')).toBe(`${process.pid}\n${os.hostname()}\n`);
    await storage.close();
  });

  it('never takes over a lock from another host', async () => {
    const dir = tempDir();
    fs.writeFileSync(path.join(dir, LOCK_FILE), `1\nsome-other-host\n`);
    await expect(new Storage({ directory: dir }).openLog('raft')).rejects.toThrow(
      /locked by process 1 on some-other-host/,
    );
  });

  it('another live process holding the directory makes open fail', async () => {
    const dir = tempDir();
    const child = spawn(
      process.execPath,
      ['--conditions=@copycat/source', '--import', 'tsx', path.join(here, 'fixtures', 'hold-lock.ts'), dir],
      {
        stdio: ['ignore', 'pipe', 'inherit'],
      },
    );
    try {
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error('child did not start')), 20_000);
        child.stdout.on('data', (data: Buffer) => {
          if (data.toString().includes('locked')) {
            clearTimeout(timer);
            resolve();
          }
        });
        child.on('exit', () => reject(new Error('child exited early')));
      });
      await expect(new Storage({ directory: dir }).openLog('raft')).rejects.toThrow(
        new RegExp(`locked by process ${child.pid}`),
      );
    } finally {
      child.kill('SIGKILL');
      await new Promise((resolve) => child.once('close', resolve));
    }
    // Killed without releasing it: the lock file is stale now and gets taken over.
    const storage = new Storage({ directory: dir });
    await storage.openLog('raft');
    await storage.close();
  });
});
