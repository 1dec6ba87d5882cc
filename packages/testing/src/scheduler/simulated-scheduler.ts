/**
 * Virtual time for deterministic simulation (TESTING.md item 2, after TigerBeetle's simulator).
 *
 * Rules that make a run replayable from its seed:
 * - Time only moves when a timer runs; a timer runs at exactly its due time.
 * - Timers run in (due time, seeded tie-break, insertion) order.
 * - Microtasks are drained between steps: after each timer task, the async run methods await a
 *   macrotask (`setImmediate`). Node runs every queued microtask and `process.nextTick` callback
 *   before any macrotask, including the ones those queue in turn, so every promise continuation
 *   the task set off has run before the next timer task starts. This is deterministic as long as
 *   the code under simulation waits only on the simulated scheduler and simulated transports
 *   (no real timers, sockets or files).
 * - `drain: 'auto'` is a fast path: it yields to the macrotask queue only after a task that
 *   created or settled a promise (V8 promise hooks). It misses continuations queued without
 *   promise activity (`queueMicrotask`, `process.nextTick`, resolving a pending promise with an
 *   already existing promise): those still run deterministically, but at the next yield rather
 *   than before the next step. Use it for hot loops you know; `'always'` is the default.
 * - `runSync*` never yields; a task that touches a promise makes it throw.
 */
import type { Cancellable, Scheduler } from '@copycat/common';
import { Prng, checkSeed } from '../prng.js';
import { SimulationError, type SimulationErrorReason } from './errors.js';
import { NodeScheduler, checkDelay, type NodeClockOptions, type NodeHost } from './node-scheduler.js';
import {
  acquirePromiseWatch,
  macrotask,
  promiseActivitySeen,
  releasePromiseWatch,
  resetPromiseActivity,
} from './promise-activity.js';
import {
  IN_HEAP,
  IN_HELD,
  IN_NOWHERE,
  Timer,
  TimerHeap,
  type TimerHost,
  type TimerOwner,
} from './timer-queue.js';

export interface SimulatedSchedulerOptions {
  /** Drives every random choice: timer tie-breaks, `random()`, node streams, `fork(label)`. */
  seed: number;
  /** Most timer tasks one run call may execute before failing (livelock guard). Default 2,000,000. */
  maxSteps?: number;
  /** Global virtual time at creation, in ms. Default 0. */
  startTime?: number;
  /** How timers due at the same instant are ordered. Default 'seeded'; 'fifo' is insertion order. */
  tieBreak?: 'seeded' | 'fifo';
  /** Microtask draining between steps (see the file comment). Default 'always'. */
  drain?: 'always' | 'auto';
  /** Called after every step, e.g. to record a trace or check invariants. */
  onStep?: (step: StepInfo) => void;
}

export interface StepInfo {
  /** Steps executed by this scheduler so far, this one included. */
  readonly step: number;
  /** Global virtual time of the step. */
  readonly time: number;
  /** The node whose timer ran, if it was scheduled through a node view. */
  readonly node: string | undefined;
}

export interface RunOptions {
  /** Overrides the scheduler's `maxSteps` for this call. */
  maxSteps?: number;
}

export interface RunUntilOptions extends RunOptions {
  /** For a predicate: fail if it is still false after this many virtual ms. */
  timeout?: number;
}

const DEFAULT_MAX_STEPS = 2_000_000;
/** Compact the heap when this many cancelled timers sit in it and they are the majority. */
const COMPACT_THRESHOLD = 4096;

export class SimulatedScheduler implements Scheduler, TimerHost, NodeHost {
  readonly seed: number;
  private readonly maxSteps: number;
  private readonly tieBreak: 'seeded' | 'fifo';
  private readonly drainMode: 'always' | 'auto';
  private readonly onStep: ((step: StepInfo) => void) | undefined;
  private readonly stream: Prng;
  private readonly ties: Prng;
  private readonly heap = new TimerHeap();
  private readonly nodeViews = new Map<string, NodeScheduler>();
  private time: number;
  private seq = 0;
  private stepCount = 0;
  private cancelledInHeap = 0;
  private running = false;

  constructor(options: SimulatedSchedulerOptions) {
    checkSeed(options.seed);
    this.seed = options.seed;
    this.maxSteps = options.maxSteps ?? DEFAULT_MAX_STEPS;
    if (!Number.isSafeInteger(this.maxSteps) || this.maxSteps <= 0) {
      throw new RangeError(`maxSteps must be a positive integer, got ${this.maxSteps}`);
    }
    this.time = options.startTime ?? 0;
    if (!Number.isFinite(this.time)) throw new RangeError(`startTime must be finite, got ${this.time}`);
    this.tieBreak = options.tieBreak ?? 'seeded';
    this.drainMode = options.drain ?? 'always';
    this.onStep = options.onStep;
    this.stream = new Prng(options.seed);
    this.ties = this.stream.fork('tie-break');
  }

  /** Global virtual time in ms. (An arrow so node views can share it without binding.) */
  readonly now = (): number => this.time;

  /** Timer tasks executed so far. */
  get steps(): number {
    return this.stepCount;
  }

  schedule(delay: number, task: () => void): Cancellable {
    checkDelay('delay', delay);
    return this.enqueue(delay, task, undefined, 0);
  }

  scheduleAtFixedRate(initialDelay: number, period: number, task: () => void): Cancellable {
    checkDelay('initialDelay', initialDelay);
    checkDelay('period', period);
    if (period === 0) throw new RangeError('period must be > 0');
    return this.enqueue(initialDelay, task, undefined, period);
  }

  random(): number {
    return this.stream.random();
  }

  /** A uniformly distributed integer in [min, max) from the scheduler's stream. */
  randomInt(min: number, max: number): number {
    return this.stream.randomInt(min, max);
  }

  /** An independent deterministic stream for `label` (same seed and label: same stream). */
  fork(label: string): Prng {
    return this.stream.fork(label);
  }

  /**
   * The scheduler view for node `id`, created on first use with `options`. Each node has its
   * own clock, its own random stream (`node:<id>`), and can be paused or have its timers dropped.
   */
  node(id: string, options?: NodeClockOptions): NodeScheduler {
    const existing = this.nodeViews.get(id);
    if (existing !== undefined) {
      if (options !== undefined)
        throw new Error(`node ${id} already exists; change its clock with setDrift()`);
      return existing;
    }
    const view = new NodeScheduler(id, this, this.stream.fork(`node:${id}`), options ?? {});
    this.nodeViews.set(id, view);
    return view;
  }

  /** Every node view created so far, in creation order. */
  nodes(): readonly NodeScheduler[] {
    return [...this.nodeViews.values()];
  }

  /** Runs one step (the next due timer), then drains microtasks. False if no timer is queued. */
  async step(): Promise<boolean> {
    this.enter();
    try {
      await macrotask();
      const ran = this.runOne(Infinity);
      if (ran) await macrotask();
      return ran;
    } finally {
      this.running = false;
    }
  }

  /** Runs every timer due within the next `ms` virtual ms; the clock then reads now + ms. */
  runFor(ms: number, options: RunOptions = {}): Promise<void> {
    checkDelay('ms', ms);
    return this.runUntil(this.time + ms, options);
  }

  /**
   * With a time: runs every timer due at or before it, then sets the clock to it.
   * With a predicate: checks it before every step and returns once it holds; fails if no timer
   * is left or `timeout` virtual ms pass first.
   */
  async runUntil(target: number | (() => boolean), options: RunUntilOptions = {}): Promise<void> {
    const maxSteps = options.maxSteps ?? this.maxSteps;
    if (typeof target === 'number') {
      this.checkTarget(target);
      await this.runAsync(target, undefined, maxSteps);
      return;
    }
    const limit = options.timeout === undefined ? Infinity : this.time + options.timeout;
    await this.runAsync(limit, target, maxSteps);
  }

  /** Runs until the promise settles and returns its value (or throws its error). */
  async runUntilSettled<T>(promise: Promise<T>, options: RunUntilOptions = {}): Promise<T> {
    let settled = false;
    const observed = promise.then(
      () => (settled = true),
      () => (settled = true),
    );
    await this.runUntil(() => settled, options);
    await observed;
    return promise;
  }

  /** Runs until no timer is left (a periodic timer makes this hit the step limit). */
  async runUntilIdle(options: RunOptions = {}): Promise<void> {
    await this.runAsync(Infinity, undefined, options.maxSteps ?? this.maxSteps);
  }

  /** Synchronous `runFor` for code that uses no promises (benchmarks, pure state machines). */
  runSyncFor(ms: number, options: RunOptions = {}): void {
    checkDelay('ms', ms);
    this.runSyncUntil(this.time + ms, options);
  }

  /** Synchronous `runUntil`; throws if a task creates or settles a promise. */
  runSyncUntil(target: number | (() => boolean), options: RunUntilOptions = {}): void {
    const maxSteps = options.maxSteps ?? this.maxSteps;
    this.enter();
    acquirePromiseWatch();
    try {
      let limit: number;
      let until: (() => boolean) | undefined;
      if (typeof target === 'number') {
        this.checkTarget(target);
        limit = target;
      } else {
        limit = options.timeout === undefined ? Infinity : this.time + options.timeout;
        until = target;
      }
      let steps = 0;
      for (;;) {
        if (until !== undefined && until()) return;
        if (steps >= maxSteps) throw this.stepLimit(maxSteps);
        resetPromiseActivity();
        if (!this.runOne(limit)) break;
        steps++;
        if (promiseActivitySeen()) {
          throw this.error(
            'promise-in-sync-run',
            'a task run by runSync* created or settled a promise; use the async run methods so its continuations are drained',
          );
        }
      }
      this.finish(limit, until);
    } finally {
      releasePromiseWatch();
      this.running = false;
    }
  }

  private async runAsync(limit: number, until: (() => boolean) | undefined, maxSteps: number): Promise<void> {
    this.enter();
    const auto = this.drainMode === 'auto';
    if (auto) acquirePromiseWatch();
    let steps = 0;
    try {
      // Settle whatever the caller set off before this run (e.g. a client call it just made).
      await macrotask();
      for (;;) {
        if (until !== undefined && until()) break;
        if (steps >= maxSteps) throw this.stepLimit(maxSteps);
        if (auto) resetPromiseActivity();
        if (!this.runOne(limit)) {
          this.finish(limit, until);
          break;
        }
        steps++;
        if (!auto || promiseActivitySeen()) await macrotask();
      }
    } finally {
      if (auto) releasePromiseWatch();
      this.running = false;
    }
  }

  /** After the queue ran dry up to `limit`: advance the clock, or explain why the predicate failed. */
  private finish(limit: number, until: (() => boolean) | undefined): void {
    if (until === undefined) {
      if (limit !== Infinity && limit > this.time) this.time = limit;
      return;
    }
    if (until()) return;
    if (limit === Infinity)
      throw this.error('stalled', 'runUntil: no timer left and the condition is still false');
    this.time = limit;
    throw this.error('timeout', 'runUntil: the condition is still false after the timeout');
  }

  /** Pops timers until one runs (true) or none is due at or before `limit` (false). */
  private runOne(limit: number): boolean {
    const heap = this.heap;
    for (;;) {
      const next = heap.peek();
      if (next === undefined || next.time > limit) return false;
      heap.pop();
      next.place = IN_NOWHERE;
      if (next.cancelled) {
        this.cancelledInHeap--;
        continue;
      }
      this.time = next.time;
      const owner = next.owner;
      if (owner !== undefined) {
        if (next.generation !== owner.generation) continue; // its node crashed since
        if (owner.paused) {
          next.place = IN_HELD;
          owner.hold(next);
          continue;
        }
      }
      this.execute(next);
      return true;
    }
  }

  private execute(timer: Timer): void {
    this.stepCount++;
    try {
      timer.task();
    } catch (cause) {
      throw this.error('task-threw', `a timer task threw: ${describeError(cause)}`, cause);
    }
    if (timer.period > 0 && !timer.cancelled) {
      const owner = timer.owner;
      if (owner === undefined) this.insert(timer, this.time + timer.period);
      else if (timer.generation === owner.generation)
        this.insert(timer, this.time + timer.period / owner.rate);
    }
    if (this.onStep !== undefined) {
      this.onStep({ step: this.stepCount, time: this.time, node: timer.owner?.id });
    }
  }

  /** @internal Used by node views. `globalDelay` is already converted to global ms. */
  enqueue(globalDelay: number, task: () => void, owner: TimerOwner | undefined, period: number): Timer {
    const timer = new Timer(this, task, owner, owner === undefined ? 0 : owner.generation, period);
    this.insert(timer, this.time + globalDelay);
    return timer;
  }

  private insert(timer: Timer, time: number): void {
    timer.time = time;
    timer.tie = this.tieBreak === 'seeded' ? this.ties.nextUint32() : 0;
    timer.seq = this.seq++;
    timer.place = IN_HEAP;
    this.heap.push(timer);
  }

  /**
   * @internal Held timers of a resumed node run now, in the order they came due: they get the
   * current time and increasing tie values below any drawn tie (ties are uint32, these are
   * negative), so they also run before other timers due at this instant.
   */
  requeueHeld(timers: readonly Timer[]): void {
    let tie = -timers.length;
    for (const timer of timers) {
      if (timer.cancelled || timer.owner === undefined || timer.generation !== timer.owner.generation) {
        timer.place = IN_NOWHERE;
        continue;
      }
      timer.time = this.time;
      timer.tie = tie++;
      timer.seq = this.seq++;
      timer.place = IN_HEAP;
      this.heap.push(timer);
    }
  }

  /** @internal Called by `Timer.cancel()`. Cancelled timers leave the heap lazily. */
  onCancel(timer: Timer): void {
    if (timer.place !== IN_HEAP) return;
    this.cancelledInHeap++;
    // Code that resets a long timer on every message (election timeouts) would otherwise grow
    // the heap with dead timers faster than they come due.
    if (this.cancelledInHeap > COMPACT_THRESHOLD && this.cancelledInHeap * 2 > this.heap.size) {
      this.heap.filter((t) => {
        if (!t.cancelled) return true;
        t.place = IN_NOWHERE;
        return false;
      });
      this.cancelledInHeap = 0;
    }
  }

  private enter(): void {
    if (this.running)
      throw this.error('reentrant-run', 'a run method was called while the scheduler was already running');
    this.running = true;
  }

  private checkTarget(target: number): void {
    if (!Number.isFinite(target) || target < this.time) {
      throw new RangeError(`runUntil: target time ${target} is before the current time ${this.time}`);
    }
  }

  private stepLimit(maxSteps: number): SimulationError {
    return this.error(
      'step-limit',
      `step limit of ${maxSteps} exceeded in one run: livelock, or raise maxSteps`,
    );
  }

  private error(reason: SimulationErrorReason, detail: string, cause?: unknown): SimulationError {
    return new SimulationError(
      reason,
      this.seed,
      this.time,
      this.stepCount,
      detail,
      cause === undefined ? {} : { cause },
    );
  }
}

function describeError(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}
