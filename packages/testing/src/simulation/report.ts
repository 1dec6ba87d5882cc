/**
 * Making a failed seed replayable: `withSeed` runs a simulation body and, if it throws,
 * rethrows a `SimulationFailure` whose message holds the seed, how to replay it, the fault
 * schedule (and what it did), and the paths of files written for a person to read: the
 * history as an HTML timeline and as JSON lines, and the schedule as text.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { checkLinearizable, type CheckResult } from '../checker/check.js';
import type { AppliedFaults } from '../faults/schedule.js';
import type { FaultSchedule } from '../faults/schedule.js';
import type { History } from '../history/history.js';
import type { Model } from '../models/model.js';
import { writeHistoryHtml } from '../visualize/html.js';
import { LinearizabilityError } from './assert.js';

/** What a simulation body attaches so that a failure can be explained. */
export interface SimulationReport {
  readonly seed: number;
  setFaults(schedule: FaultSchedule, applied?: AppliedFaults): void;
  setHistory(history: History, model?: Model<unknown>): void;
  note(text: string): void;
}

export interface WithSeedOptions {
  /** Names the test in the artifact folder and the replay hint. */
  name?: string;
  /** Where to write artifacts. Default `$TMPDIR/copycat-sim`. */
  artifactsDir?: string;
  /** Budget for checking an attached history on failure, in ms. Default 5,000. */
  checkTimeoutMs?: number;
}

export class SimulationFailure extends Error {
  constructor(
    readonly seed: number,
    message: string,
    /** Files written for this failure. */
    readonly artifacts: readonly string[],
    cause: unknown,
  ) {
    super(message, { cause });
    this.name = 'SimulationFailure';
  }
}

export async function withSeed<T>(
  seed: number,
  body: (report: SimulationReport) => Promise<T> | T,
  options: WithSeedOptions = {},
): Promise<T> {
  let schedule: FaultSchedule | undefined;
  let applied: AppliedFaults | undefined;
  let history: History | undefined;
  let model: Model<unknown> | undefined;
  const notes: string[] = [];
  const report: SimulationReport = {
    seed,
    setFaults: (s, a) => {
      schedule = s;
      applied = a;
    },
    setHistory: (h, m) => {
      history = h;
      model = m;
    },
    note: (text) => void notes.push(text),
  };
  try {
    return await body(report);
  } catch (error) {
    if (error instanceof SimulationFailure) throw error;
    const name = options.name ?? 'simulation';
    const dir = path.join(
      options.artifactsDir ?? path.join(tmpdir(), 'copycat-sim'),
      `${slug(name)}-seed-${seed}`,
    );
    const artifacts: string[] = [];
    const lines: string[] = [];
    lines.push(`${name} failed with seed ${seed}: ${describeError(error)}`);
    lines.push(`replay: SEED=${seed} pnpm exec vitest run -t ${JSON.stringify(name)}`);
    try {
      mkdirSync(dir, { recursive: true });
      if (schedule !== undefined) {
        const file = path.join(dir, 'faults.txt');
        writeFileSync(
          file,
          `${schedule.describe()}\n${applied === undefined ? '' : `\napplied:\n${applied.describe()}\n`}`,
        );
        artifacts.push(file);
      }
      if (history !== undefined) {
        let result: CheckResult | undefined =
          error instanceof LinearizabilityError ? error.result : undefined;
        if (result === undefined && model !== undefined)
          result = checkLinearizable(history, model, { timeoutMs: options.checkTimeoutMs ?? 5000 });
        artifacts.push(writeHistoryHtml(path.join(dir, 'history.html'), history, result));
        const jsonl = path.join(dir, 'history.jsonl');
        history.writeFile(jsonl);
        artifacts.push(jsonl);
      }
    } catch (writeError) {
      lines.push(`(could not write artifacts to ${dir}: ${describeError(writeError)})`);
    }
    if (schedule !== undefined) lines.push('', schedule.describe());
    if (applied !== undefined && applied.log.length > 0)
      lines.push('', 'applied faults:', applied.describe());
    if (notes.length > 0) lines.push('', ...notes);
    if (artifacts.length > 0) lines.push('', 'artifacts:', ...artifacts.map((a) => `  ${a}`));
    throw new SimulationFailure(seed, lines.join('\n'), artifacts, error);
  }
}

function slug(name: string): string {
  return (
    name
      .replace(/[^a-zA-Z0-9._-]+/g, '-')
      .replace(/^-+|-+$/g, '')
      .slice(0, 60) || 'simulation'
  );
}

function describeError(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
