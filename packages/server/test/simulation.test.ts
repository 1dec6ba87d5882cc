import { describe, expect, it } from 'vitest';
import { assertLiveness, runRandomSimulation } from './support/random-faults.js';
import { InvariantViolation } from './support/sim-cluster.js';

const SEEDS = Number(process.env.COPYCAT_SIM_SEEDS ?? 250);
const FIRST_SEED = Number(process.env.COPYCAT_SIM_FIRST_SEED ?? 1);

const variants = [
  { name: '', options: {} },
  { name: ' with leader churn', options: { churn: true } },
  { name: ' with membership changes', options: { membership: true } },
];

describe('simulation: partitions, isolated leaders, drops, crashes with lost tails', () => {
  for (const { name, options } of variants) {
    it(`keeps every invariant and recovers after healing, ${SEEDS} seeds${name}`, async () => {
      let acknowledged = 0;
      for (let seed = FIRST_SEED; seed < FIRST_SEED + SEEDS; seed++) {
        const { cluster, result } = await runRandomSimulation(seed, options);
        try {
          await assertLiveness(cluster);
        } catch (error) {
          const faults = result.faults.join('\n');
          throw new Error(`seed ${seed}${name} failed: ${(error as Error).message}\nfaults:\n${faults}`);
        }
        acknowledged += result.acknowledged;
      }
      expect(acknowledged).toBeGreaterThan(SEEDS * 10);
    }, 600_000);
  }
});

describe('the simulation catches a broken election restriction (§5.4.1)', () => {
  it('some seed violates an invariant when votes ignore whether the candidate log is up to date', async () => {
    let caught: Error | undefined;
    for (let seed = 1; seed <= 200 && caught === undefined; seed++) {
      try {
        const { cluster } = await runRandomSimulation(seed, {
          size: 5,
          churn: true,
          durationMs: 3_000,
          unsafe: { grantVotesWithoutLogCheck: true },
        });
        await assertLiveness(cluster);
      } catch (error) {
        caught = error as Error;
      }
    }
    expect(caught).toBeInstanceOf(InvariantViolation);
    expect(caught?.message).toMatch(
      /committed term \d+ at \d+, but term \d+ was committed there|applied histories diverge/,
    );
  }, 600_000);
});
