#!/usr/bin/env node
// `pnpm sim [--seeds N] [--first S]`: runs the deterministic simulation suites (the core's and
// the real components') with N seeds per variant (default 2000) and prints seeds per second. A failing seed is printed with its fault
// log; rerun it alone with `--first <seed> --seeds 1`.
import { spawnSync } from 'node:child_process';
import { performance } from 'node:perf_hooks';

const args = process.argv.slice(2);
const option = (name, fallback) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 && args[i + 1] !== undefined ? Number(args[i + 1]) : fallback;
};
const seeds = option('seeds', 2000);
const first = option('first', 1);
if (!Number.isInteger(seeds) || seeds < 1 || !Number.isInteger(first)) {
  console.error('usage: pnpm sim [--seeds N] [--first SEED]');
  process.exit(2);
}
const start = performance.now();
const result = spawnSync(
  'pnpm',
  [
    'exec',
    'vitest',
    'run',
    '--project',
    '@copycat/server',
    'test/simulation.test.ts',
    'test/fault-schedule.test.ts',
    'test/client-simulation.test.ts',
    '--testTimeout',
    '0',
  ],
  {
    stdio: 'inherit',
    env: {
      ...process.env,
      COPYCAT_SIM_SEEDS: String(seeds),
      COPYCAT_REAL_SIM_SEEDS: String(seeds),
      COPYCAT_CLIENT_SIM_SEEDS: String(seeds),
      COPYCAT_SIM_FIRST_SEED: String(first),
    },
  },
);
const seconds = (performance.now() - start) / 1000;
// The core suite runs each seed in three fault variants, the real-component suite in two, the
// client suite in one (its read level varies with the seed).
const runs = seeds * 6;
console.log(
  `sim: ${runs} seeded runs (${seeds} seeds x 6 variants) in ${seconds.toFixed(1)} s: ${(runs / seconds).toFixed(1)} runs/s`,
);
process.exit(result.status ?? 1);
