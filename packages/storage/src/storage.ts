/**
 * `Storage`: one directory (or its in-memory twin) holding a server's logs, metadata and
 * snapshots. Options are resolved and checked once (options.ts); the disk level locks the
 * directory against a second process on first use.
 */
import { ClosedError, StorageError } from '@copycat/common';
import type { StorageDirectory } from './directory.js';
import { toError } from './errors.js';
import { DiskDirectory } from './disk-directory.js';
import { acquireLock, type DirectoryLock } from './lock.js';
import { SegmentedLog, type Log } from './log.js';
import { MemoryDirectory, type CrashMode } from './memory-directory.js';
import { FileMetaStore, type MetaStore } from './meta-store.js';
import {
  checkName,
  resolveOptions,
  type ResolvedStorageOptions,
  type StorageLevel,
  type StorageOptions,
} from './options.js';
import { FileSnapshotStore, type SnapshotStore } from './snapshot-store.js';

export interface CrashOptions {
  /**
   * `'process'` (default): like kill -9, data handed to the OS survives, data still buffered
   * in the log is lost. `'power'` (memory level only): only synced data survives.
   */
  mode?: CrashMode;
}

interface Closable {
  readonly isClosed: boolean;
  /** When closing (or abandoned), settles once the object has let go of its files. */
  readonly released?: Promise<void> | undefined;
  close(): Promise<void>;
  abandon(): Promise<void>;
}

/** Abandons `object` and waits until it has let go of its files. */
async function abandonAndRelease(object: Closable): Promise<void> {
  await object.abandon();
  await object.released?.catch(() => {});
}

export class Storage {
  readonly options: ResolvedStorageOptions;
  private readonly memory: MemoryDirectory | undefined;
  private disk: Promise<{ directory: StorageDirectory; lock: DirectoryLock }> | undefined;
  private readonly open = new Map<string, Promise<Closable>>();
  /** Objects fully opened, reachable without awaiting (crash() must stop them at once). */
  private readonly live = new Set<Closable>();
  /** Counts close() and crash() calls: an open that waited across one must not go on. */
  private generation = 0;
  /** A close() or crash() under way, lock release included: opens wait for nothing, they fail. */
  private stopping: { readonly done: Promise<void> } | undefined;
  /** What a close() under way is closing (some may still be opening): a crash must stop them too. */
  private closing: Promise<Closable>[] = [];

  constructor(options: StorageOptions = {}) {
    this.options = resolveOptions(options);
    this.memory =
      this.options.level === 'memory' ? new MemoryDirectory(`memory:${this.options.directory}`) : undefined;
  }

  get level(): StorageLevel {
    return this.options.level;
  }

  /** Opens (recovering if needed) the log `name`. */
  openLog(name: string): Promise<Log> {
    return this.openObject('log', name, (directory) =>
      SegmentedLog.open(directory, name, {
        maxSegmentSize: this.options.maxSegmentSize,
        maxEntriesPerSegment: this.options.maxEntriesPerSegment,
        fsync: this.options.fsync,
        cacheSize: this.options.cacheSize,
        preallocate: this.options.preallocate,
        logger: this.options.logger.child(`log:${name}`),
      }),
    );
  }

  openMetaStore(name: string): Promise<MetaStore> {
    return this.openObject('metadata store', name, async (directory) => {
      const store = await FileMetaStore.open(
        directory,
        name,
        this.options.fsync,
        this.options.logger.child(`meta:${name}`),
      );
      return store;
    });
  }

  openSnapshotStore(name: string): Promise<SnapshotStore> {
    return this.openObject('snapshot store', name, async (directory) => {
      const store = await FileSnapshotStore.open(
        directory,
        name,
        this.options.fsync,
        this.options.logger.child(`snapshots:${name}`),
      );
      return store;
    });
  }

  private async openObject<T extends Closable>(
    kind: string,
    name: string,
    create: (directory: StorageDirectory) => Promise<T>,
  ): Promise<T & Closable> {
    checkName(kind, name);
    if (this.stopping !== undefined)
      throw new ClosedError(`cannot open ${kind} '${name}': the storage is closing or crashing`);
    const key = `${kind}:${name}`;
    const generation = this.generation;
    const existing = this.open.get(key);
    if (existing !== undefined) {
      const object = await existing.catch(() => undefined);
      if (object !== undefined && !object.isClosed)
        throw new StorageError(`${kind} '${name}' is already open in this storage`);
      // Closed, but perhaps still writing its last marks or closing its files: a new instance
      // opening now would recover files the old one is still using.
      await object?.released?.catch(() => {});
      if (object !== undefined) this.live.delete(object); // replaced by the one opening now
      if (this.generation !== generation)
        throw new ClosedError(`storage was closed or crashed while ${kind} '${name}' waited to open`);
      if (this.open.get(key) !== existing)
        throw new StorageError(`${kind} '${name}' is already being opened`);
    }
    const opening = this.directory().then(create);
    this.open.set(key, opening);
    try {
      const object = await opening;
      if (this.generation !== generation || this.open.get(key) !== opening) {
        await object.abandon();
        throw new ClosedError(`storage was closed or crashed while ${kind} '${name}' was opening`);
      }
      this.live.add(object);
      return object;
    } catch (error) {
      if (this.open.get(key) === opening) this.open.delete(key);
      throw error;
    }
  }

  private async directory(): Promise<StorageDirectory> {
    if (this.memory !== undefined) return this.memory.view();
    this.disk ??= (async () => {
      const directory = await DiskDirectory.create(this.options.directory);
      const lock = await acquireLock(directory.path, this.options.logger);
      return { directory, lock };
    })();
    try {
      return (await this.disk).directory;
    } catch (error) {
      this.disk = undefined;
      throw error;
    }
  }

  /**
   * Simulates a crash: every open log and store stops at once without flushing (operations
   * pending on them fail with ClosedError) and the lock is released. Afterwards, open them
   * again on this same Storage to see what a restarted server would see. For the memory level
   * the effect on the stored bytes is immediate (before the returned promise settles).
   */
  async crash(options: CrashOptions = {}): Promise<void> {
    const mode = options.mode ?? 'process';
    if (mode !== 'process' && mode !== 'power')
      throw new RangeError(`crash mode must be 'process' or 'power', got ${String(mode)}`);
    if (mode === 'power' && this.memory === undefined)
      throw new RangeError("power-loss crashes can only be simulated at level 'memory'");
    this.memory?.crash(mode);
    this.generation++;
    // Every object stops now, in this same tick: nothing queued before the crash may run after it.
    // That includes those a close() under way is closing (still in `live`), and those still
    // opening, once opened.
    const objects = [...this.live];
    const opening = [...this.open.values(), ...this.closing];
    this.live.clear();
    this.open.clear();
    const stopped = objects.map(abandonAndRelease);
    const opened = opening.map((promise) => promise.then(abandonAndRelease, () => {}));
    const previous = this.stopping?.done;
    // The lock goes only once each has let go of its files (a close under way included).
    await this.stop(async () => {
      await Promise.all([...stopped, ...opened]);
      await previous?.catch(() => {});
    });
  }

  /** Closes every open log and store (flushing logs) and releases the directory lock. */
  close(): Promise<void> {
    // Closing while a close or crash is under way: that one releases everything.
    if (this.stopping !== undefined) return this.stopping.done;
    const objects = [...this.open.values()];
    this.open.clear();
    // `live` keeps the opened ones until they are closed: a crash meanwhile stops them at once.
    this.generation++;
    this.closing = objects;
    let failure: unknown;
    return this.stop(async () => {
      for (const opening of objects) {
        const object = await opening.catch(() => undefined);
        if (object === undefined) continue;
        // Closed by its owner perhaps, and still finishing: the lock must outlive that.
        if (!object.isClosed) {
          await object.close().catch((error: unknown) => {
            failure ??= error;
          });
        }
        await object.released?.catch(() => {});
        this.live.delete(object);
      }
      if (this.closing === objects) this.closing = [];
      if (failure !== undefined) throw toError(failure);
    });
  }

  /** Runs `settle` as the stop under way, then releases the lock (even if `settle` failed). */
  private stop(settle: () => Promise<void>): Promise<void> {
    const current: { done: Promise<void> } = { done: Promise.resolve() };
    current.done = (async () => {
      try {
        await settle();
      } finally {
        await this.releaseLock();
        // Before the caller resumes: it may open again at once.
        if (this.stopping === current) this.stopping = undefined;
      }
    })();
    this.stopping = current;
    return current.done;
  }

  private async releaseLock(): Promise<void> {
    const disk = this.disk;
    this.disk = undefined;
    if (disk === undefined) return;
    const opened = await disk.catch(() => undefined);
    await opened?.lock.release();
  }
}
