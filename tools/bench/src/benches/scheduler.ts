/**
 * `pnpm bench scheduler`: timer events per second of the simulated scheduler (@copycat/testing),
 * in its three run modes. TESTING.md asks for >= 1,000,000 events/s: a simulated cluster spends
 * most of its time here, and CI runs hundreds of seeds.
 *
 * - `runSync*`: no microtask draining (tasks must not touch promises);
 * - async run, `drain: 'auto'`: yields to the macrotask queue only after a task that touched a
 *   promise, so timer-only work runs at nearly the synchronous rate;
 * - async run, `drain: 'always'` (the default): one `setImmediate` round trip per step, the
 *   price of draining every microtask between steps.
 */
import { SimulatedScheduler } from '@copycat/testing';
import { formatNumber, medianRate, printTable, writeResults, type Row } from '../report.js';

const REQUIRED = 1_000_000;

/** `actors` self-rescheduling tasks with random delays until `events` have run. */
function actors(sim: SimulatedScheduler, count: number, events: number, onEvent?: () => void): () => boolean {
  let fired = 0;
  for (let i = 0; i < count; i++) {
    const node = sim.node(`n${i % 5}`);
    const tick = () => {
      fired++;
      onEvent?.();
      node.schedule(node.randomInt(1, 100), tick);
    };
    node.schedule(node.randomInt(0, 100), tick);
  }
  return () => fired >= events;
}

export async function run(args: string[]): Promise<void> {
  const quick = args.includes('--quick');
  const runs = quick ? 3 : 5;
  const events = quick ? 200_000 : 1_000_000;
  const rows: Row[] = [];
  const add = (workload: string, mode: string, count: number, rate: number) =>
    rows.push({ workload, mode, events: count, 'events/s': rate, 'ns/event': 1e9 / rate });

  let seed = 1;
  add(
    '1,000 actors, random delays',
    'runSync',
    events,
    await medianRate(runs, events, () => {
      const sim = new SimulatedScheduler({ seed: seed++, maxSteps: events * 2 });
      sim.runSyncUntil(actors(sim, 1000, events));
    }),
  );
  add(
    '1,000 actors, random delays',
    "async, drain 'auto'",
    events,
    await medianRate(runs, events, async () => {
      const sim = new SimulatedScheduler({ seed: seed++, maxSteps: events * 2, drain: 'auto' });
      await sim.runUntil(actors(sim, 1000, events));
    }),
  );
  const slow = Math.floor(events / 5);
  add(
    '1,000 actors, random delays',
    "async, drain 'always'",
    slow,
    await medianRate(runs, slow, async () => {
      const sim = new SimulatedScheduler({ seed: seed++, maxSteps: slow * 2 });
      await sim.runUntil(actors(sim, 1000, slow));
    }),
  );
  add(
    '1,000 periodic timers (heartbeats)',
    'runSync',
    events,
    await medianRate(runs, events, () => {
      const sim = new SimulatedScheduler({ seed: seed++, maxSteps: events * 2 });
      let fired = 0;
      for (let i = 0; i < 1000; i++) sim.node(`n${i % 5}`).scheduleAtFixedRate(i % 50, 50, () => fired++);
      sim.runSyncUntil(() => fired >= events);
    }),
  );
  add(
    '1,000 election timers reset on every event',
    'runSync',
    events,
    await medianRate(runs, events, () => {
      // Each event cancels and re-arms a long timer, as a follower does on every heartbeat:
      // the heap fills with cancelled timers and must compact.
      const sim = new SimulatedScheduler({ seed: seed++, maxSteps: events * 2 });
      const election = new Array<{ cancel(): void } | undefined>(1000);
      const done = actors(sim, 1000, events, () => {
        const i = sim.randomInt(0, 1000);
        election[i]?.cancel();
        election[i] = sim.schedule(1000 + sim.randomInt(0, 1000), () => {});
      });
      sim.runSyncUntil(done);
    }),
  );
  const promiseEvents = Math.floor(events / 5);
  add(
    '1,000 actors whose tasks await a promise',
    "async, drain 'auto'",
    promiseEvents,
    await medianRate(runs, promiseEvents, async () => {
      const sim = new SimulatedScheduler({ seed: seed++, maxSteps: promiseEvents * 2, drain: 'auto' });
      let fired = 0;
      for (let i = 0; i < 1000; i++) {
        const node = sim.node(`n${i % 5}`);
        const tick = () =>
          void Promise.resolve().then(() => {
            fired++;
            node.schedule(node.randomInt(1, 100), tick);
          });
        node.schedule(node.randomInt(0, 100), tick);
      }
      await sim.runUntil(() => fired >= promiseEvents);
    }),
  );

  printTable('SimulatedScheduler timer events (median of runs; xoshiro128** tie-breaks, binary heap)', rows);
  const best = Math.max(
    ...rows
      .filter((r) => r.mode === 'runSync' || r.mode === "async, drain 'auto'")
      .map((r) => r['events/s'] as number),
  );
  const auto = rows.find((r) => r.mode === "async, drain 'auto'")!['events/s'] as number;
  console.log(
    `\nrequirement >= ${formatNumber(REQUIRED)} timer events/s: ${best >= REQUIRED ? 'met' : 'NOT met'} ` +
      `(runSync ${formatNumber(rows[0]!['events/s'] as number)}/s, async auto ${formatNumber(auto)}/s)`,
  );
  const file = writeResults('scheduler', { rows, required: REQUIRED });
  console.log(`results: ${file}`);
}
