/**
 * One chaos run with real processes (TESTING.md item 5): 3 replica processes (`copycat server`:
 * WebSocket on 127.0.0.1, ports picked free at run time, disk storage in a temp dir), one client
 * process (`workload.ts`), and this process as the outside world that SIGKILLs the leader
 * mid-run and restarts it. Afterwards it checks the histories the clients recorded with the
 * linearizability checker, and that the cluster kept serving after each kill.
 *
 * Bounded: every wait has a timeout, every child is killed on the way out (and by
 * `killEverything()`, for a test's afterAll), the temp dir is removed unless the run failed.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ReplicaCluster, freePorts, sleep } from '@copycat/cli/replicas';
import {
  History,
  checkLinearizable,
  counterModel,
  kvModel,
  writeHistoryHtml,
  type CheckResult,
} from '@copycat/testing';
import type { WorkloadConfig, WorkloadMessage, WorkloadStats } from './messages.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const tsx = createRequire(import.meta.url).resolve('tsx');

export interface ScenarioOptions {
  /** How long the clients run (ms). Default 12 000. */
  durationMs?: number;
  /** How many times the leader is killed (and restarted), spread over the run. Default 1. */
  kills?: number;
  /** Client processes' `RaftClient`s, and logical processes per client. Defaults 4 and 3. */
  clients?: number;
  workersPerClient?: number;
  /** `submit` timeout of each operation (ms): past it the outcome is unknown (`info`). Default 5000. */
  operationTimeout?: number;
  /** Keep the temp dir (histories, replica data) even if the run passed. */
  keep?: boolean;
  /** Progress lines. Default: none. */
  log?: (line: string) => void;
  /** Self-check: record sequential reads as linearizable ones (the check must then fail). */
  unsafeReads?: boolean;
  /** Time budget of each linearizability check (ms). Default 60 000. */
  checkTimeoutMs?: number;
}

export interface KillRecord {
  victim: string;
  term: number;
  /** ms after the clients started. */
  killedAt: number;
  /** ms from the kill until another replica reported itself leader (undefined: none did). */
  electedAfter?: number;
  newLeader?: string;
  restartedAt?: number;
  /** Operations invoked after the kill that completed `ok`: the cluster served again. */
  okAfter: number;
}

export interface CheckSummary {
  result: CheckResult['result'];
  operations: number;
  elapsedMs: number;
  description: string;
}

export interface ScenarioResult {
  passed: boolean;
  problems: string[];
  /** The temp dir; removed when the run passed, unless `keep`. */
  dir: string;
  kept: boolean;
  stats?: WorkloadStats;
  kills: KillRecord[];
  kv?: CheckSummary;
  counter?: CheckSummary;
  /** Wall time of the whole run (ms). */
  elapsedMs: number;
}

/** Cleanup of every run still going on (children to kill). */
const running = new Set<() => Promise<void>>();

/** Kills the children of every run in progress: for a test's afterAll after a failure. */
export async function killEverything(): Promise<void> {
  await Promise.all([...running].map((kill) => kill()));
}

export async function runScenario(options: ScenarioOptions = {}): Promise<ScenarioResult> {
  const durationMs = options.durationMs ?? 12_000;
  const killCount = options.kills ?? 1;
  const log = options.log ?? (() => {});
  const started = Date.now();
  const dir = mkdtempSync(path.join(tmpdir(), 'copycat-chaos-'));
  const problems: string[] = [];
  const kills: KillRecord[] = [];
  const members = (await freePorts(3)).map((port) => `127.0.0.1:${port}`);
  const cluster = new ReplicaCluster({ members, root: path.join(dir, 'replicas'), output: 'pipe' });
  let workload: ChildProcess | undefined;
  const workloadOutput: string[] = [];
  let finishing = false;
  const killAll = async () => {
    workload?.kill('SIGKILL');
    await cluster.kill();
  };
  running.add(killAll);
  for (const replica of cluster.replicas) {
    replica.onExit(({ code, signal }) => {
      if (finishing || signal === 'SIGKILL') return;
      problems.push(
        `replica ${replica.address} exited by itself (${signal ?? `code ${code}`}); its last output:\n    ` +
          replica.output.slice(-15).join('\n    '),
      );
    });
  }

  const result: ScenarioResult = { passed: false, problems, dir, kept: true, kills, elapsedMs: 0 };
  try {
    log(`replicas ${members.join(', ')}; data and histories in ${dir}`);
    cluster.start();
    const first = await cluster.waitForLeader(30_000);
    log(`leader ${first.leader.address} (term ${first.leader.term}) after ${first.elapsed} ms`);

    const config: WorkloadConfig = {
      members,
      durationMs,
      clients: options.clients ?? 4,
      workersPerClient: options.workersPerClient ?? 3,
      operationTimeout: options.operationTimeout ?? 5000,
      requestTimeout: 1000,
      ...(options.unsafeReads === true ? { unsafeReads: true } : {}),
      kvHistory: path.join(dir, 'kv.jsonl'),
      counterHistory: path.join(dir, 'counter.jsonl'),
    };
    const child = fork(path.join(here, 'workload.ts'), [JSON.stringify(config)], {
      execArgv: ['--conditions=@copycat/source', '--import', tsx],
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    });
    workload = child;
    const keep = (data: Buffer) => workloadOutput.push(...data.toString().split('\n').filter(Boolean));
    child.stdout?.on('data', keep);
    child.stderr?.on('data', keep);
    const exited = once(child, 'exit') as Promise<[number | null, NodeJS.Signals | null]>;
    const messages: WorkloadMessage[] = [];
    child.on('message', (message: WorkloadMessage) => messages.push(message));
    const waitMessage = async (type: WorkloadMessage['type'], timeout: number) => {
      const deadline = Date.now() + timeout;
      let message: WorkloadMessage | undefined;
      while ((message = messages.find((m) => m.type === type)) === undefined) {
        if (child.exitCode !== null || child.signalCode !== null)
          throw new Error(
            `the client process exited before '${type}':\n    ${workloadOutput.slice(-20).join('\n    ')}`,
          );
        if (Date.now() > deadline)
          throw new Error(`the client process sent no '${type}' within ${timeout} ms`);
        await sleep(20);
      }
      return message;
    };
    await waitMessage('ready', 30_000);
    const clientsStarted = Date.now();
    log(`clients running for ${durationMs} ms`);

    // Kills, one per slot of the run: at a random point of its first half, down for 1-3.5 s.
    const slot = durationMs / killCount;
    for (let k = 0; k < killCount; k++) {
      const killAt = k * slot + slot * (0.15 + 0.35 * Math.random());
      const downFor = Math.min(1000 + 2500 * Math.random(), slot * 0.4);
      await sleep(Math.max(0, clientsStarted + killAt - Date.now()));
      const victim = cluster.leader() ?? (await cluster.waitForLeader(10_000)).leader;
      const record: KillRecord = {
        victim: victim.address,
        term: victim.term,
        killedAt: Date.now() - clientsStarted,
        okAfter: 0,
      };
      kills.push(record);
      await victim.kill('SIGKILL');
      log(`killed the leader ${victim.address} (term ${record.term}) at ${record.killedAt} ms`);
      const elected = cluster.waitForLeader(15_000, victim).then(
        ({ leader, elapsed }) => {
          record.electedAfter = elapsed;
          record.newLeader = leader.address;
          log(`  new leader ${leader.address} (term ${leader.term}) ${elapsed} ms after the kill`);
        },
        () => problems.push(`no new leader within 15 s of killing ${victim.address}`),
      );
      await sleep(downFor);
      victim.start();
      record.restartedAt = Date.now() - clientsStarted;
      log(`  restarted ${victim.address} at ${record.restartedAt} ms`);
      await elected;
    }

    const done = await waitMessage('done', durationMs + 30_000);
    if (done.type !== 'done') throw new Error('unreachable');
    result.stats = done.stats;
    const [code] = await Promise.race([exited, sleep(10_000).then(() => [null, null] as const)]);
    if (code !== 0) problems.push(`the client process exited with code ${code}`);

    const kv = History.readFile(config.kvHistory);
    const counter = History.readFile(config.counterHistory);
    for (const record of kills) {
      const killedAt = clientsStarted + record.killedAt;
      record.okAfter = [kv, counter]
        .flatMap((history) => history.operations())
        .filter((op) => op.outcome === 'ok' && op.invokedAt > killedAt).length;
      if (record.okAfter === 0)
        problems.push(`no operation invoked after the kill of ${record.victim} succeeded`);
    }
    const timeoutMs = options.checkTimeoutMs ?? 60_000;
    result.kv = check('map', kv, checkLinearizable(kv, kvModel({ returnsPrevious: true }), { timeoutMs }));
    result.counter = check('counter', counter, checkLinearizable(counter, counterModel(), { timeoutMs }));
    for (const violation of done.stats.sequentialViolations)
      problems.push(`sequential read went back: ${violation}`);
    // A leader change must not cost a healthy client its session (INTERNALS.md: a new leader's
    // initialize entry resets every session's keep-alive time).
    for (const change of done.stats.sessionChanges.filter((c) => c.endsWith('-> expired')))
      problems.push(`a session expired during the run: ${change}`);
    if (done.stats.ok === 0) problems.push('no operation succeeded');
  } catch (error) {
    problems.push((error as Error).message);
  } finally {
    finishing = true;
    if (problems.length > 0) await killAll();
    else {
      workload?.kill('SIGKILL');
      await cluster.stop(5000);
    }
    running.delete(killAll);
  }

  result.passed = problems.length === 0;
  result.kept = !result.passed || options.keep === true;
  if (!result.kept) rmSync(dir, { recursive: true, force: true });
  result.elapsedMs = Date.now() - started;
  return result;

  function check(name: string, history: History, outcome: CheckResult): CheckSummary {
    const summary = {
      result: outcome.result,
      operations: outcome.operations,
      elapsedMs: Math.round(outcome.elapsedMs),
      description: outcome.describe(),
    };
    if (outcome.result !== 'ok') {
      const file = writeHistoryHtml(path.join(dir, `${name}.html`), history, outcome);
      problems.push(`${name} history: ${outcome.describe()}\n  (timeline: ${file})`);
    }
    return summary;
  }
}
