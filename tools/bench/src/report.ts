/**
 * Shared helpers for benchmarks: timing, medians, a printed table and a JSON file per run.
 * Figures are medians of several runs; compare as ratios within one run (TESTING.md).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';

export type Row = Record<string, string | number>;

export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

/** Runs `fn` `runs` times (after `warmup` unmeasured runs) and returns each run's duration in ms. */
export async function timeRuns(runs: number, fn: () => unknown, warmup = 1): Promise<number[]> {
  for (let i = 0; i < warmup; i++) await fn();
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const start = performance.now();
    await fn();
    times.push(performance.now() - start);
  }
  return times;
}

/** Median rate (units per second) of `runs` runs that each process `units` units. */
export async function medianRate(
  runs: number,
  units: number,
  fn: () => unknown,
  warmup = 1,
): Promise<number> {
  const times = await timeRuns(runs, fn, warmup);
  return units / (median(times) / 1000);
}

export function formatNumber(value: number): string {
  if (!Number.isFinite(value)) return String(value);
  if (Number.isInteger(value)) return value.toLocaleString('en-US');
  if (Math.abs(value) >= 100) return Math.round(value).toLocaleString('en-US');
  if (Math.abs(value) >= 1) return value.toFixed(2);
  return value.toPrecision(3);
}

/** Prints rows as an aligned table. */
export function printTable(title: string, rows: readonly Row[]): void {
  console.log(`\n${title}`);
  if (rows.length === 0) return;
  const columns = Object.keys(rows[0]!);
  const cells = rows.map((row) =>
    columns.map((c) => (typeof row[c] === 'number' ? formatNumber(row[c]) : String(row[c] ?? ''))),
  );
  const widths = columns.map((c, i) => Math.max(c.length, ...cells.map((r) => r[i]!.length)));
  const line = (values: string[]) => values.map((v, i) => v.padStart(widths[i]!)).join('  ');
  console.log(line(columns));
  console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  for (const r of cells) console.log(line(r));
}

/** Writes the rows of a benchmark to bench-results/<name>.json (relative to the cwd). */
export function writeResults(name: string, data: unknown): string {
  const dir = path.resolve(process.env.BENCH_RESULTS_DIR ?? 'bench-results');
  mkdirSync(dir, { recursive: true });
  const file = path.join(dir, `${name}.json`);
  writeFileSync(
    file,
    JSON.stringify({ name, date: new Date().toISOString(), node: process.version, data }, null, 2),
  );
  return file;
}
