import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ClosedError, StorageCorruptionError } from '@copycat/common';
import { Storage } from '@copycat/storage';
import { LEVELS, cleanupDirs, makeStorage, recordingLogger, tempDir, type Level } from './helpers.js';

afterEach(cleanupDirs);

const configuration = { index: 12, term: 3, timestamp: 99.5, payload: new Uint8Array([1, 2, 3]) };

describe.each(LEVELS)('MetaStore at level %s', (level: Level) => {
  it('starts with term 0, no vote, no configuration', async () => {
    const storage = makeStorage(level);
    const meta = await storage.openMetaStore('meta');
    expect(meta.state()).toEqual({ term: 0, votedFor: null, configuration: null });
    await storage.close();
  });

  it('keeps term, vote and configuration across a reopen', async () => {
    const storage = makeStorage(level);
    const meta = await storage.openMetaStore('meta');
    await meta.storeTerm(5);
    await meta.storeVote('server-b');
    await meta.storeConfiguration(configuration);
    expect([meta.term, meta.votedFor, meta.configuration]).toEqual([5, 'server-b', configuration]);
    await meta.close();
    const again = await storage.openMetaStore('meta');
    expect(again.state()).toEqual({ term: 5, votedFor: 'server-b', configuration });
    await again.update({ term: 6, votedFor: null });
    await again.close();
    expect((await storage.openMetaStore('meta')).state()).toEqual({ term: 6, votedFor: null, configuration });
    await storage.close();
  });

  it('each update is durable when it resolves: a crash right after keeps it', async () => {
    const storage = makeStorage(level);
    const meta = await storage.openMetaStore('meta');
    for (let term = 1; term <= 5; term++) await meta.update({ term, votedFor: `s${term}` });
    await storage.crash({ mode: level === 'memory' ? 'power' : 'process' });
    expect((await storage.openMetaStore('meta')).state()).toMatchObject({ term: 5, votedFor: 's5' });
    await storage.close();
  });

  it('coalesces concurrent updates into the latest state', async () => {
    const storage = makeStorage(level);
    const meta = await storage.openMetaStore('meta');
    await Promise.all([
      meta.storeTerm(1),
      meta.storeVote('a'),
      meta.storeTerm(2),
      meta.storeConfiguration(configuration),
    ]);
    expect(meta.state()).toEqual({ term: 2, votedFor: 'a', configuration });
    await storage.close();
    if (level === 'disk') {
      const again = new Storage({ directory: storage.options.directory });
      expect((await again.openMetaStore('meta')).state()).toEqual({ term: 2, votedFor: 'a', configuration });
      await again.close();
    }
  });

  it('checks its input', async () => {
    const storage = makeStorage(level);
    const meta = await storage.openMetaStore('meta');
    await expect(meta.storeTerm(-1)).rejects.toThrow(RangeError);
    await expect(meta.storeVote(5 as never)).rejects.toThrow(TypeError);
    await expect(meta.storeConfiguration({ ...configuration, payload: [1] as never })).rejects.toThrow(
      TypeError,
    );
    expect(meta.term).toBe(0);
    await meta.close();
    await expect(meta.storeTerm(1)).rejects.toThrow(ClosedError);
    await storage.close();
  });
});

describe('MetaStore files', () => {
  async function written(): Promise<string> {
    const dir = tempDir();
    const storage = new Storage({ directory: dir });
    const meta = await storage.openMetaStore('meta');
    await meta.update({ term: 1, votedFor: 'a' }); // slot 1
    await meta.update({ term: 2, votedFor: 'b' }); // slot 0
    await storage.close();
    return dir;
  }

  it('falls back to the other slot when the newer one is torn', async () => {
    const dir = await written();
    const file = path.join(dir, 'meta.meta.0');
    fs.truncateSync(file, fs.statSync(file).size - 3);
    const logger = recordingLogger();
    const storage = new Storage({ directory: dir, logger });
    const meta = await storage.openMetaStore('meta');
    expect(meta.state()).toMatchObject({ term: 1, votedFor: 'a' });
    expect(logger.lines.map((l) => l.message)).toContain(
      'metadata slot is torn or corrupt; using the other one',
    );
    // The next update goes over the torn slot, and wins.
    await meta.storeTerm(3);
    await storage.close();
    const again = new Storage({ directory: dir });
    expect((await again.openMetaStore('meta')).state()).toMatchObject({ term: 3, votedFor: 'a' });
    await again.close();
  });

  it('reports corruption when neither slot is valid', async () => {
    const dir = await written();
    for (const slot of [0, 1]) {
      const file = path.join(dir, `meta.meta.${slot}`);
      const bytes = fs.readFileSync(file);
      bytes[bytes.length - 1]! ^= 1;
      fs.writeFileSync(file, bytes);
    }
    const storage = new Storage({ directory: dir });
    await expect(storage.openMetaStore('meta')).rejects.toThrow(StorageCorruptionError);
    await storage.close();
  });
});
