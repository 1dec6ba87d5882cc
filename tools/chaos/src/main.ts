/**
 * `pnpm chaos [--runs N] [--duration S] [--kills K] [--clients C] [--op-timeout MS] [--keep] [--verbose] [--self-check]`: the chaos scenario
 * (scenario.ts) N times (default 5), each with the clients running S seconds (default 20) and the
 * leader killed K times (default 2) at random moments; prints one line per run and a summary.
 * Exit 1 if any run failed; its temp dir (histories, timelines, replica data) is kept and printed.
 * Not part of `pnpm test` (the test runs one short scenario). `--self-check` records sequential
 * reads from random members as linearizable ones: then runs must FAIL (stale reads found), which
 * shows the pipeline can catch a violation; the exit code is inverted for it.
 */
import { runScenario, type ScenarioResult } from './scenario.js';

function option(args: readonly string[], name: string, fallback: number): number {
  const at = args.indexOf(`--${name}`);
  if (at < 0) return fallback;
  const value = Number(args[at + 1]);
  if (!Number.isInteger(value) || value <= 0) {
    console.error(`chaos: --${name} needs a positive integer, got ${String(args[at + 1])}`);
    process.exit(2);
  }
  return value;
}

const args = process.argv.slice(2);
const runs = option(args, 'runs', 5);
const duration = option(args, 'duration', 20);
const kills = option(args, 'kills', 2);
const clients = option(args, 'clients', 4);
const operationTimeout = option(args, 'op-timeout', 5000);
const verbose = args.includes('--verbose');
const selfCheck = args.includes('--self-check');

console.log(
  `chaos: ${runs} run(s): 3 replica processes, ${clients} clients x 3 workers for ${duration} s, leader killed ${kills}x per run`,
);
const results: ScenarioResult[] = [];
for (let run = 1; run <= runs; run++) {
  const result = await runScenario({
    durationMs: duration * 1000,
    kills,
    clients,
    operationTimeout,
    keep: args.includes('--keep'),
    unsafeReads: selfCheck,
    log: verbose ? (line) => console.log(`  [${run}] ${line}`) : () => {},
  });
  results.push(result);
  const s = result.stats;
  const elections = result.kills
    .map((k) => (k.electedAfter === undefined ? '-' : `${k.electedAfter}`))
    .join('/');
  console.log(
    `run ${run}: ${result.passed ? 'PASS' : 'FAIL'}  ` +
      `${s?.operations ?? 0} ops (${s?.ok ?? 0} ok, ${s?.info ?? 0} unknown, ${s?.fail ?? 0} failed), ` +
      `kills at ${result.kills.map((k) => `${(k.killedAt / 1000).toFixed(1)}s`).join(', ')}, ` +
      `new leader after ${elections} ms, ` +
      `map ${result.kv?.result ?? '-'} (${result.kv?.elapsedMs ?? '-'} ms), counter ${result.counter?.result ?? '-'} (${result.counter?.elapsedMs ?? '-'} ms), ` +
      `${s?.sequentialReads ?? 0} sequential reads checked, ${(result.elapsedMs / 1000).toFixed(1)} s`,
  );
  if (s !== undefined && Object.keys(s.errors).length > 0 && verbose)
    console.log(
      `  errors: ${JSON.stringify(s.errors)}; session changes: ${s.sessionChanges.join('; ') || 'none'}`,
    );
  for (const problem of result.problems) console.log(`  problem: ${problem}`);
  if (result.kept) console.log(`  files: ${result.dir}`);
}

const failed = results.filter((r) => !r.passed).length;
const total = (f: (r: ScenarioResult) => number) => results.reduce((sum, r) => sum + f(r), 0);
const elections = results.flatMap((r) =>
  r.kills.flatMap((k) => (k.electedAfter === undefined ? [] : [k.electedAfter])),
);
console.log(
  `\nsummary: ${runs - failed}/${runs} runs passed; ${total((r) => r.stats?.operations ?? 0)} operations ` +
    `(${total((r) => r.stats?.ok ?? 0)} ok, ${total((r) => r.stats?.info ?? 0)} unknown); ` +
    `${elections.length} leader kills, new leader after ${elections.length === 0 ? '-' : `${Math.min(...elections)}-${Math.max(...elections)}`} ms`,
);
if (selfCheck) {
  console.log(
    failed === runs
      ? 'self-check: every run failed, as it must (sequential reads recorded as linearizable are caught)'
      : `self-check: ${runs - failed} run(s) passed although their reads were not linearizable`,
  );
  process.exit(failed === runs ? 0 : 1);
}
process.exit(failed === 0 ? 0 : 1);
