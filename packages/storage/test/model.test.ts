/**
 * Model-based property test: random sequences of append (objects or records, with or without
 * gaps), truncate, compact (including past the end), release + rewrite or merge, flush
 * (awaited or not), reopen and crash, on both levels. After every step the log must agree
 * with a plain in-memory model on every index: get, termAt, getRange, getRecords, firstIndex,
 * lastIndex, lastTerm.
 *
 * A crash (power loss at the memory level, kill -9 at the disk level) makes the model
 * uncertain about what was not flushed. Then the check is the durability contract: everything
 * flushed and not changed since is there and intact, and nothing else appears but entries
 * that were appended at some point. The model then adopts what the log recovered.
 *
 * COPYCAT_LONG=1 runs many more and longer sequences.
 */
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { decodeRecords, encodeEntries, type Entry, type Log, type Storage } from '@copycat/storage';
import { LEVELS, cleanupDirs, makeStorage, payloadFor, type Level } from './helpers.js';

afterEach(cleanupDirs);

const LONG = process.env.COPYCAT_LONG === '1';

type Op =
  | { kind: 'append'; count: number; termBump: number; gap: number; viaRecords: boolean; size: number }
  | { kind: 'truncate'; back: number }
  | { kind: 'compact'; forward: number; termBump: number }
  | { kind: 'release'; seed: number; percent: number }
  | { kind: 'rewrite'; which: number; merge: boolean }
  | { kind: 'flush'; wait: boolean }
  | { kind: 'reopen' }
  | { kind: 'crash' };

const opArbitrary: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.record({
      kind: fc.constant('append' as const),
      count: fc.integer({ min: 1, max: 20 }),
      termBump: fc.constantFrom(0, 0, 1),
      gap: fc.constantFrom(0, 0, 0, 0, 1, 3),
      viaRecords: fc.boolean(),
      size: fc.integer({ min: 0, max: 150 }),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({ kind: fc.constant('truncate' as const), back: fc.integer({ min: 0, max: 20 }) }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('compact' as const),
      forward: fc.integer({ min: 0, max: 30 }),
      termBump: fc.integer({ min: 0, max: 2 }),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant('release' as const),
      seed: fc.nat(),
      percent: fc.integer({ min: 10, max: 100 }),
    }),
  },
  {
    weight: 3,
    arbitrary: fc.record({ kind: fc.constant('rewrite' as const), which: fc.nat(), merge: fc.boolean() }),
  },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('flush' as const), wait: fc.boolean() }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'reopen' as const }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'crash' as const }) },
);

interface ModelState {
  first: number;
  last: number;
  /** Term of every index in [first - 1, last], also of removed entries. */
  terms: Map<number, number>;
  stored: Map<number, Entry>;
}

const clone = (m: ModelState): ModelState => ({
  first: m.first,
  last: m.last,
  terms: new Map(m.terms),
  stored: new Map(m.stored),
});

function emptyModel(): ModelState {
  return { first: 1, last: 0, terms: new Map([[0, 0]]), stored: new Map() };
}

function termOf(m: ModelState, index: number): number {
  return m.terms.get(index)!;
}

function sameEntry(a: Entry | undefined, b: Entry | undefined): boolean {
  if (a === undefined || b === undefined) return a === b;
  if (
    a.index !== b.index ||
    a.term !== b.term ||
    a.type !== b.type ||
    a.timestamp !== b.timestamp ||
    (a.flags ?? 0) !== (b.flags ?? 0)
  )
    return false;
  if (a.payload.length !== b.payload.length) return false;
  for (let i = 0; i < a.payload.length; i++) if (a.payload[i] !== b.payload[i]) return false;
  return true;
}

function sameEntries(a: readonly Entry[], b: readonly Entry[]): boolean {
  return a.length === b.length && a.every((e, i) => sameEntry(e, b[i]));
}

// Cheap comparisons first; `expect` only to report a difference (deep equality on every index
// after every step would dominate the run time).
function checkAgainst(log: Log, m: ModelState): void {
  expect([log.firstIndex, log.lastIndex, log.lastTerm]).toEqual([m.first, m.last, termOf(m, m.last)]);
  for (let i = m.first - 2; i <= m.last + 2; i++) {
    const actual = log.get(i);
    if (!sameEntry(actual, m.stored.get(i))) expect(actual).toEqual(m.stored.get(i));
    const term = i >= m.first - 1 && i <= m.last ? termOf(m, i) : undefined;
    if (log.termAt(i) !== term) expect(log.termAt(i)).toBe(term);
  }
  const expected = [...m.stored.values()].sort((a, b) => a.index - b.index);
  const range = log.getRange(m.first - 5, m.last + 5);
  if (!sameEntries(range, expected)) expect(range).toEqual(expected);
  const viaRecords: Entry[] = [];
  for (let next = m.first; next <= m.last;) {
    const batch = log.getRecords(next, 700);
    if (batch.count === 0) break;
    viaRecords.push(...decodeRecords(batch.bytes));
    next = batch.lastIndex + 1;
  }
  if (!sameEntries(viaRecords, expected)) expect(viaRecords).toEqual(expected);
}

/** What the log recovered, as a model. */
function adopt(log: Log): ModelState {
  const m: ModelState = { first: log.firstIndex, last: log.lastIndex, terms: new Map(), stored: new Map() };
  for (let i = m.first - 1; i <= m.last; i++) m.terms.set(i, log.termAt(i)!);
  for (const e of log.getRange(m.first, m.last)) m.stored.set(e.index, e);
  return m;
}

async function runSequence(
  level: Level,
  ops: Op[],
  segmentSize: number,
  entriesPerSegment: number,
  cacheSize: number,
): Promise<void> {
  // Disk runs skip fsync for speed: a simulated kill -9 loses nothing the OS has either way.
  const storage: Storage = makeStorage(level, {
    maxSegmentSize: segmentSize,
    maxEntriesPerSegment: entriesPerSegment,
    cacheSize,
    fsync: level === 'memory',
  });
  let log = await storage.openLog('model');
  let model = emptyModel();
  let released = new Set<number>();
  // For crashes: the state at the last completed flush, what was appended since, and the
  // lowest truncation point since.
  let flushed = clone(model);
  let appendedSince = new Map<number, Entry[]>();
  let lowestCutSince = Number.POSITIVE_INFINITY;
  let pending: Promise<void>[] = [];
  const settle = async () => {
    await Promise.allSettled(pending);
    pending = [];
  };

  for (const op of ops) {
    switch (op.kind) {
      case 'append': {
        const term = termOf(model, model.last) + op.termBump;
        const start = model.last + 1 + op.gap;
        const list: Entry[] = [];
        for (let i = 0; i < op.count; i++) {
          const index = start + i;
          list.push({
            index,
            term,
            type: i % 5 === 4 ? 'noop' : 'command',
            timestamp: index * 10,
            flags: index % 3,
            payload: payloadFor(index, term, (op.size + i * 7) % 151),
          });
        }
        const options = op.gap > 0 ? { allowGaps: true } : {};
        if (op.viaRecords) log.appendRecords(encodeEntries(list), options);
        else log.append(list, options);
        for (let i = model.last + 1; i < start; i++) model.terms.set(i, termOf(model, model.last));
        for (const e of list) {
          model.stored.set(e.index, e);
          model.terms.set(e.index, e.term);
          appendedSince.set(e.index, [...(appendedSince.get(e.index) ?? []), e]);
        }
        model.last = start + op.count - 1;
        break;
      }
      case 'truncate': {
        const after = Math.max(model.first - 1, model.last - op.back);
        log.truncate(after);
        for (let i = after + 1; i <= model.last; i++) {
          model.stored.delete(i);
          model.terms.delete(i);
          released.delete(i);
        }
        model.last = Math.min(model.last, after);
        lowestCutSince = Math.min(lowestCutSince, after);
        break;
      }
      case 'compact': {
        const before = model.first + op.forward;
        if (before > model.last + 1) {
          const term = termOf(model, model.last) + op.termBump;
          log.compact(before, term);
          model = {
            first: before,
            last: before - 1,
            terms: new Map([[before - 1, term]]),
            stored: new Map(),
          };
          released = new Set();
          lowestCutSince = Number.NEGATIVE_INFINITY; // nothing from before is promised any more
        } else {
          log.compact(before);
          for (let i = model.first - 1; i < before - 1; i++) model.terms.delete(i);
          for (let i = model.first; i < before; i++) {
            model.stored.delete(i);
            released.delete(i);
          }
          model.first = Math.max(model.first, before);
        }
        break;
      }
      case 'release': {
        for (const index of model.stored.keys()) {
          if (((index * 2654435761 + op.seed) >>> 0) % 100 < op.percent) {
            expect(log.release(index)).toBe(true);
            released.add(index);
          }
        }
        break;
      }
      case 'rewrite': {
        const sealed = log.segments().filter((s) => s.sealed);
        if (sealed.length === 0) break;
        const k = op.which % sealed.length;
        const group = op.merge && k + 1 < sealed.length ? [sealed[k]!, sealed[k + 1]!] : [sealed[k]!];
        const result =
          group.length === 1 ? await log.rewrite(group[0]!.id) : await log.merge(group.map((s) => s.id));
        expect(result.rewritten).toBe(true);
        for (let i = group[0]!.firstIndex; i <= group[group.length - 1]!.lastIndex; i++) {
          const boundary = termOf(model, i) !== termOf(model, i - 1);
          if (model.stored.has(i) && released.has(i) && !boundary) model.stored.delete(i);
        }
        break;
      }
      case 'flush': {
        if (op.wait) {
          await log.flush();
          flushed = clone(model);
          appendedSince = new Map();
          lowestCutSince = Number.POSITIVE_INFINITY;
        } else {
          const flush = log.flush();
          flush.catch(() => {}); // a crash may reject it before settle() looks
          pending.push(flush);
        }
        break;
      }
      case 'reopen': {
        await log.close();
        await settle();
        log = await storage.openLog('model');
        released = new Set();
        flushed = clone(model);
        appendedSince = new Map();
        lowestCutSince = Number.POSITIVE_INFINITY;
        break;
      }
      case 'crash': {
        await storage.crash({ mode: level === 'memory' ? 'power' : 'process' });
        await settle();
        log = await storage.openLog('model');
        // Durability: what was flushed and not truncated or compacted since is there, intact.
        expect(log.firstIndex).toBeGreaterThanOrEqual(flushed.first);
        expect(log.firstIndex).toBeLessThanOrEqual(Math.max(model.first, flushed.first));
        const upper = Math.min(flushed.last, lowestCutSince);
        expect(log.lastIndex).toBeGreaterThanOrEqual(Math.min(upper, log.firstIndex - 1));
        for (let i = log.firstIndex; i <= upper; i++) {
          const promised = flushed.stored.get(i);
          // (a rewrite since the flush may have removed a released entry: that is fine)
          if (promised !== undefined && model.stored.has(i) && !sameEntry(log.get(i), promised))
            expect(log.get(i)).toEqual(promised);
        }
        // Nothing appears that was never appended.
        for (const e of log.getRange(log.firstIndex, log.lastIndex)) {
          const candidates = [
            flushed.stored.get(e.index),
            model.stored.get(e.index),
            ...(appendedSince.get(e.index) ?? []),
          ];
          if (!candidates.some((c) => sameEntry(c, e))) expect(candidates).toContainEqual(e);
        }
        model = adopt(log);
        released = new Set();
        flushed = clone(model);
        appendedSince = new Map();
        lowestCutSince = Number.POSITIVE_INFINITY;
        break;
      }
    }
    checkAgainst(log, model);
  }
  await log.close();
  await settle();
  // A final reopen sees exactly the model.
  const last = await storage.openLog('model');
  checkAgainst(last, model);
  await storage.close();
}

describe.each(LEVELS)('Log at level %s behaves like the model', (level: Level) => {
  it(
    'under random append/truncate/compact/rewrite/flush/reopen/crash sequences',
    async () => {
      await fc.assert(
        fc.asyncProperty(
          fc.array(opArbitrary, { minLength: 5, maxLength: LONG ? 120 : 40, size: 'max' }),
          fc.integer({ min: 300, max: 2000 }),
          fc.integer({ min: 3, max: 40 }),
          fc.constantFrom(0, 1 << 20),
          (ops, segmentSize, entriesPerSegment, cacheSize) =>
            runSequence(level, ops, segmentSize, entriesPerSegment, cacheSize),
        ),
        { numRuns: (level === 'memory' ? 150 : 50) * (LONG ? 20 : 1) },
      );
    },
    LONG ? 1_200_000 : 30_000,
  );
});
