/**
 * Time, timers and randomness. Everything above the transports reaches them only through a
 * `Scheduler`, so that a simulated scheduler can run a whole cluster deterministically from a
 * seed (design principle 1).
 */

/** A scheduled task; `cancel()` is idempotent and safe to call after the task ran. */
export interface Cancellable {
  cancel(): void;
}

export interface Scheduler {
  /** Current time in milliseconds. For `SystemScheduler`, wall-clock time (`Date.now()`). */
  now(): number;
  /** Runs `task` once after `delay` ms (0 means: after the current task, never synchronously). */
  schedule(delay: number, task: () => void): Cancellable;
  /** Runs `task` after `initialDelay` ms and then every `period` ms until cancelled. */
  scheduleAtFixedRate(initialDelay: number, period: number, task: () => void): Cancellable;
  /** A uniformly distributed number in [0, 1). */
  random(): number;
}

/** A random integer in [min, max) drawn from the scheduler's random source. */
export function randomInt(scheduler: Pick<Scheduler, 'random'>, min: number, max: number): number {
  return min + Math.floor(scheduler.random() * (max - min));
}

/** Resolves after `delay` ms of the scheduler's time. */
export function sleep(scheduler: Scheduler, delay: number): Promise<void> {
  return new Promise((resolve) => scheduler.schedule(delay, resolve));
}

function checkDelay(name: string, value: number): void {
  if (!Number.isFinite(value) || value < 0)
    throw new RangeError(`${name} must be a finite number >= 0, got ${value}`);
}

/**
 * The real scheduler: Node's (or the browser's) timers, a monotonic clock and `Math.random`.
 * `now()` is wall-clock time at process start plus monotonic time since (`performance`), so it
 * never jumps backwards or forwards when the system clock is set: leases and timeouts measured
 * with it stay honest.
 */
export class SystemScheduler implements Scheduler {
  // Read once: on Node the getter checks its receiver on every read, and every request reads now().
  private readonly origin = performance.timeOrigin;

  now(): number {
    return this.origin + performance.now();
  }

  schedule(delay: number, task: () => void): Cancellable {
    checkDelay('delay', delay);
    const handle = setTimeout(task, delay);
    return { cancel: () => clearTimeout(handle) };
  }

  scheduleAtFixedRate(initialDelay: number, period: number, task: () => void): Cancellable {
    checkDelay('initialDelay', initialDelay);
    checkDelay('period', period);
    if (period === 0) throw new RangeError('period must be > 0');
    let interval: ReturnType<typeof setInterval> | undefined;
    let cancelled = false;
    const first = setTimeout(() => {
      if (cancelled) return;
      interval = setInterval(task, period);
      task();
    }, initialDelay);
    return {
      cancel: () => {
        cancelled = true;
        clearTimeout(first);
        if (interval !== undefined) clearInterval(interval);
      },
    };
  }

  random(): number {
    return Math.random();
  }
}
