// The example at the top of README.md, kept runnable: keep the two in sync.
import { expect, it } from 'vitest';
import { sleep } from '@copycat/common';
import { History, SimulatedScheduler, checkLinearizable, kvModel, testSeeds } from '@copycat/testing';

it('README example: a simulated key-value store checked for linearizability', async () => {
  for (const seed of testSeeds(5)) {
    const sim = new SimulatedScheduler({ seed });
    const history = new History(sim.now);
    const store = new Map<string, number>();

    // A toy server: each request travels, takes effect at one instant, and the reply travels back.
    const request = async <T>(apply: () => T): Promise<T> => {
      await sleep(sim, sim.randomInt(1, 20));
      const result = apply();
      await sleep(sim, sim.randomInt(1, 20));
      return result;
    };
    const put = (key: string, value: number) => request(() => void store.set(key, value));
    const get = (key: string) => request(() => store.get(key) ?? null);

    const client = async (name: string) => {
      for (let i = 0; i < 20; i++) {
        const key = `k${sim.randomInt(0, 2)}`;
        if (sim.random() < 0.5) await history.record(name, { name: 'put', key, input: i }, () => put(key, i));
        else await history.record(name, { name: 'get', key }, () => get(key));
      }
    };
    await sim.runUntilSettled(Promise.all(['c1', 'c2', 'c3'].map(client)));

    const result = checkLinearizable(history, kvModel());
    expect(result.result, result.describe()).toBe('ok');
  }
});
