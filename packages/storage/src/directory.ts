/**
 * The few file operations storage needs, behind an interface so that the memory level runs the
 * very same log, metadata and snapshot code as the disk level (on `MemoryDirectory`), and tests
 * can inject faults. Every failure is a `StorageError` (or `ClosedError` after a simulated crash).
 */
export interface StorageFile {
  readonly name: string;
  /** Current size in bytes. */
  size(): Promise<number>;
  /** Reads up to `target.length` bytes at `position` synchronously; returns the count read. */
  read(target: Uint8Array, position: number): number;
  /** Reads up to `target.length` bytes at `position`; returns the count read. */
  readAsync(target: Uint8Array, position: number): Promise<number>;
  /** Writes all of `data` at `position`. */
  write(data: Uint8Array, position: number): Promise<void>;
  /**
   * Writes all of `data` at `position` synchronously. Only for small writes (into the page
   * cache, microseconds): it saves a thread-pool round trip on the append path.
   */
  writeSync(data: Uint8Array, position: number): void;
  truncate(size: number): Promise<void>;
  /** Makes written data durable (fdatasync). */
  sync(): Promise<void>;
  close(): Promise<void>;
}

export interface StorageDirectory {
  /** For messages: the directory path, or a label for memory directories. */
  readonly path: string;
  list(): Promise<string[]>;
  /** Opens an existing file for reading and writing. */
  open(name: string): Promise<StorageFile>;
  /** Creates a new empty file; fails if it exists. */
  create(name: string): Promise<StorageFile>;
  /** Renames `from` to `to`, replacing `to` atomically. */
  rename(from: string, to: string): Promise<void>;
  /** Deletes a file; no error if it does not exist. */
  remove(name: string): Promise<void>;
  /** Makes creations, renames and deletions durable (fsync of the directory). */
  sync(): Promise<void>;
}

/** Reads exactly `length` bytes at `position` or returns fewer only at end of file. */
export async function readFully(file: StorageFile, target: Uint8Array, position: number): Promise<number> {
  let done = 0;
  while (done < target.length) {
    const n = await file.readAsync(target.subarray(done), position + done);
    if (n === 0) break;
    done += n;
  }
  return done;
}

/** Reads a whole (small) file. */
export async function readWholeFile(file: StorageFile): Promise<Uint8Array> {
  const bytes = new Uint8Array(await file.size());
  const n = await readFully(file, bytes, 0);
  return bytes.subarray(0, n);
}
