import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { ClosedError, ProtocolError, SerializationError } from '@copycat/common';
import {
  decodeRecords,
  encodeEntries,
  type Entry,
  type EntryType,
  type Log,
  type Storage,
} from '@copycat/storage';
import { LEVELS, cleanupDirs, entries, entry, makeStorage, payloadFor, type Level } from './helpers.js';

afterEach(cleanupDirs);

/**
 * Batches of entries as a server appends them: headers that mostly repeat and sometimes change
 * (term, type, flags, timestamps including -0), occasional index gaps, payloads on both sides
 * of the native checksum's 256 B threshold. Indexes start at 1 and climb.
 */
const appendBatchesArbitrary: fc.Arbitrary<Entry[][]> = fc
  .array(
    fc.array(
      fc.record({
        header: fc.option(
          fc.record({
            termStep: fc.constantFrom(0, 0, 0, 1, 2 ** 33),
            type: fc.constantFrom<EntryType>('command', 'command', 'noop', 'configuration'),
            timestamp: fc.constantFrom(0, -0, 1.25, 1_700_000_000_000),
            flags: fc.option(fc.integer({ min: 0, max: 255 }), { freq: 2 }),
          }),
          { freq: 2 },
        ),
        gap: fc.constantFrom(0, 0, 0, 0, 2),
        payload: fc.oneof(
          fc.uint8Array({ maxLength: 100 }),
          fc.uint8Array({ minLength: 256, maxLength: 2000, size: 'max' }),
        ),
      }),
      { minLength: 1, maxLength: 40 },
    ),
    { minLength: 1, maxLength: 8 },
  )
  .map((batches) => {
    let index = 1;
    let fields: Omit<Entry, 'index' | 'payload'> = { term: 1, type: 'command', timestamp: 0 };
    return batches.map((steps) =>
      steps.map((step) => {
        if (step.header !== null) {
          const { termStep, flags, ...rest } = step.header;
          fields = { ...rest, term: fields.term + termStep, ...(flags === null ? {} : { flags }) };
        }
        index += step.gap;
        return { ...fields, index: index++, payload: step.payload };
      }),
    );
  });

describe.each(LEVELS)('Log at level %s', (level: Level) => {
  const open = async (
    options: Parameters<typeof makeStorage>[1] = {},
  ): Promise<{ storage: Storage; log: Log }> => {
    const storage = makeStorage(level, options);
    return { storage, log: await storage.openLog('raft') };
  };
  const reopen = async (storage: Storage, log: Log): Promise<Log> => {
    await log.close();
    return storage.openLog('raft');
  };

  it('starts empty: firstIndex 1, lastIndex 0, lastTerm 0', async () => {
    const { storage, log } = await open();
    expect([log.firstIndex, log.lastIndex, log.lastTerm, log.termAt(0)]).toEqual([1, 0, 0, 0]);
    expect(log.get(1)).toBeUndefined();
    expect(log.getRange(1, 10)).toEqual([]);
    await storage.close();
  });

  it('makes appended entries visible at once and keeps flushed ones across a reopen', async () => {
    const { storage, log } = await open();
    const list = entries(1, 50, 3);
    expect(log.append(list)).toBe(50);
    expect(log.get(7)).toEqual(list[6]);
    await log.flush();
    const again = await reopen(storage, log);
    expect(again.lastIndex).toBe(50);
    expect(again.lastTerm).toBe(3);
    expect(again.getRange(1, 50)).toEqual(list);
    await storage.close();
  });

  it('returns undefined outside [firstIndex, lastIndex] and for non-integers', async () => {
    const { storage, log } = await open();
    log.append(entries(1, 3));
    for (const index of [0, 4, -1, 1.5, Number.NaN]) expect(log.get(index)).toBeUndefined();
    expect(log.termAt(4)).toBeUndefined();
    await storage.close();
  });

  it('reports the flags byte on every entry read back, 0 when absent', async () => {
    const { storage, log } = await open();
    log.append({ index: 1, term: 1, type: 'noop', timestamp: 5, payload: new Uint8Array(0) });
    log.append(entry(2, 1, { flags: 0x81, type: 'unregister' }));
    expect(log.get(1)).toEqual({
      index: 1,
      term: 1,
      type: 'noop',
      timestamp: 5,
      flags: 0,
      payload: new Uint8Array(0),
    });
    expect(log.get(2)?.flags).toBe(0x81);
    await storage.close();
  });

  it('checks every entry before appending any of them', async () => {
    const { storage, log } = await open();
    log.append(entries(1, 5, 2));
    const gap = [entry(6, 2), entry(8, 2)];
    expect(() => log.append(gap)).toThrow(ProtocolError);
    expect(() => log.append([entry(6, 2), entry(7, 1)])).toThrow(/lower than the previous term/);
    expect(() => log.append([entry(6, 2), { ...entry(7, 2), type: 'query' as never }])).toThrow(RangeError);
    expect(() => log.append([entry(6, 2), { ...entry(7, 2), payload: 'x' as never }])).toThrow(TypeError);
    expect(() => log.append([entry(6, 2), { ...entry(7, 2), flags: 256 }])).toThrow(RangeError);
    expect(() => log.append([entry(6, 2), { ...entry(7, 2), timestamp: Number.POSITIVE_INFINITY }])).toThrow(
      RangeError,
    );
    expect(() => log.append(entry(5, 2))).toThrow(/does not follow 5/);
    expect(log.lastIndex).toBe(5);
    expect(log.get(6)).toBeUndefined();
    await log.flush();
    const again = await reopen(storage, log);
    expect(again.lastIndex).toBe(5);
    await storage.close();
  });

  it('refuses an entry too large for a segment', async () => {
    const { storage, log } = await open({ maxSegmentSize: 4096 });
    expect(() => log.append(entry(1, 1, { size: 4096 }))).toThrow(/more than a segment holds/);
    expect(log.lastIndex).toBe(0);
    log.append(entry(1, 1, { size: 3000 }));
    expect(log.get(1)?.payload.length).toBe(3000);
    await storage.close();
  });

  it('accepts gaps only when asked; skipped indexes read as removed with the right term', async () => {
    const { storage, log } = await open();
    log.append(entries(1, 3, 1));
    expect(() => log.append(entry(6, 2))).toThrow(ProtocolError);
    log.append(entry(6, 2), { allowGaps: true });
    expect(log.lastIndex).toBe(6);
    expect([log.get(4), log.get(5)]).toEqual([undefined, undefined]);
    expect([log.termAt(4), log.termAt(5), log.termAt(6)]).toEqual([1, 1, 2]);
    await log.flush();
    const again = await reopen(storage, log);
    expect(again.lastIndex).toBe(6);
    expect(again.get(6)).toEqual(entry(6, 2));
    expect(again.termAt(5)).toBe(1);
    await storage.close();
  });

  it('rolls over to a new segment by size and by entry count, and reads across them', async () => {
    const { storage, log } = await open({ maxSegmentSize: 2048, maxEntriesPerSegment: 8 });
    const list = entries(1, 100, 1, 100);
    log.append(list);
    const segments = log.segments();
    expect(segments.length).toBeGreaterThanOrEqual(100 / 8);
    expect(segments.every((s) => s.bytes <= 2048 && s.lastIndex - s.firstIndex < 8)).toBe(true);
    expect(segments.slice(0, -1).every((s) => s.sealed)).toBe(true);
    expect(segments[segments.length - 1]!.sealed).toBe(false);
    for (let k = 1; k < segments.length; k++)
      expect(segments[k]!.firstIndex).toBe(segments[k - 1]!.lastIndex + 1);
    expect(log.getRange(1, 100)).toEqual(list);
    await log.flush();
    const again = await reopen(storage, log);
    expect(again.segments().map((s) => [s.firstIndex, s.lastIndex])).toEqual(
      segments.map((s) => [s.firstIndex, s.lastIndex]),
    );
    expect(again.getRange(1, 100)).toEqual(list);
    await storage.close();
  });

  it('truncates a suffix, across segments, and the truncation survives a reopen', async () => {
    const { storage, log } = await open({ maxSegmentSize: 1024 });
    log.append(entries(1, 60, 1));
    await log.flush();
    log.truncate(17);
    expect(log.lastIndex).toBe(17);
    expect(log.get(18)).toBeUndefined();
    log.append(entries(18, 30, 2));
    expect(log.termAt(17)).toBe(1);
    expect(log.termAt(18)).toBe(2);
    await log.flush();
    const again = await reopen(storage, log);
    expect(again.lastIndex).toBe(30);
    expect(again.getRange(1, 30)).toEqual([...entries(1, 17, 1), ...entries(18, 30, 2)]);
    again.truncate(0);
    expect([again.firstIndex, again.lastIndex, again.lastTerm]).toEqual([1, 0, 0]);
    again.append(entry(1, 5));
    await again.flush();
    const third = await reopen(storage, again);
    expect(third.getRange(0, 100)).toEqual([entry(1, 5)]);
    await storage.close();
  });

  it('truncating after lastIndex does nothing; below the compacted prefix is refused', async () => {
    const { storage, log } = await open();
    log.append(entries(1, 10));
    log.truncate(10);
    log.truncate(99);
    expect(log.lastIndex).toBe(10);
    log.compact(5);
    expect(() => log.truncate(2)).toThrow(RangeError);
    log.truncate(4);
    expect([log.firstIndex, log.lastIndex]).toEqual([5, 4]);
    await storage.close();
  });

  it('compacts a prefix: firstIndex and the term before it survive a reopen', async () => {
    const { storage, log } = await open({ maxSegmentSize: 1024 });
    log.append([...entries(1, 20, 1), ...entries(21, 40, 2)]);
    log.compact(25);
    expect(log.firstIndex).toBe(25);
    expect(log.get(24)).toBeUndefined();
    expect(log.get(25)).toEqual(entry(25, 2));
    expect(log.termAt(24)).toBe(2);
    expect(log.termAt(23)).toBeUndefined();
    log.compact(10); // going back is a no-op
    expect(log.firstIndex).toBe(25);
    await log.flush();
    const again = await reopen(storage, log);
    expect([again.firstIndex, again.lastIndex, again.termAt(24)]).toEqual([25, 40, 2]);
    expect(again.get(24)).toBeUndefined();
    expect(again.getRange(1, 40)).toEqual(entries(25, 40, 2));
    expect(again.segments()[0]!.firstIndex).toBe(25);
    await storage.close();
  });

  it('compacting past the end empties the log at a new index and needs the term there', async () => {
    const { storage, log } = await open();
    log.append(entries(1, 10, 1));
    expect(() => log.compact(100)).toThrow(/needs the term/);
    log.compact(100, 7);
    expect([log.firstIndex, log.lastIndex, log.lastTerm, log.termAt(99)]).toEqual([100, 99, 7, 7]);
    expect(() => log.append(entry(99, 7))).toThrow(ProtocolError);
    log.append(entries(100, 105, 8));
    await log.flush();
    const again = await reopen(storage, log);
    expect([again.firstIndex, again.lastIndex, again.termAt(99)]).toEqual([100, 105, 7]);
    expect(again.getRange(1, 200)).toEqual(entries(100, 105, 8));
    await storage.close();
  });

  it('rewrites a sealed segment without released entries; every index stays where it was', async () => {
    const { storage, log } = await open({ maxSegmentSize: 1200 });
    log.append([...entries(1, 8, 1), ...entries(9, 40, 2)]);
    const first = log.segments()[0]!;
    expect(first.sealed).toBe(true);
    for (let i = first.firstIndex; i <= first.lastIndex; i++) log.release(i);
    expect(log.segments()[0]!.released).toBe(first.entries);
    const result = await log.rewrite(first.id);
    expect(result).toMatchObject({
      rewritten: true,
      segmentId: first.id,
      version: 2,
      entriesBefore: first.entries,
    });
    // The first entry of a term is kept so the term of every removed index stays known.
    const keptIndexes = [1, 9].filter((i) => i <= first.lastIndex);
    expect(result.entriesAfter).toBe(keptIndexes.length);
    expect(result.bytesAfter).toBeLessThan(result.bytesBefore);
    for (let i = first.firstIndex; i <= first.lastIndex; i++) {
      if (keptIndexes.includes(i)) expect(log.get(i)?.index).toBe(i);
      else expect(log.get(i)).toBeUndefined();
      expect(log.termAt(i)).toBe(i <= 8 ? 1 : 2);
    }
    expect(log.get(first.lastIndex + 1)).toEqual(entry(first.lastIndex + 1, 2));
    const again = await reopen(storage, log);
    expect(again.segments()[0]).toMatchObject({ id: first.id, version: 2, entries: keptIndexes.length });
    for (let i = 1; i <= 40; i++) {
      expect(again.termAt(i)).toBe(i <= 8 ? 1 : 2);
      if (i > first.lastIndex || keptIndexes.includes(i))
        expect(again.get(i)).toEqual(entry(i, i <= 8 ? 1 : 2));
      else expect(again.get(i)).toBeUndefined();
    }
    await storage.close();
  });

  it('merges adjacent sealed segments into one file, without released entries', async () => {
    const { storage, log } = await open({ maxSegmentSize: 1024 });
    log.append(entries(1, 80, 1));
    const before = log.segments();
    expect(before.length).toBeGreaterThan(4);
    for (let i = 2; i <= 80; i += 2) log.release(i);
    const ids = before.slice(0, 3).map((s) => s.id);
    const result = await log.merge(ids);
    expect(result.rewritten).toBe(true);
    const after = log.segments();
    expect(after.length).toBe(before.length - 2);
    expect(after[0]).toMatchObject({ id: ids[0], firstIndex: 1, lastIndex: before[2]!.lastIndex });
    for (let i = 1; i <= before[2]!.lastIndex; i++) {
      if (i % 2 === 0) expect(log.get(i)).toBeUndefined();
      else expect(log.get(i)).toEqual(entry(i, 1));
    }
    // Released entries beyond the merged range are still there until their segment is rewritten.
    expect(log.get(80)).toEqual(entry(80, 1));
    expect(log.isReleased(80)).toBe(true);
    const again = await reopen(storage, log);
    expect(again.segments().map((s) => s.id)).toEqual(after.map((s) => s.id));
    expect(again.getRange(1, 80)).toEqual(
      entries(1, 80, 1).filter((e) => e.index % 2 === 1 || e.index > before[2]!.lastIndex),
    );
    await storage.close();
  });

  it('refuses to rewrite the last segment or segments that are not adjacent', async () => {
    const { storage, log } = await open({ maxSegmentSize: 1024 });
    log.append(entries(1, 40));
    const segments = log.segments();
    await expect(log.rewrite(segments[segments.length - 1]!.id)).rejects.toThrow(/still being appended/);
    await expect(log.merge([segments[0]!.id, segments[2]!.id])).rejects.toThrow(/not adjacent/);
    await expect(log.rewrite(9999)).rejects.toThrow(/no segment/);
    await storage.close();
  });

  it('abandons a rewrite when a truncation changes the segment meanwhile', async () => {
    const { storage, log } = await open({ maxSegmentSize: 1024 });
    log.append(entries(1, 40));
    const first = log.segments()[0]!;
    for (let i = 2; i <= first.lastIndex; i++) log.release(i);
    const rewrite = log.rewrite(first.id);
    log.truncate(first.lastIndex - 1);
    const result = await rewrite;
    expect(result.rewritten).toBe(false);
    expect(log.getRange(1, 100)).toEqual(entries(1, first.lastIndex - 1));
    await log.flush();
    const again = await reopen(storage, log);
    expect(again.getRange(1, 100)).toEqual(entries(1, first.lastIndex - 1));
    await storage.close();
  });

  it('truncating into a compacted gap keeps lastIndex and its term across a reopen', async () => {
    const { storage, log } = await open({ maxSegmentSize: 1024 });
    log.append([...entries(1, 5, 1), ...entries(6, 60, 2)]);
    const first = log.segments()[0]!;
    for (let i = first.lastIndex - 4; i <= first.lastIndex; i++) log.release(i);
    await log.rewrite(first.id);
    expect(log.get(first.lastIndex - 1)).toBeUndefined();
    log.truncate(first.lastIndex - 1);
    expect([log.lastIndex, log.lastTerm]).toEqual([first.lastIndex - 1, 2]);
    await log.flush();
    const again = await reopen(storage, log);
    expect([again.lastIndex, again.lastTerm]).toEqual([first.lastIndex - 1, 2]);
    again.append(entry(first.lastIndex, 3));
    expect(again.get(first.lastIndex)).toEqual(entry(first.lastIndex, 3));
    await storage.close();
  });

  it('release marks only stored entries in range and is volatile', async () => {
    const { storage, log } = await open();
    log.append(entries(1, 5));
    expect(log.release(3)).toBe(true);
    expect(log.release(3)).toBe(true);
    expect(log.release(9)).toBe(false);
    expect(log.isReleased(3)).toBe(true);
    expect(log.segments()[0]!.released).toBe(1);
    const again = await reopen(storage, log);
    expect(again.isReleased(3)).toBe(false);
    await storage.close();
  });

  it('serves records for replication: getRecords on one log, appendRecords on another', async () => {
    const { storage, log: leader } = await open({ maxSegmentSize: 4096 });
    const follower = await storage.openLog('follower');
    const list = entries(1, 200, 4);
    leader.append(list);
    await leader.flush();
    let next = 1;
    let batches = 0;
    while (next <= leader.lastIndex) {
      const batch = leader.getRecords(next, 1000);
      expect(batch.count).toBeGreaterThan(0);
      expect(batch.bytes.length).toBeLessThanOrEqual(Math.max(1000, batch.bytes.length / batch.count));
      expect(decodeRecords(batch.bytes).map((e) => e.index)).toEqual(
        Array.from({ length: batch.count }, (_, i) => batch.firstIndex + i),
      );
      const appended = follower.appendRecords(batch.bytes);
      expect([appended.firstIndex, appended.lastIndex, appended.count]).toEqual([
        batch.firstIndex,
        batch.lastIndex,
        batch.count,
      ]);
      next = batch.lastIndex + 1;
      batches++;
    }
    expect(batches).toBeGreaterThan(5);
    expect(follower.getRange(1, 200)).toEqual(list);
    expect(leader.getRecords(201, 1000)).toMatchObject({ count: 0, firstIndex: 201, lastIndex: 200 });
    expect(leader.getRecords(1, 0).count).toBe(1);
    await storage.close();
  });

  it('getRecords skips removed entries and the follower keeps the gaps', async () => {
    const { storage, log: leader } = await open({ maxSegmentSize: 1024 });
    const follower = await storage.openLog('follower');
    leader.append(entries(1, 40, 1));
    const first = leader.segments()[0]!;
    for (let i = 2; i <= first.lastIndex; i += 2) leader.release(i);
    await leader.rewrite(first.id);
    const batch = leader.getRecords(1, 1 << 20);
    expect(batch.lastIndex).toBe(first.lastIndex);
    expect(batch.count).toBe(Math.ceil(first.lastIndex / 2));
    expect(() => follower.appendRecords(batch.bytes)).toThrow(ProtocolError);
    follower.appendRecords(batch.bytes, { allowGaps: true });
    expect(follower.lastIndex).toBe(first.lastIndex);
    for (let i = 1; i <= first.lastIndex; i++)
      expect(follower.get(i)).toEqual(i % 2 === 1 ? entry(i, 1) : undefined);
    await storage.close();
  });

  it('appendRecords rejects a bad checksum or out-of-order index and appends nothing', async () => {
    const { storage, log } = await open();
    log.append(entries(1, 3));
    const good = encodeEntries(entries(4, 6));
    const bad = good.slice();
    bad[bad.length - 1]! ^= 0xff;
    expect(() => log.appendRecords(bad)).toThrow(SerializationError);
    expect(() => log.appendRecords(good.subarray(0, good.length - 1))).toThrow(/partial record/);
    expect(() => log.appendRecords(encodeEntries(entries(5, 6)))).toThrow(ProtocolError);
    expect(log.lastIndex).toBe(3);
    expect(log.appendRecords(new Uint8Array(0)).count).toBe(0);
    log.appendRecords(good);
    expect(log.getRange(1, 10)).toEqual(entries(1, 6));
    await storage.close();
  });

  it('shares one fsync among concurrent flushes (group commit)', async () => {
    const { storage, log } = await open();
    log.append(entries(1, 10));
    const before = log.stats.syncs;
    await Promise.all([log.flush(), log.flush(), log.flush(), log.flush()]);
    expect(log.stats.syncs - before).toBe(1);
    // Nothing new appended: flush needs no fsync at all.
    await log.flush();
    expect(log.stats.syncs - before).toBe(1);
    // Appends made while a flush is in flight are covered by the next round only.
    log.append(entry(11));
    const first = log.flush();
    log.append(entry(12));
    const second = log.flush();
    const third = log.flush();
    await Promise.all([first, second, third]);
    expect(log.stats.syncs - before).toBe(3);
    await storage.close();
  });

  it('reads entries back from the file once they leave the in-memory cache', async () => {
    const { storage, log } = await open({ cacheSize: 0, maxSegmentSize: 64 * 1024 });
    const list = entries(1, 3000, 1, 200);
    for (let i = 0; i < list.length; i += 100) {
      log.append(list.slice(i, i + 100));
      await log.flush();
    }
    expect(log.stats.writtenBytes).toBe(log.stats.appendedBytes);
    expect(log.get(1)).toEqual(list[0]);
    expect(log.getRange(1, 3000)).toEqual(list);
    const batch = log.getRecords(1500, 1 << 20);
    expect(decodeRecords(batch.bytes)).toEqual(list.slice(1499, 1499 + batch.count));
    await storage.close();
  });

  it('keeps get correct while appends, truncations and writes interleave without awaiting', async () => {
    const { storage, log } = await open({ maxSegmentSize: 2048, cacheSize: 0 });
    const model = new Map<number, ReturnType<typeof entry>>();
    let term = 1;
    const flushes: Promise<void>[] = [];
    for (let round = 0; round < 30; round++) {
      const from = log.lastIndex + 1;
      const batch = entries(from, from + 9, term, 60);
      log.append(batch);
      for (const e of batch) model.set(e.index, e);
      if (round % 3 === 2) {
        const after = log.lastIndex - 7;
        log.truncate(after);
        for (const index of [...model.keys()]) if (index > after) model.delete(index);
        term++;
      }
      flushes.push(log.flush());
      for (const [index, e] of model) expect(log.get(index)).toEqual(e);
    }
    await Promise.all(flushes);
    const again = await reopen(storage, log);
    expect(again.lastIndex).toBe(Math.max(...model.keys()));
    for (const [index, e] of model) expect(again.get(index)).toEqual(e);
    await storage.close();
  });

  it('throws ClosedError after close and rejects flush', async () => {
    const { storage, log } = await open();
    log.append(entry(1));
    await log.close();
    expect(() => log.append(entry(2))).toThrow(ClosedError);
    expect(() => log.get(1)).toThrow(ClosedError);
    await expect(log.flush()).rejects.toThrow(ClosedError);
    await log.close();
    await storage.close();
  });

  it('refuses to open the same log twice, and reopens it after close', async () => {
    const { storage, log } = await open();
    await expect(storage.openLog('raft')).rejects.toThrow(/already open/);
    await log.close();
    const again = await storage.openLog('raft');
    expect(again.lastIndex).toBe(0);
    await expect(storage.openLog('bad name')).rejects.toThrow(/name/);
    await storage.close();
  });

  it('keeps logs of different names apart', async () => {
    const { storage, log } = await open();
    const other = await storage.openLog('raft.2');
    log.append(entries(1, 3, 1));
    other.append(entries(1, 5, 9));
    await storage.close();
    const again = makeStorage(level);
    // (memory storage keeps its data per Storage object; disk storage per directory)
    if (level === 'disk') {
      const reopened = new (storage.constructor as typeof Storage)({ directory: storage.options.directory });
      const a = await reopened.openLog('raft');
      const b = await reopened.openLog('raft.2');
      expect([a.lastIndex, a.lastTerm, b.lastIndex, b.lastTerm]).toEqual([3, 1, 5, 9]);
      await reopened.close();
    } else {
      const a = await storage.openLog('raft');
      const b = await storage.openLog('raft.2');
      expect([a.lastIndex, a.lastTerm, b.lastIndex, b.lastTerm]).toEqual([3, 1, 5, 9]);
      await storage.close();
    }
    await again.close();
  });

  it('appends a batch in one piece or across a rollover, and reads it back the same', async () => {
    const { storage, log } = await open({ maxSegmentSize: 64 * 1024, maxEntriesPerSegment: 1000 });
    // A segment holds 279 records of 234 B. The first batch fits in one reservation; the second
    // goes record by record across two rollovers; the third fits the last segment again.
    const batches = [entries(1, 200, 1, 200), entries(201, 600, 2, 200), entries(601, 700, 2, 200)];
    for (const batch of batches) log.append(batch);
    expect(log.segments().map((s) => [s.firstIndex, s.lastIndex])).toEqual([
      [1, 279],
      [280, 558],
      [559, 700],
    ]);
    const all = batches.flat();
    expect(log.getRange(1, 700)).toEqual(all);
    await log.flush();
    const again = await reopen(storage, log);
    expect(again.getRange(1, 700)).toEqual(all);
    await storage.close();
  });

  it('stores exactly the bytes of encodeEntries, whether a batch fits or rolls over', async () => {
    // The append path encodes with RecordEncoder straight into the log's memory; the codec's
    // encodeEntries (writeRecord per entry) is the reference.
    await fc.assert(
      fc.asyncProperty(appendBatchesArbitrary, async (batches) => {
        const { storage, log } = await open({ maxSegmentSize: 16 * 1024, maxEntriesPerSegment: 50 });
        try {
          for (const batch of batches) log.append(batch, { allowGaps: true });
          const stored: Uint8Array[] = [];
          for (let from = 1; from <= log.lastIndex;) {
            const records = log.getRecords(from, 1 << 20);
            stored.push(records.bytes);
            from = records.lastIndex + 1;
          }
          expect(Buffer.compare(Buffer.concat(stored), encodeEntries(batches.flat()))).toBe(0);
        } finally {
          await storage.close();
        }
      }),
      // Counterexamples hold kilobytes of payloads: shrinking them through a log takes minutes.
      { numRuns: level === 'disk' ? 15 : 40, endOnFailure: true },
    );
  });

  it('checksums payloads in shared memory, or viewing part of a larger array, like any other', async () => {
    const { storage, log } = await open();
    const shared = new Uint8Array(new SharedArrayBuffer(700)).map((_, i) => i);
    const pooled = Buffer.from(payloadFor(9, 1, 300)); // a view into Buffer's shared pool
    const list: Entry[] = [
      { ...entry(1), payload: shared },
      { ...entry(2), payload: shared.subarray(10, 400) },
      { ...entry(3), payload: pooled },
      { ...entry(4), payload: new Uint8Array(shared.buffer, 3, 20) },
    ];
    log.append(list);
    expect(Buffer.compare(log.getRecords(1, 1 << 20).bytes, encodeEntries(list))).toBe(0);
    await log.flush();
    const again = await reopen(storage, log);
    expect(again.getRange(1, 4).map((e) => Buffer.from(e.payload))).toEqual(
      list.map((e) => Buffer.from(e.payload)),
    );
    await storage.close();
  });

  it('never reuses memory under bytes that getRecords handed out', async () => {
    // cacheSize 0: every block is dropped from memory once written, and spare blocks are reused
    // for later appends; a block a caller holds a view of must not be among them.
    const { storage, log } = await open({ cacheSize: 0 });
    log.append(entries(1, 900, 1, 1000));
    const batch = log.getRecords(1, 64 * 1024);
    const held = batch.bytes.slice();
    await log.flush();
    for (let first = 901; first < 12_000; first += 900) {
      log.append(entries(first, first + 899, 1, 1000));
      await log.flush();
    }
    expect(Buffer.compare(batch.bytes, held)).toBe(0);
    expect(decodeRecords(batch.bytes)).toEqual(entries(1, batch.count, 1, 1000));
    for (let index = 1; index <= log.lastIndex; index += 97)
      expect(log.get(index)).toEqual(entry(index, 1, { size: 1000 }));
    await storage.close();
  });

  it('returns payload copies from get, so callers cannot change stored data', async () => {
    const { storage, log } = await open();
    log.append(entry(1));
    const read = log.get(1)!;
    read.payload.fill(0);
    expect(log.get(1)!.payload).toEqual(payloadFor(1, 1));
    await storage.close();
  });
});
