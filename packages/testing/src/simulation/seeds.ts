/**
 * Which seeds a simulation test runs. `SEED=<n>` replays exactly one seed (the one a failure
 * printed); `SEEDS=<count>` runs more (or fewer) than the test's default; otherwise the test
 * runs `count` consecutive seeds from `base`, so CI is reproducible run to run.
 */
import { checkSeed } from '../prng.js';

export interface TestSeedsOptions {
  /** First seed. Default 1. */
  base?: number;
  /** Where to read SEED / SEEDS. Default `process.env`. */
  env?: Readonly<Record<string, string | undefined>>;
}

export function testSeeds(count: number, options: TestSeedsOptions = {}): number[] {
  const env = options.env ?? process.env;
  const single = env.SEED;
  if (single !== undefined && single !== '') return [parseSeed(single, 'SEED')];
  const wanted = env.SEEDS !== undefined && env.SEEDS !== '' ? parseSeed(env.SEEDS, 'SEEDS') : count;
  const base = options.base ?? 1;
  checkSeed(base);
  return Array.from({ length: wanted }, (_, i) => base + i);
}

function parseSeed(text: string, name: string): number {
  const value = Number(text);
  if (!/^\d+$/.test(text.trim()) || !Number.isSafeInteger(value))
    throw new RangeError(`${name} must be a non-negative integer, got '${text}'`);
  return value;
}
