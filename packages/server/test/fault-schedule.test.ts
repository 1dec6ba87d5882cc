// Issue #6's simulation suite on the real components: RaftServer over the local transport with
// memory storage, on the simulated scheduler, under seeded FaultSchedules of every kind.
import { describe, expect, it } from 'vitest';
import { DEFAULT_FAULT_KINDS, FaultSchedule } from '@copycat/testing';
import { RealCluster } from './support/real-cluster.js';

const SEEDS = Number(process.env.COPYCAT_REAL_SIM_SEEDS ?? 250);
const FIRST_SEED = Number(process.env.COPYCAT_SIM_FIRST_SEED ?? 1);

async function runSeed(seed: number, membership: boolean): Promise<{ ok: number; schedule: FaultSchedule }> {
  const size = [3, 5, 3, 1][seed % 4]!;
  const cluster = new RealCluster({ size, seed, spares: membership ? 2 : 0 });
  await cluster.start();
  const schedule = FaultSchedule.generate({
    seed: cluster.scheduler.fork('faults'),
    nodes: cluster.bootstrap,
    start: 300,
    duration: 3_000,
    kinds: membership ? [...DEFAULT_FAULT_KINDS, 'membership'] : DEFAULT_FAULT_KINDS,
    membershipNodes: cluster.nodes(),
  });
  let ok = 0;
  try {
    const applied = schedule.apply(cluster, cluster.scheduler);
    // Workload: a command every 20 ms through whoever leads, outcomes counted.
    let value = 0;
    while (cluster.scheduler.now() < schedule.healedAt) {
      void cluster.submit('add', ++value).then((outcome) => outcome === 'ok' && ok++);
      await cluster.run(20);
    }
    await cluster.scheduler.runUntilSettled(applied.done);
    await cluster.assertLiveness();
    cluster.check();
  } catch (error) {
    throw new Error(
      `seed ${seed} (${size} servers) failed: ${(error as Error).message}\n${schedule.describe()}`,
    );
  }
  return { ok, schedule };
}

describe('RaftServer under seeded fault schedules (local transport, memory storage, simulated clock)', () => {
  it(`keeps every invariant and recovers, ${SEEDS} seeds`, async () => {
    let ok = 0;
    for (let seed = FIRST_SEED; seed < FIRST_SEED + SEEDS; seed++) ok += (await runSeed(seed, false)).ok;
    expect(ok).toBeGreaterThan(SEEDS * 10);
  }, 600_000);

  it(`with membership changes, ${SEEDS} seeds`, async () => {
    let ok = 0;
    for (let seed = FIRST_SEED; seed < FIRST_SEED + SEEDS; seed++) ok += (await runSeed(seed, true)).ok;
    expect(ok).toBeGreaterThan(SEEDS * 10);
  }, 600_000);

  it('the same seed replays the same run', async () => {
    const a = await runSeed(7, true);
    const b = await runSeed(7, true);
    expect(b.ok).toBe(a.ok);
    expect(b.schedule.describe()).toBe(a.schedule.describe());
  }, 120_000);
});
