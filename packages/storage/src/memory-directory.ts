import { ClosedError, StorageError } from '@copycat/common';
import type { StorageDirectory, StorageFile } from './directory.js';

/**
 * What a process or machine crash leaves behind:
 * - `'process'` (kill -9): everything handed to the operating system survives; only data still
 *   buffered in the crashed process is lost.
 * - `'power'`: only what was made durable (sync) survives.
 */
export type CrashMode = 'process' | 'power';

/** A file's bytes as the OS sees them (`current`) and as the disk has them (`durable`). */
class MemoryFileData {
  current: Uint8Array = new Uint8Array(0);
  length = 0;
  durable: Uint8Array = new Uint8Array(0);
  durableLength = 0;
  /** Lowest offset changed since the last sync: sync copies from here (cost ∝ new data). */
  dirtyFrom = 0;

  private static grow(array: Uint8Array, needed: number, keep: number): Uint8Array {
    if (needed <= array.length) return array;
    const grown = new Uint8Array(Math.max(needed, array.length * 2, 256));
    grown.set(array.subarray(0, keep));
    return grown;
  }

  write(data: Uint8Array, position: number): void {
    const end = position + data.length;
    this.current = MemoryFileData.grow(this.current, end, this.length);
    if (position > this.length) this.current.fill(0, this.length, position);
    this.current.set(data, position);
    this.length = Math.max(this.length, end);
    this.dirtyFrom = Math.min(this.dirtyFrom, position);
  }

  truncate(size: number): void {
    if (size > this.length) {
      this.current = MemoryFileData.grow(this.current, size, this.length);
      this.current.fill(0, this.length, size);
    }
    this.length = size;
    this.dirtyFrom = Math.min(this.dirtyFrom, size);
  }

  sync(): void {
    this.durable = MemoryFileData.grow(this.durable, this.length, this.durableLength);
    if (this.dirtyFrom < this.length)
      this.durable.set(this.current.subarray(this.dirtyFrom, this.length), this.dirtyFrom);
    this.durableLength = this.length;
    this.dirtyFrom = this.length;
  }

  loseUnsynced(): void {
    this.current = this.durable.slice(0, this.durableLength);
    this.length = this.durableLength;
    this.dirtyFrom = this.length;
  }
}

class MemoryFile implements StorageFile {
  private closed = false;

  constructor(
    readonly name: string,
    private readonly data: MemoryFileData,
    private readonly directory: MemoryDirectory,
    private readonly epoch: number,
  ) {}

  private check(): MemoryFileData {
    if (this.epoch !== this.directory.epoch) throw new ClosedError(`${this.name}: storage crashed`);
    if (this.closed) throw new StorageError(`${this.directory.path}/${this.name}: file is closed`);
    return this.data;
  }

  async size(): Promise<number> {
    return this.check().length;
  }

  read(target: Uint8Array, position: number): number {
    const data = this.check();
    const n = Math.max(0, Math.min(target.length, data.length - position));
    target.set(data.current.subarray(position, position + n));
    return n;
  }

  async readAsync(target: Uint8Array, position: number): Promise<number> {
    return this.read(target, position);
  }

  async write(data: Uint8Array, position: number): Promise<void> {
    this.writeSync(data, position);
  }

  writeSync(data: Uint8Array, position: number): void {
    this.directory.beforeWrite?.(this.name, data.length);
    const file = this.check();
    this.directory.step();
    file.write(data, position);
  }

  async truncate(size: number): Promise<void> {
    const file = this.check();
    this.directory.step();
    file.truncate(size);
  }

  async sync(): Promise<void> {
    this.directory.beforeSync?.(this.name);
    const file = this.check();
    this.directory.step();
    file.sync();
  }

  async close(): Promise<void> {
    this.closed = true;
  }
}

/**
 * A directory held in memory, for `level: 'memory'`. Files keep a durable copy so that a
 * simulated power loss (`crash('power')`) keeps exactly what was synced. Creations, renames
 * and deletions are durable at once (a simplification: storage always syncs the directory
 * before relying on them anyway). Every operation completes without timers or threads, so a
 * simulation running on memory storage stays deterministic.
 */
export class MemoryDirectory implements StorageDirectory {
  private readonly files = new Map<string, MemoryFileData>();
  /** Bumped by crash(): handles opened before it fail with ClosedError. */
  epoch = 0;
  /** Test hooks to inject faults: throw to fail the operation. */
  beforeWrite: ((name: string, length: number) => void) | undefined;
  beforeSync: ((name: string) => void) | undefined;
  /** Mutating operations (write, truncate, sync, create, rename, remove) so far. */
  operations = 0;
  private crashPoint: { at: number; mode: CrashMode } | undefined;

  constructor(readonly path = 'memory') {}

  async list(): Promise<string[]> {
    return [...this.files.keys()];
  }

  async open(name: string): Promise<StorageFile> {
    const data = this.files.get(name);
    if (data === undefined) throw new StorageError(`open ${this.path}/${name} failed: ENOENT`);
    return new MemoryFile(name, data, this, this.epoch);
  }

  async create(name: string): Promise<StorageFile> {
    this.step();
    if (this.files.has(name)) throw new StorageError(`open ${this.path}/${name} failed: EEXIST`);
    const data = new MemoryFileData();
    this.files.set(name, data);
    return new MemoryFile(name, data, this, this.epoch);
  }

  async rename(from: string, to: string): Promise<void> {
    this.step();
    const data = this.files.get(from);
    if (data === undefined) throw new StorageError(`rename ${this.path}/${from} failed: ENOENT`);
    this.files.delete(from);
    this.files.set(to, data);
  }

  async remove(name: string): Promise<void> {
    this.step();
    this.files.delete(name);
  }

  /**
   * Test hook: crash (as `crash(mode)`) just before the `count`-th mutating operation from now
   * runs, which then fails with ClosedError. Running a scenario once per crash point checks
   * that every intermediate state on disk recovers correctly.
   */
  crashAfter(count: number, mode: CrashMode): void {
    this.crashPoint = { at: this.operations + count, mode };
  }

  /** @internal Counts a mutating operation and crashes here if armed to. */
  step(): void {
    if (this.crashPoint !== undefined && this.operations >= this.crashPoint.at) {
      const { mode } = this.crashPoint;
      this.crashPoint = undefined;
      this.crash(mode);
      throw new ClosedError(`${this.path}: crashed at operation ${this.operations}`);
    }
    this.operations++;
  }

  async sync(): Promise<void> {}

  /**
   * The directory as seen by one opened object: once a crash happens, everything it still
   * tries (a file deletion queued before the crash, say) fails with ClosedError, as if the
   * process had stopped at that instant.
   */
  view(): StorageDirectory {
    const epoch = this.epoch;
    const check = () => {
      if (this.epoch !== epoch) throw new ClosedError(`${this.path}: storage crashed`);
    };
    return {
      path: this.path,
      list: async () => (check(), this.list()),
      open: async (name) => (check(), this.open(name)),
      create: async (name) => (check(), this.create(name)),
      rename: async (from, to) => (check(), this.rename(from, to)),
      remove: async (name) => (check(), this.remove(name)),
      sync: async () => check(),
    };
  }

  /** Invalidates every open handle and view and, for a power loss, drops unsynced bytes. */
  crash(mode: CrashMode): void {
    this.epoch++;
    if (mode === 'power') for (const data of this.files.values()) data.loseUnsynced();
  }

  /** Direct access for tests: the current bytes of a file. */
  bytes(name: string): Uint8Array | undefined {
    const data = this.files.get(name);
    return data?.current.slice(0, data.length);
  }
}
