import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  FaultSchedule,
  History,
  LinearizabilityError,
  SimulationFailure,
  assertLinearizable,
  checkLinearizable,
  registerModel,
  runSimulation,
  testSeeds,
  withSeed,
  type Simulation,
} from '@copycat/testing';
import { ToyCluster } from './toy-cluster.js';
import { ok } from './fixtures.js';

const artifactsDir = mkdtempSync(path.join(tmpdir(), 'copycat-sim-test-'));

/** Runs three clients against the toy cluster under a seeded fault schedule. */
async function runToy(sim: Simulation, readFrom: 'primary' | 'any') {
  const cluster = new ToyCluster(sim.scheduler, readFrom);
  const applied = sim.faults!.apply(cluster, sim.scheduler);
  sim.report.setFaults(sim.faults!, applied);
  const clients = ['c1', 'c2', 'c3'].map((c) => cluster.client(c, 70, sim.history));
  await sim.scheduler.runUntilSettled(Promise.all(clients));
  await sim.scheduler.runUntilSettled(applied.done);
  return checkLinearizable(sim.history, registerModel());
}

const toyFaults = {
  nodes: ['n1', 'n2', 'n3'],
  duration: 800,
  kinds: ['delay', 'drop', 'duplicate', 'reorder', 'pause', 'isolate-node'] as const,
};

describe('simulation harness, end to end', () => {
  it('accepts a linearizable toy register under every fault schedule', async () => {
    for (const seed of testSeeds(8)) {
      const result = await runSimulation(
        {
          seed,
          name: 'toy primary reads',
          faults: { ...toyFaults, kinds: [...toyFaults.kinds] },
          artifactsDir,
        },
        (sim) => runToy(sim, 'primary'),
      );
      expect(result.result, `seed ${seed}`).toBe('ok');
    }
  });

  it('catches the stale reads of a toy register that reads from backups', async () => {
    const verdicts: string[] = [];
    for (const seed of [1, 2, 3, 4, 5, 6, 7, 8]) {
      const result = await runSimulation(
        { seed, faults: { ...toyFaults, kinds: [...toyFaults.kinds] } },
        (sim) => runToy(sim, 'any'),
      );
      verdicts.push(result.result);
    }
    expect(verdicts).toContain('illegal');
  });

  it('replays: the same seed gives the same history, event for event', async () => {
    const run = (seed: number) =>
      runSimulation({ seed, faults: { ...toyFaults, kinds: [...toyFaults.kinds] } }, async (sim) => {
        await runToy(sim, 'any');
        return sim.history.toJsonLines();
      });
    const first = await run(3);
    expect(first.split('\n').length).toBeGreaterThan(100);
    expect(await run(3)).toBe(first);
    expect(await run(4)).not.toBe(first);
  });

  it('a failing seed rethrows with the seed, how to replay it, the fault schedule and files to read', async () => {
    // Find a seed whose history the checker refutes, then fail it the way a test would.
    let failure: SimulationFailure | undefined;
    for (const seed of [1, 2, 3, 4, 5, 6, 7, 8]) {
      const error = await runSimulation(
        {
          seed,
          name: 'toy backup reads',
          faults: { ...toyFaults, kinds: [...toyFaults.kinds] },
          artifactsDir,
          model: registerModel(),
        },
        async (sim) => {
          await runToy(sim, 'any');
          assertLinearizable(sim.history, registerModel());
        },
      ).catch((e: unknown) => e);
      if (error instanceof SimulationFailure) {
        failure = error;
        break;
      }
    }
    expect(failure).toBeDefined();
    const message = failure!.message;
    expect(message).toMatch(
      new RegExp(`^toy backup reads failed with seed ${failure!.seed}: not linearizable`),
    );
    expect(message).toContain(`replay: SEED=${failure!.seed} pnpm exec vitest run -t "toy backup reads"`);
    expect(message).toMatch(/fault schedule: \d+ events, healed at 0\.800s, seed /);
    expect(message).toContain('applied faults:');
    expect(failure!.cause).toBeInstanceOf(LinearizabilityError);
    const html = failure!.artifacts.find((f) => f.endsWith('history.html'))!;
    expect(readFileSync(html, 'utf8')).toContain('NOT linearizable');
    const jsonl = failure!.artifacts.find((f) => f.endsWith('history.jsonl'))!;
    const replayed = History.readFile(jsonl);
    expect(checkLinearizable(replayed, registerModel()).result).toBe('illegal');
    expect(existsSync(failure!.artifacts.find((f) => f.endsWith('faults.txt'))!)).toBe(true);
  });
});

describe('withSeed and testSeeds', () => {
  it('withSeed passes results through and rethrows any error with the seed', async () => {
    expect(await withSeed(5, (report) => report.seed * 2)).toBe(10);
    const error = await withSeed(
      42,
      (report) => {
        report.setFaults(new FaultSchedule([{ at: 10, kind: 'heal' }]));
        report.note('cluster of 3, 2 clients');
        throw new Error('leader elected twice in term 4');
      },
      { name: 'elections', artifactsDir },
    ).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SimulationFailure);
    const failure = error as SimulationFailure;
    expect(failure.seed).toBe(42);
    expect(failure.message).toContain('elections failed with seed 42: leader elected twice in term 4');
    expect(failure.message).toContain('0.010s  heal network');
    expect(failure.message).toContain('cluster of 3, 2 clients');
    expect(failure.artifacts.some((a) => a.includes('elections-seed-42'))).toBe(true);
  });

  it('withSeed checks an attached history against its model to draw the failure', async () => {
    const history = History.fromEvents([]);
    const id = history.invoke('p', { name: 'read' });
    history.ok(id, 'ghost');
    const failure = (await withSeed(
      7,
      (report) => {
        report.setHistory(history, registerModel());
        throw new Error('invariant broken');
      },
      { artifactsDir },
    ).catch((e: unknown) => e)) as SimulationFailure;
    const html = readFileSync(
      failure.artifacts.find((a) => a.endsWith('.html'))!,
      'utf8',
    );
    expect(html).toContain('NOT linearizable');
  });

  it('assertLinearizable returns the result or throws with the explanation and a timeline', () => {
    expect(assertLinearizable([ok('A', 'write', 0, 1, { input: 1 })], registerModel()).result).toBe('ok');
    try {
      assertLinearizable(
        [ok('A', 'write', 0, 1, { input: 1 }), ok('B', 'read', 2, 3, { output: 2 })],
        registerModel(),
      );
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(LinearizabilityError);
      expect((error as Error).message).toContain('not linearizable: register model');
      expect((error as Error).message).toContain('<== had to be placed');
    }
  });

  it('testSeeds: a range by default, SEED replays one, SEEDS widens', () => {
    expect(testSeeds(3, { env: {} })).toEqual([1, 2, 3]);
    expect(testSeeds(3, { env: {}, base: 100 })).toEqual([100, 101, 102]);
    expect(testSeeds(3, { env: { SEED: '77' } })).toEqual([77]);
    expect(testSeeds(3, { env: { SEEDS: '5' } })).toEqual([1, 2, 3, 4, 5]);
    expect(() => testSeeds(3, { env: { SEED: 'abc' } })).toThrow(RangeError);
  });
});
