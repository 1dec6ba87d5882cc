/**
 * Snapshots of a state machine, one file per snapshot index: `<name>-<index>.snapshot`.
 * Written as a stream of chunks under `<name>-<index>.snapshot.tmp`; `complete()` appends a
 * trailer with the length and CRC-32C of the data, syncs, renames the file into place and
 * syncs the directory, so a snapshot is either entirely there or not at all. Opening a
 * snapshot checks the whole checksum before handing out any chunk: a state machine never
 * installs half of a corrupt snapshot.
 *
 *   header (48 bytes): 0 u32 magic 'CCSN' | 4 u16 format | 8 u64 index | 16 u64 term
 *                      24 f64 timestamp | 32 12 bytes reserved | 44 u32 crc32c of 0..44
 *   data
 *   trailer (16 bytes): u64 data length | u32 crc32c of data | u32 magic 'CCSE'
 */
import { ClosedError, StorageCorruptionError, StorageError, type Logger } from '@copycat/common';
import { crc32c } from '@copycat/io';
import { readFully, type StorageDirectory, type StorageFile } from './directory.js';
import { readU64, writeU64 } from './record.js';

const SNAPSHOT_MAGIC = 0x4343534e; // 'CCSN'
const TRAILER_MAGIC = 0x43435345; // 'CCSE'
const SNAPSHOT_FORMAT = 1;
const HEADER_SIZE = 48;
const TRAILER_SIZE = 16;
const READ_CHUNK = 1 << 20;

export interface SnapshotInfo {
  /** Index of the last entry the snapshot covers. */
  index: number;
  /** Term of that entry. */
  term: number;
  /** State machine time at that entry. */
  timestamp: number;
  /** Bytes of snapshot data. */
  size: number;
}

export interface SnapshotWriter {
  readonly index: number;
  readonly term: number;
  readonly timestamp: number;
  /** Bytes written so far. */
  readonly size: number;
  /** Appends a chunk (copied before the promise resolves; the caller may reuse it after). */
  write(chunk: Uint8Array): Promise<void>;
  /** Makes the snapshot durable and visible atomically. */
  complete(): Promise<SnapshotInfo>;
  /** Discards the partial snapshot. */
  abort(): Promise<void>;
}

export interface SnapshotReader {
  readonly info: SnapshotInfo;
  /** The data in chunks of at most `chunkSize` bytes (fresh arrays). */
  chunks(chunkSize?: number): AsyncGenerator<Uint8Array, void, undefined>;
  readAll(): Promise<Uint8Array>;
  close(): Promise<void>;
}

export interface SnapshotStore {
  readonly name: string;
  /** The completed snapshot with the highest index. */
  latest(): SnapshotInfo | undefined;
  /** Completed snapshots, lowest index first. */
  list(): SnapshotInfo[];
  create(snapshot: { index: number; term: number; timestamp?: number }): Promise<SnapshotWriter>;
  /** Opens a completed snapshot after verifying its checksum (StorageCorruptionError if bad). */
  open(index: number): Promise<SnapshotReader>;
  /** Deletes completed snapshots with an index below `index`; returns how many. */
  deleteBefore(index: number): Promise<number>;
  close(): Promise<void>;
}

function encodeHeader(index: number, term: number, timestamp: number): Uint8Array {
  const bytes = new Uint8Array(HEADER_SIZE);
  const view = new DataView(bytes.buffer);
  view.setUint32(0, SNAPSHOT_MAGIC);
  view.setUint16(4, SNAPSHOT_FORMAT);
  writeU64(view, 8, index);
  writeU64(view, 16, term);
  view.setFloat64(24, timestamp);
  view.setUint32(44, crc32c(bytes, 0, 44));
  return bytes;
}

function decodeHeader(bytes: Uint8Array): { index: number; term: number; timestamp: number } | string {
  if (bytes.length < HEADER_SIZE) return 'file shorter than its header';
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (view.getUint32(0) !== SNAPSHOT_MAGIC) return 'bad magic number';
  if (view.getUint32(44) !== crc32c(bytes, 0, 44)) return 'header checksum mismatch';
  if (view.getUint16(4) !== SNAPSHOT_FORMAT) return `unsupported format ${view.getUint16(4)}`;
  return { index: readU64(view, 8), term: readU64(view, 16), timestamp: view.getFloat64(24) };
}

export class FileSnapshotStore implements SnapshotStore {
  private readonly snapshots = new Map<number, SnapshotInfo>();
  private readonly writers = new Set<number>();
  private readonly openFiles = new Set<StorageFile>();
  private closed = false;
  /** Operations under way on the store's files (see `track`): close() waits for them. */
  private readonly inFlight = new Set<Promise<unknown>>();
  private closing: Promise<void> | undefined;

  private constructor(
    private readonly directory: StorageDirectory,
    readonly name: string,
    private readonly fsync: boolean,
  ) {}

  private fileName(index: number): string {
    return `${this.name}-${index}.snapshot`;
  }

  static async open(
    directory: StorageDirectory,
    name: string,
    fsync: boolean,
    logger: Logger,
  ): Promise<FileSnapshotStore> {
    const store = new FileSnapshotStore(directory, name, fsync);
    const pattern = /^(\d+)\.snapshot(\.tmp)?$/;
    for (const file of await directory.list()) {
      if (!file.startsWith(`${name}-`)) continue;
      const match = pattern.exec(file.slice(name.length + 1));
      if (match === null) continue;
      if (match[2] !== undefined) {
        logger.info('removing unfinished snapshot', { file });
        await directory.remove(file);
        continue;
      }
      const handle = await directory.open(file);
      try {
        const size = await handle.size();
        const header = new Uint8Array(HEADER_SIZE);
        await readFully(handle, header, 0);
        const decoded = decodeHeader(size < HEADER_SIZE ? header.subarray(0, size) : header);
        if (
          typeof decoded === 'string' ||
          decoded.index !== Number(match[1]) ||
          size < HEADER_SIZE + TRAILER_SIZE
        ) {
          throw new StorageCorruptionError(
            `snapshot ${directory.path}/${file}: ${typeof decoded === 'string' ? decoded : 'header or size does not match the file'}`,
          );
        }
        store.snapshots.set(decoded.index, { ...decoded, size: size - HEADER_SIZE - TRAILER_SIZE });
      } finally {
        await handle.close();
      }
    }
    return store;
  }

  private check(): void {
    if (this.closed) throw new ClosedError(`snapshot store '${this.name}' is closed`);
  }

  latest(): SnapshotInfo | undefined {
    let best: SnapshotInfo | undefined;
    for (const info of this.snapshots.values())
      if (best === undefined || info.index > best.index) best = info;
    return best === undefined ? undefined : { ...best };
  }

  list(): SnapshotInfo[] {
    return [...this.snapshots.values()].sort((a, b) => a.index - b.index).map((info) => ({ ...info }));
  }

  create(snapshot: { index: number; term: number; timestamp?: number }): Promise<SnapshotWriter> {
    return this.track(() => this.createWriter(snapshot));
  }

  private async createWriter(snapshot: {
    index: number;
    term: number;
    timestamp?: number;
  }): Promise<SnapshotWriter> {
    this.check();
    const { index, term } = snapshot;
    const timestamp = snapshot.timestamp ?? 0;
    if (!Number.isSafeInteger(index) || index < 0 || !Number.isSafeInteger(term) || term < 0)
      throw new RangeError('snapshot index and term must be safe integers >= 0');
    if (!Number.isFinite(timestamp)) throw new RangeError('snapshot timestamp must be finite');
    if (this.writers.has(index))
      throw new StorageError(`a snapshot for index ${index} is already being written`);
    this.writers.add(index);
    const temporary = `${this.fileName(index)}.tmp`;
    let created: StorageFile | undefined;
    try {
      await this.directory.remove(temporary);
      created = await this.directory.create(temporary);
      await created.write(encodeHeader(index, term, timestamp), 0);
      this.check(); // closed meanwhile: nothing may be left open, or written after close()
    } catch (error) {
      this.writers.delete(index);
      if (created !== undefined) {
        await created.close().catch(() => {});
        await this.directory.remove(temporary).catch(() => {});
      }
      throw error;
    }
    const file = created;
    this.openFiles.add(file);
    let size = 0;
    let crc = 0;
    let state: 'writing' | 'done' = 'writing';
    let pending: Promise<void> = Promise.resolve();
    const finish = async (keep: boolean) => {
      state = 'done';
      this.writers.delete(index);
      this.openFiles.delete(file);
      await file.close().catch(() => {});
      if (!keep) await this.directory.remove(temporary);
    };
    const writer: SnapshotWriter = {
      index,
      term,
      timestamp,
      get size() {
        return size;
      },
      write: (chunk) => {
        if (state !== 'writing')
          return Promise.reject(new StorageError(`snapshot ${index} is already completed or aborted`));
        if (!(chunk instanceof Uint8Array))
          return Promise.reject(new TypeError('snapshot chunks must be Uint8Array'));
        if (this.closed) return Promise.reject(new ClosedError(`snapshot store '${this.name}' is closed`));
        const copy = chunk.slice();
        const position = HEADER_SIZE + size;
        size += copy.length;
        crc = crc32c(copy, 0, copy.length, crc);
        // Chunks go to the file in order even if the caller does not await each write.
        // Tracked: close() waits for the writes under way before it closes the file.
        const previous = pending;
        pending = this.track(() => previous.then(() => file.write(copy, position)));
        return pending;
      },
      complete: () =>
        this.track(async () => {
          if (state !== 'writing')
            throw new StorageError(`snapshot ${index} is already completed or aborted`);
          this.check();
          try {
            await pending;
            const trailer = new Uint8Array(TRAILER_SIZE);
            const view = new DataView(trailer.buffer);
            writeU64(view, 0, size);
            view.setUint32(8, crc);
            view.setUint32(12, TRAILER_MAGIC);
            await file.write(trailer, HEADER_SIZE + size);
            if (this.fsync) await file.sync();
            await finish(true);
            await this.directory.rename(temporary, this.fileName(index));
            if (this.fsync) await this.directory.sync();
          } catch (error) {
            if (state === 'writing') await finish(false).catch(() => {});
            else await this.directory.remove(temporary).catch(() => {});
            throw error;
          }
          const info = { index, term, timestamp, size };
          this.snapshots.set(index, info);
          return { ...info };
        }),
      abort: () =>
        this.track(async () => {
          if (state !== 'writing') return;
          await pending.catch(() => {});
          if (state !== 'writing') return;
          if (this.closed) {
            // The store let go of the directory: the temporary file is left to the next open,
            // which removes it (it may by now be another store's file of the same name).
            state = 'done';
            this.writers.delete(index);
            return;
          }
          await finish(false);
        }),
    };
    return writer;
  }

  open(index: number): Promise<SnapshotReader> {
    return this.track(() => this.openReader(index));
  }

  private async openReader(index: number): Promise<SnapshotReader> {
    this.check();
    const info = this.snapshots.get(index);
    if (info === undefined) throw new StorageError(`no snapshot for index ${index} in '${this.name}'`);
    const fileName = this.fileName(index);
    const where = `${this.directory.path}/${fileName}`;
    const file = await this.directory.open(fileName);
    this.openFiles.add(file);
    try {
      this.check(); // closed meanwhile
      const trailer = new Uint8Array(TRAILER_SIZE);
      const n = await readFully(file, trailer, HEADER_SIZE + info.size);
      const view = new DataView(trailer.buffer);
      if (n !== TRAILER_SIZE || view.getUint32(12) !== TRAILER_MAGIC || readU64(view, 0) !== info.size) {
        throw new StorageCorruptionError(
          `snapshot ${where}: bad trailer at offset ${HEADER_SIZE + info.size}`,
        );
      }
      let crc = 0;
      const buffer = new Uint8Array(Math.min(READ_CHUNK, Math.max(info.size, 1)));
      for (let done = 0; done < info.size;) {
        const length = Math.min(buffer.length, info.size - done);
        const read = await readFully(file, buffer.subarray(0, length), HEADER_SIZE + done);
        if (read !== length)
          throw new StorageCorruptionError(`snapshot ${where}: short read at offset ${HEADER_SIZE + done}`);
        crc = crc32c(buffer, 0, length, crc);
        done += length;
        this.check(); // a close need not wait for the whole pass
      }
      if (crc !== view.getUint32(8))
        throw new StorageCorruptionError(`snapshot ${where}: data checksum mismatch`);
      this.check();
    } catch (error) {
      this.openFiles.delete(file);
      await file.close().catch(() => {});
      throw error;
    }
    const close = async () => {
      this.openFiles.delete(file);
      await file.close().catch(() => {});
    };
    // Reads are tracked like writes: close() lets one under way finish before closing the file.
    const read = (target: Uint8Array, position: number): Promise<number> => {
      this.check();
      return this.track(() => readFully(file, target, position));
    };
    return {
      info: { ...info },
      chunks: async function* (chunkSize = READ_CHUNK) {
        if (!Number.isSafeInteger(chunkSize) || chunkSize < 1)
          throw new RangeError('chunkSize must be a positive integer');
        for (let done = 0; done < info.size;) {
          const length = Math.min(chunkSize, info.size - done);
          const chunk = new Uint8Array(length);
          const got = await read(chunk, HEADER_SIZE + done);
          if (got !== length)
            throw new StorageCorruptionError(`snapshot ${where}: short read at offset ${HEADER_SIZE + done}`);
          done += length;
          yield chunk;
        }
      },
      readAll: async () => {
        const data = new Uint8Array(info.size);
        const got = await read(data, HEADER_SIZE);
        if (got !== info.size) throw new StorageCorruptionError(`snapshot ${where}: short read`);
        return data;
      },
      close,
    };
  }

  deleteBefore(index: number): Promise<number> {
    return this.track(() => this.deleteFilesBefore(index));
  }

  private async deleteFilesBefore(index: number): Promise<number> {
    this.check();
    let deleted = 0;
    for (const info of [...this.snapshots.values()]) {
      if (info.index >= index) continue;
      this.snapshots.delete(info.index);
      await this.directory.remove(this.fileName(info.index));
      deleted++;
    }
    if (deleted > 0 && this.fsync) await this.directory.sync();
    return deleted;
  }

  close(): Promise<void> {
    this.closed = true;
    this.closing ??= (async () => {
      // Writes, reads, creations, completions, aborts and deletions under way finish first
      // (they check for a close between their steps): they must not lose their files under
      // them, nor write, rename or remove files once the directory is let go.
      await Promise.allSettled([...this.inFlight]);
      for (const file of [...this.openFiles]) await file.close().catch(() => {});
      this.openFiles.clear();
    })();
    return this.closing;
  }

  /** Settles once a close() (or abandon()) under way is done with the files. */
  get released(): Promise<void> | undefined {
    return this.closing;
  }

  /** Runs `operation`, which uses the store's files, so that close() can wait for it. */
  private track<T>(operation: () => Promise<T>): Promise<T> {
    const running = operation();
    this.inFlight.add(running);
    const done = () => this.inFlight.delete(running);
    running.then(done, done);
    return running;
  }

  /** Simulated crash: unfinished snapshots stay as temporary files, removed on the next open. */
  async abandon(): Promise<void> {
    await this.close();
  }

  get isClosed(): boolean {
    return this.closed;
  }
}
