/**
 * The ordering rules of log.ts, checked at every possible crash point: each scenario runs once
 * to count its file operations, then once per operation with a power loss injected just before
 * it (memory level: only synced bytes survive). Every time, the log must open, and show a state
 * the scenario allows: the one before, the one after, or (for a truncation) a prefix of either.
 * Every scenario runs with growing segment files and with preallocated ones (whose background
 * preparation then runs, and crashes, among the scenario's operations).
 */
import { describe, expect, it } from 'vitest';
import { noopLogger } from '@copycat/common';
import type { Entry } from '@copycat/storage';
import { SegmentedLog, type LogConfig } from '../src/log.js';
import { MemoryDirectory } from '../src/memory-directory.js';
import { entries, entry } from './helpers.js';

const configs: LogConfig[] = [false, true].map((preallocate) => ({
  maxSegmentSize: 600,
  maxEntriesPerSegment: 1 << 20,
  fsync: true,
  cacheSize: 0,
  logger: noopLogger,
  preallocate,
}));

interface State {
  first: number;
  last: number;
  terms: Map<number, number>;
  entries: Map<number, Entry>;
}

function dump(log: SegmentedLog): State {
  const state: State = { first: log.firstIndex, last: log.lastIndex, terms: new Map(), entries: new Map() };
  for (let i = state.first - 1; i <= state.last; i++) state.terms.set(i, log.termAt(i)!);
  for (const e of log.getRange(state.first, state.last)) state.entries.set(e.index, e);
  return state;
}

interface Progress {
  /** Highest index a completed flush made durable during `act`. */
  acked: number;
  released: Set<number>;
}

interface Scenario {
  name: string;
  setup(log: SegmentedLog, progress: Progress): Promise<void>;
  act(log: SegmentedLog, progress: Progress): Promise<void>;
  check(recovered: State, before: State, after: State, progress: Progress): void;
}

async function runAt(scenario: Scenario, crashAt: number | undefined, config: LogConfig) {
  const directory = new MemoryDirectory();
  const progress: Progress = { acked: 0, released: new Set() };
  const log = await SegmentedLog.open(directory, 'raft', config);
  await scenario.setup(log, progress);
  const before = dump(log);
  const start = directory.operations;
  if (crashAt !== undefined) directory.crashAfter(crashAt, 'power');
  let crashed = false;
  try {
    await scenario.act(log, progress);
  } catch {
    crashed = true;
  }
  const operations = directory.operations - start;
  const after = crashed ? undefined : dump(log);
  if (!crashed) await log.close();
  directory.crash('power'); // whatever the run left unsynced is gone too
  const recovered = dump(await SegmentedLog.open(directory, 'raft', config));
  return { before, after, recovered, operations, crashed, progress };
}

async function everyCrashPoint(scenario: Scenario, config: LogConfig): Promise<number> {
  const clean = await runAt(scenario, undefined, config);
  expect(clean.crashed).toBe(false);
  scenario.check(clean.recovered, clean.before, clean.after!, clean.progress);
  for (let n = 0; n < clean.operations; n++) {
    const run = await runAt(scenario, n, config);
    expect(run.crashed, `crash point ${n} of ${clean.operations}`).toBe(true);
    try {
      scenario.check(run.recovered, clean.before, clean.after!, run.progress);
    } catch (error) {
      throw new Error(
        `${scenario.name}: bad state after a crash before operation ${n} of ${clean.operations}: ${String(error)}`,
      );
    }
  }
  return clean.operations;
}

function expectSameEntry(actual: Entry | undefined, expected: Entry | undefined): void {
  expect(actual).toEqual(expected);
}

const scenarios: Scenario[] = [
  {
    name: 'truncate across segments, then appends of a new term',
    setup: async (log) => {
      log.append(entries(1, 60, 1));
      await log.flush();
    },
    act: async (log, progress) => {
      log.truncate(25);
      log.append(entries(26, 40, 2));
      await log.flush();
      progress.acked = 40;
    },
    check: (r, before, after, progress) => {
      expect(r.first).toBe(1);
      expect(r.last).toBeGreaterThanOrEqual(Math.max(25, progress.acked));
      for (let i = 1; i <= 25; i++) expectSameEntry(r.entries.get(i), before.entries.get(i));
      // Past the truncation point: a prefix of the old log or of the new one, never a mix or a hole.
      const version = r.entries.get(26)?.term === 2 ? after : before;
      for (let i = 26; i <= r.last; i++) expectSameEntry(r.entries.get(i), version.entries.get(i));
    },
  },
  {
    name: 'compaction in the middle of a segment',
    setup: async (log) => {
      log.append([...entries(1, 30, 1), ...entries(31, 60, 2)]);
      await log.flush();
    },
    act: async (log) => {
      log.compact(33);
      await log.flush();
    },
    check: (r, before) => {
      expect([1, 33]).toContain(r.first);
      expect(r.last).toBe(60);
      for (let i = r.first - 1; i <= 60; i++) expect(r.terms.get(i)).toBe(before.terms.get(i));
      for (let i = r.first; i <= 60; i++) expectSameEntry(r.entries.get(i), before.entries.get(i));
    },
  },
  {
    name: 'compaction past the end (install a snapshot), then appends',
    setup: async (log) => {
      log.append(entries(1, 20, 1));
      await log.flush();
    },
    act: async (log, progress) => {
      log.compact(100, 5);
      log.append(entries(100, 105, 6));
      await log.flush();
      progress.acked = 105;
    },
    check: (r, before, after, progress) => {
      if (r.first === 1) {
        expect(progress.acked).toBe(0);
        expect(r.last).toBe(20);
        for (let i = 1; i <= 20; i++) expectSameEntry(r.entries.get(i), before.entries.get(i));
      } else {
        expect(r.first).toBe(100);
        expect(r.terms.get(99)).toBe(5);
        expect(r.last).toBeGreaterThanOrEqual(Math.max(99, progress.acked));
        for (let i = 100; i <= r.last; i++) expectSameEntry(r.entries.get(i), after.entries.get(i));
      }
    },
  },
  {
    name: 'rewrite of one segment and merge of two',
    setup: async (log, progress) => {
      log.append([...entries(1, 30, 1), ...entries(31, 60, 2)]);
      for (let i = 2; i <= 45; i += 2) {
        log.release(i);
        progress.released.add(i);
      }
      await log.flush();
    },
    act: async (log) => {
      const [a, b, c] = log.segments();
      await log.rewrite(a!.id);
      await log.merge([b!.id, c!.id]);
      log.append(entry(61, 2));
      await log.flush();
    },
    check: (r, before, _after, progress) => {
      expect(r.first).toBe(1);
      expect(r.last).toBeGreaterThanOrEqual(60);
      for (let i = 0; i <= 60; i++) expect(r.terms.get(i)).toBe(before.terms.get(i));
      for (let i = 1; i <= 60; i++) {
        const e = r.entries.get(i);
        if (e === undefined) expect(progress.released.has(i) && i !== 31).toBe(true);
        else expectSameEntry(e, before.entries.get(i));
      }
    },
  },
  {
    name: 'appends that roll over to new segments, flushed in batches',
    setup: async (log) => {
      log.append(entries(1, 5, 1));
      await log.flush();
    },
    act: async (log, progress) => {
      for (let from = 6; from <= 80; from += 15) {
        log.append(entries(from, from + 14, 1));
        await log.flush();
        progress.acked = from + 14;
      }
    },
    check: (r, _before, after, progress) => {
      expect(r.first).toBe(1);
      expect(r.last).toBeGreaterThanOrEqual(Math.max(5, progress.acked));
      for (let i = 1; i <= r.last; i++) expectSameEntry(r.entries.get(i), after.entries.get(i));
    },
  },
  {
    name: 'truncate into a compacted gap at the end of a sealed segment',
    setup: async (log, progress) => {
      log.append(entries(1, 40, 1));
      const first = log.segments()[0]!;
      for (let i = first.lastIndex - 3; i <= first.lastIndex; i++) {
        log.release(i);
        progress.released.add(i);
      }
      await log.rewrite(first.id);
      await log.flush();
    },
    act: async (log, progress) => {
      const first = log.segments()[0]!;
      log.truncate(first.lastIndex - 1);
      log.append(entry(first.lastIndex, 3));
      await log.flush();
      progress.acked = first.lastIndex;
    },
    check: (r, before, after, progress) => {
      const end = [...progress.released].reduce((a, b) => Math.max(a, b));
      for (let i = 1; i <= end - 1; i++) expectSameEntry(r.entries.get(i), before.entries.get(i));
      if (r.entries.get(end)?.term === 3 || r.last === end - 1) {
        expect(r.last).toBeLessThanOrEqual(end);
        expect(r.terms.get(end - 1)).toBe(1);
        if (r.last === end) expectSameEntry(r.entries.get(end), after.entries.get(end));
      } else {
        expect(progress.acked).toBe(0);
        expect(r.last).toBeGreaterThan(end);
        for (let i = end + 1; i <= r.last; i++) expectSameEntry(r.entries.get(i), before.entries.get(i));
      }
    },
  },
];

for (const config of configs) {
  describe(`every crash point recovers to an allowed state (preallocate: ${config.preallocate})`, () => {
    for (const scenario of scenarios) {
      it(scenario.name, async () => {
        const operations = await everyCrashPoint(scenario, config);
        expect(operations).toBeGreaterThan(3);
      });
    }
  });
}
