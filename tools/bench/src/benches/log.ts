/**
 * `pnpm bench log [--quick] [--size=1g] [--seconds=0.4] [--preallocate=false] [--cold]`: the disk
 * log against the bare file system on the same disk, in the same run. `--preallocate=false` runs
 * the log with growing segment files (as before preallocation), for comparison.
 *
 * 1. Appends of 64 B and 1 KiB entries in batches of 1, 16 and 256, one `flush()` (fdatasync)
 *    per batch, against a loop of `fs.writeSync` + `fs.fsyncSync` writing the same number of
 *    bytes per batch (the encoded records' size). Ours and the baseline alternate in short
 *    paired rounds (A-B-B-A); rates are medians and the ratio is the median of the per-pair
 *    ratios, because fsync latency on shared disks drifts. A last column runs the baseline with
 *    the fsync on libuv's thread pool (as the log does, to keep the event loop free), which
 *    shows the cost of that thread hop on its own.
 * 2. A log of `--size` bytes (default 1 GiB) of 1 KiB entries: reopening it (scan, checksum
 *    and index rebuild of every record), then reading it all back with `getRange` and with
 *    `getRecords`, against reading the same files with bare `fs.readSync`. The files were just
 *    written, so reads come from the page cache on both sides; with `--cold` (root only: it
 *    writes /proc/sys/vm/drop_caches) the page cache is dropped before each reopen and each
 *    read, so both sides read from the disk. Segments are preallocated (the
 *    default): rates count the log's data bytes, and the bare read reads those bytes of each
 *    file, not the zeros after them.
 *
 * Temporary files live under os.tmpdir() and are deleted at the end.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { Storage, recordSize, type Entry, type Log } from '@copycat/storage';
import { median, printTable, writeResults, type Row } from '../report.js';

const MB = 1e6;

function parseSize(text: string): number {
  const match = /^(\d+(?:\.\d+)?)([kmg]?)i?b?$/i.exec(text.trim());
  if (match === null) throw new Error(`bad size '${text}' (use e.g. 1g, 256m, 1048576)`);
  const unit = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 }[
    match[2]!.toLowerCase() as '' | 'k' | 'm' | 'g'
  ];
  return Math.round(Number(match[1]) * unit);
}

function option(args: string[], name: string): string | undefined {
  const prefix = `--${name}=`;
  return args.find((a) => a.startsWith(prefix))?.slice(prefix.length);
}

function makeBatch(first: number, count: number, payload: Uint8Array): Entry[] {
  const entries: Entry[] = [];
  for (let i = 0; i < count; i++)
    entries.push({ index: first + i, term: 1, type: 'command', timestamp: 0, payload });
  return entries;
}

interface Rate {
  entries: number;
  bytes: number;
  syncs: number;
}

/** Runs `step` (one batch) for `ms` milliseconds; returns per-second rates. */
async function measure(ms: number, step: () => Promise<Rate> | Rate): Promise<Rate> {
  const total: Rate = { entries: 0, bytes: 0, syncs: 0 };
  const start = performance.now();
  let elapsed = 0;
  do {
    const r = await step();
    total.entries += r.entries;
    total.bytes += r.bytes;
    total.syncs += r.syncs;
    elapsed = performance.now() - start;
  } while (elapsed < ms);
  const seconds = elapsed / 1000;
  return { entries: total.entries / seconds, bytes: total.bytes / seconds, syncs: total.syncs / seconds };
}

async function appendBench(
  root: string,
  quick: boolean,
  seconds: number,
  preallocate: boolean,
): Promise<Row[]> {
  const rows: Row[] = [];
  // Many short rounds in pairs, in A-B-B-A order, and the median of the per-pair ratios: the
  // two sides then see the same disk weather (fsync latency on shared disks drifts a lot).
  const pairs = quick ? 6 : 16;
  const roundMs = (seconds * 1000) / 4;
  for (const size of [64, 1024]) {
    const payload = new Uint8Array(size).map((_, i) => i & 0xff);
    for (const batch of [1, 16, 256]) {
      const dir = path.join(root, `append-${size}-${batch}`);
      const storage = new Storage({ directory: dir, preallocate });
      const log = await storage.openLog('bench');
      const baselineFile = path.join(root, `baseline-${size}-${batch}`);
      const fd = fs.openSync(baselineFile, 'w');
      const batchBytes = batch * recordSize(size);
      const buffer = Buffer.alloc(batchBytes, 7);
      const ours: Rate[] = [];
      const base: Rate[] = [];
      const asyncBase: Rate[] = [];
      const ratios: number[] = [];
      let next = 1;
      const oursStep = async (): Promise<Rate> => {
        const syncs = log.stats.syncs;
        log.append(makeBatch(next, batch, payload));
        next += batch;
        await log.flush();
        return { entries: batch, bytes: batchBytes, syncs: log.stats.syncs - syncs };
      };
      const baseStep = (): Rate => {
        fs.writeSync(fd, buffer);
        fs.fsyncSync(fd);
        return { entries: batch, bytes: batchBytes, syncs: 1 };
      };
      // The same with the fsync on libuv's thread pool, as the log does it so the event loop
      // stays free: shows what the thread hop itself costs on this machine.
      const asyncBaseStep = async (): Promise<Rate> => {
        fs.writeSync(fd, buffer);
        await new Promise<void>((resolve, reject) =>
          fs.fdatasync(fd, (error) => (error ? reject(error) : resolve())),
        );
        return { entries: batch, bytes: batchBytes, syncs: 1 };
      };
      await measure(Math.min(100, roundMs), oursStep); // warm up the JIT and the files
      await measure(Math.min(100, roundMs), baseStep);
      for (let pair = 0; pair < pairs; pair++) {
        let a: Rate;
        let b: Rate;
        if (pair % 2 === 0) {
          a = await measure(roundMs, oursStep);
          b = await measure(roundMs, baseStep);
        } else {
          b = await measure(roundMs, baseStep);
          a = await measure(roundMs, oursStep);
        }
        ours.push(a);
        base.push(b);
        ratios.push(a.bytes / b.bytes);
        if (pair % 4 === 0) asyncBase.push(await measure(roundMs, asyncBaseStep));
      }
      fs.closeSync(fd);
      fs.rmSync(baselineFile);
      await storage.close();
      fs.rmSync(dir, { recursive: true, force: true });
      const m = (list: Rate[], key: keyof Rate) => median(list.map((r) => r[key]));
      rows.push({
        'entry B': size,
        batch,
        'entries/s': m(ours, 'entries'),
        'MB/s': m(ours, 'bytes') / MB,
        'fsyncs/s': m(ours, 'syncs'),
        'baseline entries/s': m(base, 'entries'),
        'baseline MB/s': m(base, 'bytes') / MB,
        'baseline fsyncs/s': m(base, 'syncs'),
        'ours / baseline': median(ratios),
        'async-fsync baseline MB/s': m(asyncBase, 'bytes') / MB,
      });
    }
  }
  return rows;
}

async function fillLog(log: Log, bytes: number, entrySize: number): Promise<number> {
  const payload = new Uint8Array(entrySize).map((_, i) => (i * 7) & 0xff);
  const count = Math.max(1, Math.floor(bytes / recordSize(entrySize)));
  const batch = 4096;
  for (let first = 1; first <= count; first += batch) {
    log.append(makeBatch(first, Math.min(batch, count - first + 1), payload));
    await log.flush();
  }
  return count;
}

/** Segment file names of the log and their data bytes (a preallocated file is longer). */
function segmentFiles(log: Log, name: string): Map<string, number> {
  return new Map(log.segments().map((s) => [`${name}-${s.id}-${s.version}.log`, s.bytes]));
}

function bareRead(dir: string, files: Map<string, number>): number {
  const buffer = Buffer.allocUnsafe(4 << 20);
  let total = 0;
  for (const [name, bytes] of files) {
    const fd = fs.openSync(path.join(dir, name), 'r');
    for (let done = 0; done < bytes;) {
      const n = fs.readSync(fd, buffer, 0, Math.min(buffer.length, bytes - done), null);
      if (n === 0) break;
      done += n;
      total += n;
    }
    fs.closeSync(fd);
  }
  return total;
}

/** Drops the page cache (the log's files are synced, so all their pages are clean). */
function dropCaches(): void {
  try {
    fs.writeFileSync('/proc/sys/vm/drop_caches', '3');
  } catch (error) {
    throw new Error(
      `--cold needs to write /proc/sys/vm/drop_caches (Linux, as root): ${(error as Error).message}`,
    );
  }
}

async function volumeBench(
  root: string,
  size: number,
  quick: boolean,
  preallocate: boolean,
  cold: boolean,
): Promise<Row[]> {
  const chill = cold ? dropCaches : () => {};
  const dir = path.join(root, 'volume');
  const entrySize = 1024;
  let storage = new Storage({ directory: dir, preallocate });
  let log = await storage.openLog('bench');
  const writeStart = performance.now();
  const count = await fillLog(log, size, entrySize);
  const writeSeconds = (performance.now() - writeStart) / 1000;
  const files = segmentFiles(log, 'bench');
  await storage.close();
  const fileBytes = [...files.values()].reduce((sum, bytes) => sum + bytes, 0);

  const rows: Row[] = [];
  const runs = quick ? 1 : 3;
  const reopenTimes: number[] = [];
  for (let run = 0; run < runs; run++) {
    storage = new Storage({ directory: dir, preallocate });
    chill();
    const start = performance.now();
    log = await storage.openLog('bench');
    reopenTimes.push(performance.now() - start);
    if (log.lastIndex !== count)
      throw new Error(`reopened log has ${log.lastIndex} entries, expected ${count}`);
    if (run < runs - 1) await storage.close();
  }
  const reopenSeconds = median(reopenTimes) / 1000;

  const rangeTimes: number[] = [];
  const recordTimes: number[] = [];
  const bareTimes: number[] = [];
  let checksum = 0;
  for (let run = 0; run < runs; run++) {
    chill();
    let start = performance.now();
    for (let from = 1; from <= count; from += 4096) {
      const entries = log.getRange(from, Math.min(count, from + 4095));
      checksum += entries.length;
    }
    rangeTimes.push(performance.now() - start);
    chill();
    start = performance.now();
    for (let from = 1; from <= count;) {
      const batch = log.getRecords(from, 4 << 20);
      checksum += batch.count;
      from = batch.lastIndex + 1;
    }
    recordTimes.push(performance.now() - start);
    chill();
    start = performance.now();
    checksum += bareRead(dir, files);
    bareTimes.push(performance.now() - start);
  }
  if (checksum === 0) console.log(checksum);
  await storage.close();
  fs.rmSync(dir, { recursive: true, force: true });

  const rate = (ms: number) => fileBytes / (ms / 1000) / MB;
  const bare = rate(median(bareTimes));
  rows.push(
    {
      operation: `append ${count.toLocaleString('en-US')} x 1 KiB (batches of 4096)`,
      seconds: writeSeconds,
      'MB/s': fileBytes / writeSeconds / MB,
      'vs bare read': '',
    },
    {
      operation: 'reopen (scan + CRC + index rebuild)',
      seconds: reopenSeconds,
      'MB/s': fileBytes / reopenSeconds / MB,
      'vs bare read': fileBytes / reopenSeconds / MB / bare,
    },
    {
      operation: 'read back with getRange (entries)',
      seconds: median(rangeTimes) / 1000,
      'MB/s': rate(median(rangeTimes)),
      'vs bare read': rate(median(rangeTimes)) / bare,
    },
    {
      operation: 'read back with getRecords (bytes)',
      seconds: median(recordTimes) / 1000,
      'MB/s': rate(median(recordTimes)),
      'vs bare read': rate(median(recordTimes)) / bare,
    },
    {
      operation: 'baseline: bare fs.readSync of the files',
      seconds: median(bareTimes) / 1000,
      'MB/s': bare,
      'vs bare read': 1,
    },
  );
  return rows;
}

export async function run(args: string[]): Promise<void> {
  const quick = args.includes('--quick') || process.env.BENCH_QUICK === '1';
  const size = parseSize(option(args, 'size') ?? (quick ? '64m' : '1g'));
  const seconds = Number(option(args, 'seconds') ?? (quick ? 0.25 : 0.4));
  const preallocate = option(args, 'preallocate') !== 'false';
  const cold = args.includes('--cold');
  if (cold) dropCaches(); // fails early without the rights
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'copycat-bench-log-'));
  try {
    const appendRows = await appendBench(root, quick, seconds, preallocate);
    printTable(
      'Append + flush (fdatasync) per batch vs fs.writeSync + fs.fsyncSync of the same bytes (medians)',
      appendRows,
    );
    const volumeRows = await volumeBench(root, size, quick, preallocate, cold);
    printTable(
      `Log of ${(size / 1024 ** 3).toFixed(size >= 1024 ** 3 ? 0 : 2)} GiB of 1 KiB entries: reopen and read back (page cache ${cold ? 'dropped before each step: read from the disk' : 'warm'})`,
      volumeRows,
    );
    const file = writeResults('log', { append: appendRows, volume: volumeRows, size, preallocate, cold });
    console.log(`\nresults: ${file}`);
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
}
