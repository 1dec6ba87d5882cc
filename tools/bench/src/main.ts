/**
 * `pnpm bench <name> [args]`: runs tools/bench/src/benches/<name>.ts. `pnpm bench` lists them.
 * Each benchmark module exports `run(args: string[]): Promise<void>`.
 */
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const benchesDir = path.join(path.dirname(fileURLToPath(import.meta.url)), 'benches');
const available = readdirSync(benchesDir)
  .filter((f) => f.endsWith('.ts'))
  .map((f) => f.slice(0, -3))
  .sort();

const [name, ...args] = process.argv.slice(2);
const selected = name === undefined || name === 'all' ? available : [name];
for (const bench of selected) {
  if (!available.includes(bench)) {
    console.error(`unknown benchmark '${bench}'; available: ${available.join(', ')}`);
    process.exit(2);
  }
  const module = (await import(pathToFileURL(path.join(benchesDir, `${bench}.ts`)).href)) as {
    run(args: string[]): Promise<void>;
  };
  console.log(`\n=== bench ${bench}`);
  await module.run(args);
}
