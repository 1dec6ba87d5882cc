/**
 * kill -9 at random moments. A child process appends in a loop (with truncations,
 * compactions and rewrites, see fixtures/crash-child.ts) and reports every flush it got
 * acknowledged; the parent kills it with SIGKILL at a random point, reopens the log and checks
 * that every acknowledged entry is there and intact, and that nothing else is garbage. The
 * next child continues on the same directory, so recovery runs again and again.
 *
 * COPYCAT_LONG=1 runs 40 kills instead of 6.
 */
import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { Storage, type Entry } from '@copycat/storage';
import { crashEntry } from './fixtures/crash-entries.js';
import { cleanupDirs, recordingLogger, tempDir } from './helpers.js';

afterAll(cleanupDirs);

const LONG = process.env.COPYCAT_LONG === '1';
const here = path.dirname(fileURLToPath(import.meta.url));

interface ChildReport {
  lines: string[];
  killedAfterMs: number;
}

/** Runs the child until `killAfterMs` after it started appending, then SIGKILLs it. */
function runChild(directory: string, seed: number, killAfterMs: number): Promise<ChildReport> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      [
        '--conditions=@copycat/source',
        '--import',
        'tsx',
        path.join(here, 'fixtures', 'crash-child.ts'),
        directory,
        String(seed),
        '4000',
      ],
      {
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let output = '';
    let errors = '';
    let started = 0;
    const startTimer = setTimeout(() => child.kill('SIGKILL'), 30_000); // bound: never hang
    child.stdout.on('data', (data: Buffer) => {
      output += data.toString();
      if (started === 0 && output.includes('start ')) {
        started = Date.now();
        setTimeout(() => child.kill('SIGKILL'), killAfterMs);
      }
    });
    child.stderr.on('data', (data: Buffer) => (errors += data.toString()));
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(startTimer);
      if (started === 0)
        return reject(new Error(`child never started (code ${code}, signal ${signal}): ${errors}`));
      if (signal !== 'SIGKILL' && code !== 0)
        return reject(new Error(`child failed (code ${code}): ${errors}`));
      // Only whole lines count: the kill may cut the last one.
      const lines = output.split('\n');
      lines.pop();
      resolve({ lines, killedAfterMs: Date.now() - started });
    });
  });
}

function same(a: Entry, b: Entry): boolean {
  if (
    a.index !== b.index ||
    a.term !== b.term ||
    a.type !== b.type ||
    a.timestamp !== b.timestamp ||
    a.flags !== b.flags
  )
    return false;
  if (a.payload.length !== b.payload.length) return false;
  for (let i = 0; i < a.payload.length; i++) if (a.payload[i] !== b.payload[i]) return false;
  return true;
}

function termIn(runs: [number, number][], index: number): number {
  let term = 0;
  for (const [start, t] of runs) if (start <= index) term = t;
  return term;
}

describe('kill -9 while appending', () => {
  it(
    'keeps every entry whose flush() was acknowledged, intact',
    async () => {
      const directory = tempDir('copycat-crash-');
      const kills = LONG ? 40 : 6;
      let compactedBefore = 1;
      const mayBeRemoved = new Set<number>();
      let totalAcks = 0;
      let expectedAtLeast = 0;
      for (let round = 0; round < kills; round++) {
        const seed = 1 + Math.floor(Math.random() * 2 ** 31);
        const killAfterMs = 30 + Math.floor(Math.random() * 500);
        const report = await runChild(directory, seed, killAfterMs);
        const context = `round ${round}, seed ${seed}, killed after ${report.killedAfterMs} ms`;

        // What the child promised: the last acknowledged state, and what it was doing since.
        let ack: { last: number; runs: [number, number][] } | undefined;
        let truncatedSinceAck = Number.POSITIVE_INFINITY;
        for (const line of report.lines) {
          const [word, a, b] = line.split(' ');
          if (word === 'start') {
            expect(
              Number(b),
              `${context}: the child saw less than was acknowledged before`,
            ).toBeGreaterThanOrEqual(expectedAtLeast);
          } else if (word === 'ack') {
            ack = { last: Number(a), runs: JSON.parse(line.slice(line.indexOf('['))) as [number, number][] };
            truncatedSinceAck = Number.POSITIVE_INFINITY;
            totalAcks++;
          } else if (word === 'truncate') truncatedSinceAck = Math.min(truncatedSinceAck, Number(a));
          else if (word === 'compact') compactedBefore = Math.max(compactedBefore, Number(a));
          else if (word === 'release')
            for (let i = Number(a); i <= Number(b); i++) if (i % 3 === 0) mayBeRemoved.add(i);
        }

        const logger = recordingLogger();
        const storage = new Storage({ directory, logger, maxSegmentSize: 64 * 1024 });
        const log = await storage.openLog('raft');
        try {
          expect(log.firstIndex, context).toBeLessThanOrEqual(compactedBefore);
          if (ack !== undefined) {
            const upper = Math.min(ack.last, truncatedSinceAck);
            expect(log.lastIndex, context).toBeGreaterThanOrEqual(upper);
            for (let i = log.firstIndex; i <= upper; i++) {
              const entry = log.get(i);
              if (entry === undefined) {
                expect(mayBeRemoved.has(i), `${context}: acknowledged entry ${i} is missing`).toBe(true);
                continue;
              }
              const expected = crashEntry(i, termIn(ack.runs, i));
              if (!same(entry, expected)) expect(entry, `${context}: entry ${i}`).toEqual(expected);
            }
            expectedAtLeast = upper;
          }
          // Whatever else survived is an entry the child wrote, whole.
          for (const entry of log.getRange(log.firstIndex, log.lastIndex)) {
            const expected = crashEntry(entry.index, entry.term);
            if (!same(entry, expected)) expect(entry, context).toEqual(expected);
            if (log.termAt(entry.index) !== entry.term) expect(log.termAt(entry.index)).toBe(entry.term);
          }
        } finally {
          await storage.close();
        }
      }
      // The test means something only if the children got work acknowledged.
      expect(totalAcks).toBeGreaterThan(kills);
      console.log(`kill -9 test: ${kills} kills, ${totalAcks} acknowledged flushes checked`);
    },
    LONG ? 900_000 : 60_000,
  );
});
