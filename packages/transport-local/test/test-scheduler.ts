/**
 * A small deterministic scheduler for these tests: a virtual clock, tasks run in (time, order
 * scheduled) order, and a seeded PRNG (mulberry32). The project's full simulated scheduler lives
 * in @copycat/testing; this one only needs enough to prove that the local transport draws all of
 * its randomness and timing from the scheduler it is given.
 */
import { type Cancellable, type Scheduler } from '@copycat/common';

interface Task {
  readonly at: number;
  readonly seq: number;
  readonly run: () => void;
  cancelled: boolean;
}

export class TestScheduler implements Scheduler {
  private time = 0;
  private seq = 0;
  private readonly tasks: Task[] = [];
  private state: number;

  constructor(seed: number) {
    this.state = seed >>> 0;
  }

  now(): number {
    return this.time;
  }

  random(): number {
    // mulberry32
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  schedule(delay: number, run: () => void): Cancellable {
    if (!(delay >= 0)) throw new RangeError(`delay must be >= 0, got ${delay}`);
    const task: Task = { at: this.time + delay, seq: this.seq++, run, cancelled: false };
    // Insert keeping (at, seq) order; tests schedule few tasks, a linear scan is fine.
    let i = this.tasks.length;
    while (i > 0 && this.tasks[i - 1]!.at > task.at) i--;
    this.tasks.splice(i, 0, task);
    return { cancel: () => void (task.cancelled = true) };
  }

  scheduleAtFixedRate(initialDelay: number, period: number, run: () => void): Cancellable {
    let current: Cancellable;
    const tick = () => {
      current = this.schedule(period, tick);
      run();
    };
    current = this.schedule(initialDelay, tick);
    return { cancel: () => current.cancel() };
  }

  /** Pending (not cancelled) tasks. */
  get pending(): number {
    return this.tasks.filter((t) => !t.cancelled).length;
  }

  /** Runs tasks due within `ms` of virtual time, letting promise callbacks settle after each. */
  async advance(ms: number): Promise<void> {
    const end = this.time + ms;
    await settle();
    for (let steps = 0; steps < 1_000_000; steps++) {
      const task = this.tasks[0];
      if (task === undefined || task.at > end) break;
      this.tasks.shift();
      if (task.cancelled) continue;
      this.time = task.at;
      task.run();
      await settle();
    }
    this.time = end;
  }

  /** Advances until `condition` holds, in 1 ms steps, at most `maxMs`. */
  async until(condition: () => boolean, maxMs = 60_000): Promise<void> {
    for (let waited = 0; !condition(); waited++) {
      if (waited >= maxMs) throw new Error(`condition not met within ${maxMs} ms of virtual time`);
      await this.advance(1);
    }
  }
}

/** Lets every pending promise callback run (they run before the next macrotask). */
function settle(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
