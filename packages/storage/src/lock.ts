/**
 * An exclusive lock on a storage directory: a file `copycat.lock` created with O_EXCL holding
 * the owner's pid and host. A second process (or a second Storage in the same process) that
 * finds the lock held gets a StorageError naming the owner. A lock left by a process that no
 * longer exists on this host is stale and taken over; a lock from another host (a shared file
 * system) is never taken over: delete the file by hand once sure that host is gone.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { StorageError, type Logger } from '@copycat/common';

export const LOCK_FILE = 'copycat.lock';

export interface DirectoryLock {
  readonly file: string;
  release(): Promise<void>;
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it exists but belongs to someone else.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export async function acquireLock(directory: string, logger: Logger): Promise<DirectoryLock> {
  const file = path.join(directory, LOCK_FILE);
  const content = `${process.pid}\n${os.hostname()}\n`;
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      await fs.promises.writeFile(file, content, { flag: 'wx' });
      let released = false;
      return {
        file,
        release: async () => {
          if (released) return;
          released = true;
          await fs.promises.unlink(file).catch(() => {});
        },
      };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') {
        throw new StorageError(
          `cannot create lock file ${file}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`,
          { cause: error },
        );
      }
    }
    const held = await fs.promises.readFile(file, 'utf8').catch(() => '');
    const [pidText = '', host = ''] = held.split('\n');
    const pid = Number(pidText);
    const stale =
      host === os.hostname() &&
      Number.isSafeInteger(pid) &&
      pid > 0 &&
      pid !== process.pid &&
      !processAlive(pid);
    if (!stale || attempt > 0) {
      const owner =
        Number.isSafeInteger(pid) && pid > 0
          ? `process ${pid} on ${host || 'an unknown host'}`
          : 'an unknown owner';
      throw new StorageError(
        `storage directory ${directory} is locked by ${owner} (lock file ${file}); another Copycat storage is using it. ` +
          'If no such process exists, delete the lock file.',
      );
    }
    logger.warn('taking over a stale storage lock', { file, pid });
    await fs.promises.unlink(file).catch(() => {});
  }
  throw new StorageError(`could not lock ${directory}`);
}
