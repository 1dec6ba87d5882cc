// A minimal virtual-time scheduler for the core's unit tests (the full simulator with drift,
// pauses and fault schedules is @copycat/testing's SimulatedScheduler).
import { PriorityQueue, type Cancellable, type Scheduler } from '@copycat/common';

interface Timer {
  at: number;
  seq: number;
  task: () => void;
  cancelled: boolean;
}

export class ManualScheduler implements Scheduler {
  private time = 0;
  private seq = 0;
  private state: number;
  private readonly timers = new PriorityQueue<Timer>((a, b) => a.at - b.at || a.seq - b.seq);

  constructor(seed = 1) {
    // splitmix32 of the seed, so that neighbouring small seeds give unrelated streams.
    let z = (seed + 0x9e3779b9) | 0;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
    this.state = (z ^ (z >>> 16)) >>> 0 || 1;
  }

  now(): number {
    return this.time;
  }

  schedule(delay: number, task: () => void): Cancellable {
    const timer: Timer = { at: this.time + Math.max(0, delay), seq: this.seq++, task, cancelled: false };
    this.timers.push(timer);
    return { cancel: () => void (timer.cancelled = true) };
  }

  scheduleAtFixedRate(initialDelay: number, period: number, task: () => void): Cancellable {
    let current: Cancellable | undefined;
    let cancelled = false;
    const run = () => {
      if (cancelled) return;
      current = this.schedule(period, run);
      task();
    };
    current = this.schedule(initialDelay, run);
    return {
      cancel: () => {
        cancelled = true;
        current?.cancel();
      },
    };
  }

  random(): number {
    // xorshift32: deterministic, good enough for election jitter in unit tests.
    let x = this.state;
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    this.state = x >>> 0;
    return this.state / 0x1_0000_0000;
  }

  /** Runs timers up to `now + ms`, draining promise callbacks after each one. */
  async runFor(ms: number): Promise<void> {
    const end = this.time + ms;
    await drain();
    for (let timer = this.timers.peek(); timer !== undefined && timer.at <= end; timer = this.timers.peek()) {
      this.timers.pop();
      if (timer.cancelled) continue;
      this.time = timer.at;
      timer.task();
      await drain();
    }
    this.time = end;
  }
}

const drain = () => new Promise<void>((resolve) => setImmediate(resolve));
