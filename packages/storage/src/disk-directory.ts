import fs from 'node:fs';
import path from 'node:path';
import { StorageError } from '@copycat/common';
import type { StorageDirectory, StorageFile } from './directory.js';

function ioError(operation: string, target: string, error: unknown): StorageError {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  const what =
    code === 'ENOSPC'
      ? 'disk full (ENOSPC)'
      : (code ?? (error instanceof Error ? error.message : String(error)));
  return new StorageError(`${operation} ${target} failed: ${what}`, { cause: error });
}

function callback<T>(
  run: (done: (error: NodeJS.ErrnoException | null, value: T) => void) => void,
): Promise<T> {
  return new Promise((resolve, reject) => run((error, value) => (error ? reject(error) : resolve(value))));
}

/**
 * A file on disk. Uses the callback API (fs.write, fs.fdatasync) rather than FileHandle: it
 * costs less per call on the append path, and the work still runs on libuv's thread pool.
 */
class DiskFile implements StorageFile {
  constructor(
    readonly name: string,
    private readonly fullPath: string,
    private fd: number,
  ) {}

  private check(operation: string): number {
    if (this.fd < 0) throw new StorageError(`${operation} ${this.fullPath}: file is closed`);
    return this.fd;
  }

  async size(): Promise<number> {
    const fd = this.check('stat');
    try {
      return (await callback<fs.Stats>((done) => fs.fstat(fd, done))).size;
    } catch (error) {
      throw ioError('stat', this.fullPath, error);
    }
  }

  read(target: Uint8Array, position: number): number {
    const fd = this.check('read');
    let done = 0;
    try {
      while (done < target.length) {
        const n = fs.readSync(fd, target, done, target.length - done, position + done);
        if (n === 0) break;
        done += n;
      }
    } catch (error) {
      throw ioError('read', this.fullPath, error);
    }
    return done;
  }

  async readAsync(target: Uint8Array, position: number): Promise<number> {
    const fd = this.check('read');
    try {
      return await callback<number>((done) => fs.read(fd, target, 0, target.length, position, done));
    } catch (error) {
      throw ioError('read', this.fullPath, error);
    }
  }

  async write(data: Uint8Array, position: number): Promise<void> {
    const fd = this.check('write');
    let done = 0;
    try {
      while (done < data.length) {
        done += await callback<number>((cb) =>
          fs.write(fd, data, done, data.length - done, position + done, cb),
        );
      }
    } catch (error) {
      throw ioError('write', this.fullPath, error);
    }
  }

  writeSync(data: Uint8Array, position: number): void {
    const fd = this.check('write');
    let done = 0;
    try {
      while (done < data.length) done += fs.writeSync(fd, data, done, data.length - done, position + done);
    } catch (error) {
      throw ioError('write', this.fullPath, error);
    }
  }

  async truncate(size: number): Promise<void> {
    const fd = this.check('truncate');
    try {
      await callback<void>((done) => fs.ftruncate(fd, size, (error) => done(error, undefined)));
    } catch (error) {
      throw ioError('truncate', this.fullPath, error);
    }
  }

  async sync(): Promise<void> {
    const fd = this.check('sync');
    try {
      await callback<void>((done) => fs.fdatasync(fd, (error) => done(error, undefined)));
    } catch (error) {
      throw ioError('fdatasync', this.fullPath, error);
    }
  }

  async close(): Promise<void> {
    if (this.fd < 0) return;
    const fd = this.fd;
    this.fd = -1;
    try {
      await callback<void>((done) => fs.close(fd, (error) => done(error, undefined)));
    } catch (error) {
      throw ioError('close', this.fullPath, error);
    }
  }
}

/** A directory on disk. */
export class DiskDirectory implements StorageDirectory {
  constructor(readonly path: string) {}

  static async create(directory: string): Promise<DiskDirectory> {
    try {
      await fs.promises.mkdir(directory, { recursive: true });
    } catch (error) {
      throw ioError('mkdir', directory, error);
    }
    return new DiskDirectory(path.resolve(directory));
  }

  private resolve(name: string): string {
    return path.join(this.path, name);
  }

  async list(): Promise<string[]> {
    try {
      return await fs.promises.readdir(this.path);
    } catch (error) {
      throw ioError('list', this.path, error);
    }
  }

  private async openWith(name: string, flags: string): Promise<StorageFile> {
    const full = this.resolve(name);
    try {
      const fd = await callback<number>((done) => fs.open(full, flags, 0o644, done));
      return new DiskFile(name, full, fd);
    } catch (error) {
      throw ioError('open', full, error);
    }
  }

  open(name: string): Promise<StorageFile> {
    return this.openWith(name, 'r+');
  }

  create(name: string): Promise<StorageFile> {
    return this.openWith(name, 'wx+');
  }

  async rename(from: string, to: string): Promise<void> {
    try {
      await fs.promises.rename(this.resolve(from), this.resolve(to));
    } catch (error) {
      throw ioError('rename', `${this.resolve(from)} -> ${to}`, error);
    }
  }

  async remove(name: string): Promise<void> {
    try {
      await fs.promises.unlink(this.resolve(name));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw ioError('unlink', this.resolve(name), error);
    }
  }

  async sync(): Promise<void> {
    let fd: number;
    try {
      fd = await callback<number>((done) => fs.open(this.path, 'r', done));
    } catch (error) {
      throw ioError('open directory', this.path, error);
    }
    try {
      await callback<void>((done) => fs.fsync(fd, (error) => done(error, undefined)));
    } catch (error) {
      // Some platforms (Windows) cannot fsync a directory; renames there are durable anyway.
      const code = (error as NodeJS.ErrnoException).code;
      if (code !== 'EISDIR' && code !== 'EPERM' && code !== 'EINVAL' && code !== 'EBADF')
        throw ioError('fsync directory', this.path, error);
    } finally {
      fs.close(fd, () => {});
    }
  }
}
