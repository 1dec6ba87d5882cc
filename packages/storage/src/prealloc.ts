/**
 * Zero-filled files prepared ahead of the segments that will use them.
 *
 * Why: fdatasync of an append that grows a file must also commit the new size and extents (a
 * journal commit); overwriting blocks that already exist, in a file whose size does not change,
 * flushes only the data pages. Measured here: 1.8x the bytes/s of append + fdatasync for 23 KB
 * writes (PostgreSQL does this for its WAL segments, etcd preallocates its WAL files). Node has
 * no fallocate, and fallocated (unwritten) extents would still change metadata on first write,
 * so preallocation means writing zeros.
 *
 * One file is prepared at a time, in the background (async writes on libuv's thread pool, then
 * one fdatasync), under a temporary name. `take()` hands over a ready file, or nothing: the log
 * then creates a growing file as it did before, rather than waiting. A failure (disk full) is
 * logged and the file discarded; the next `start()` tries again.
 */
import type { Logger } from '@copycat/common';
import type { StorageDirectory, StorageFile } from './directory.js';
import { preparedFileName } from './segment-header.js';

const ZERO_CHUNK = new Uint8Array(1 << 20);

/** Writes zeros over [from, to) of `file`. */
export async function writeZeros(file: StorageFile, from: number, to: number): Promise<void> {
  for (let at = from; at < to; at += ZERO_CHUNK.length)
    await file.write(ZERO_CHUNK.subarray(0, Math.min(ZERO_CHUNK.length, to - at)), at);
}

export interface PreparedFile {
  name: string;
  file: StorageFile;
}

interface Preparation {
  name: string;
  file: StorageFile | undefined;
  ready: boolean;
  cancelled: boolean;
  done: Promise<void>;
}

export class Preallocator {
  private current: Preparation | undefined;
  private counter = 0;
  private stopped = false;

  constructor(
    private readonly directory: StorageDirectory,
    private readonly log: string,
    private readonly size: number,
    private readonly fsync: boolean,
    private readonly logger: Logger,
  ) {}

  /** A prepared file is ready for `take()`. */
  get ready(): boolean {
    return this.current?.ready === true;
  }

  /** Starts preparing a file unless one is being prepared or ready. */
  start(): void {
    if (this.stopped || this.current !== undefined) return;
    const preparation: Preparation = {
      name: preparedFileName(this.log, ++this.counter),
      file: undefined,
      ready: false,
      cancelled: false,
      done: Promise.resolve(),
    };
    this.current = preparation;
    preparation.done = this.prepare(preparation);
  }

  /**
   * A ready file (the caller owns it from now on), or undefined. Then starts preparing the next
   * one if `prepareNext`.
   */
  take(prepareNext = true): PreparedFile | undefined {
    const preparation = this.current;
    const ready = preparation?.ready === true && preparation.file !== undefined;
    if (ready) this.current = undefined;
    if (prepareNext) this.start();
    return ready ? { name: preparation.name, file: preparation.file! } : undefined;
  }

  /** Prepares a file and waits for it (a new log's first segment); undefined if that failed. */
  async prepareNow(): Promise<PreparedFile | undefined> {
    this.start();
    await this.current?.done;
    const preparation = this.current;
    if (preparation === undefined || !preparation.ready || preparation.file === undefined) return undefined;
    this.current = undefined;
    return { name: preparation.name, file: preparation.file };
  }

  /**
   * Stops: waits for the preparation in flight, closes its file and (unless `keepFile`, as a
   * crash would) deletes it.
   */
  async stop(keepFile = false): Promise<void> {
    this.stopped = true;
    const preparation = this.current;
    this.current = undefined;
    if (preparation === undefined) return;
    preparation.cancelled = true;
    await preparation.done;
    await preparation.file?.close().catch(() => {});
    if (!keepFile) await this.directory.remove(preparation.name).catch(() => {});
  }

  private async prepare(preparation: Preparation): Promise<void> {
    try {
      await this.directory.remove(preparation.name);
      preparation.file = await this.directory.create(preparation.name);
      // The zeros and the file's size and extents are made durable, so that later fdatasyncs
      // find no metadata to commit (the rename into place is synced with the directory later).
      // One fdatasync per 1 MiB rather than one at the end: a single 32 MiB writeback queues
      // ahead of the log's own flushes (p99 flush latency 9 ms instead of 4.5 ms here with
      // 270 KB flushes), while throughput is the same.
      for (let at = 0; at < this.size; at += ZERO_CHUNK.length) {
        if (preparation.cancelled) return;
        await writeZeros(preparation.file, at, Math.min(at + ZERO_CHUNK.length, this.size));
        if (this.fsync) await preparation.file.sync();
      }
      preparation.ready = !preparation.cancelled;
    } catch (error) {
      if (preparation.cancelled) return;
      // Disk full, say: the log goes on with growing files; the next rollover tries again.
      this.logger.warn('could not preallocate the next segment; it will grow as it is written', {
        file: preparation.name,
        error,
      });
      if (this.current === preparation) this.current = undefined;
      await preparation.file?.close().catch(() => {});
      await this.directory.remove(preparation.name).catch(() => {});
    }
  }
}
