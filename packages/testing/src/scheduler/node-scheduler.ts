/**
 * A node's view of the simulated scheduler: the `Scheduler` one simulated server or client is
 * given. It has its own clock (drift and offset, as TigerBeetle's simulator gives each replica),
 * its own random stream, and it can be paused like a `SIGSTOP`ped process or have all of its
 * timers dropped like a crashed one.
 */
import type { Cancellable, Scheduler } from '@copycat/common';
import type { Prng } from '../prng.js';
import { type Timer, type TimerOwner } from './timer-queue.js';

export interface NodeClockOptions {
  /**
   * Clock rate error: the node's clock advances by `1 + drift` ms per global ms. 0.01 is a
   * clock 1% fast: its timers fire 1% early in global time. Must be > -1. Default 0.
   */
  drift?: number;
  /** The node's clock reads `offset` when the global clock reads 0. Default 0. */
  offset?: number;
}

/** What a node view needs from its simulated scheduler. */
export interface NodeHost {
  readonly now: () => number;
  enqueue(globalDelay: number, task: () => void, owner: TimerOwner | undefined, period: number): Timer;
  requeueHeld(timers: readonly Timer[]): void;
}

export class NodeScheduler implements Scheduler, TimerOwner {
  private generationValue = 0;
  private pausedValue = false;
  private rateValue: number;
  private anchorGlobal: number;
  private anchorLocal: number;
  private held: Timer[] = [];

  constructor(
    readonly id: string,
    private readonly host: NodeHost,
    private readonly stream: Prng,
    options: NodeClockOptions,
  ) {
    this.rateValue = rateOf(options.drift ?? 0);
    const offset = options.offset ?? 0;
    if (!Number.isFinite(offset)) throw new RangeError(`offset must be finite, got ${offset}`);
    this.anchorGlobal = 0;
    this.anchorLocal = offset;
  }

  /** Incremented by `cancelAll()`; timers of an older generation are dropped when due. */
  get generation(): number {
    return this.generationValue;
  }

  get paused(): boolean {
    return this.pausedValue;
  }

  get rate(): number {
    return this.rateValue;
  }

  get drift(): number {
    return this.rateValue - 1;
  }

  /** The node's local clock: offset plus global time scaled by its rate. Unaffected by pause. */
  now(): number {
    return this.anchorLocal + (this.host.now() - this.anchorGlobal) * this.rateValue;
  }

  /** `delay` is in local ms: a fast clock (drift > 0) fires it sooner in global time. */
  schedule(delay: number, task: () => void): Cancellable {
    checkDelay('delay', delay);
    return this.host.enqueue(delay / this.rateValue, task, this, 0);
  }

  scheduleAtFixedRate(initialDelay: number, period: number, task: () => void): Cancellable {
    checkDelay('initialDelay', initialDelay);
    checkDelay('period', period);
    if (period === 0) throw new RangeError('period must be > 0');
    return this.host.enqueue(initialDelay / this.rateValue, task, this, period);
  }

  random(): number {
    return this.stream.random();
  }

  randomInt(min: number, max: number): number {
    return this.stream.randomInt(min, max);
  }

  /** Changes the drift from now on; the local clock stays continuous (no jump). */
  setDrift(drift: number): void {
    const rate = rateOf(drift);
    this.anchorLocal = this.now();
    this.anchorGlobal = this.host.now();
    this.rateValue = rate;
  }

  /**
   * Stops the node like `SIGSTOP`: timers that come due are held, in order, until `resume()`.
   * The clock keeps running, so after resuming the node sees time jump, as a real process does.
   */
  pause(): void {
    this.pausedValue = true;
  }

  /** Releases held timers: they run now (global time), in the order they came due. */
  resume(): void {
    if (!this.pausedValue) return;
    this.pausedValue = false;
    const held = this.held;
    this.held = [];
    this.host.requeueHeld(held);
  }

  /**
   * Drops every timer of this node, queued or held, as a crash does. The view stays usable:
   * a restarted server on the same node schedules new timers through it.
   */
  cancelAll(): void {
    this.generationValue++;
    this.held = [];
  }

  /** @internal Called by the scheduler when a timer of this paused node comes due. */
  hold(timer: Timer): void {
    this.held.push(timer);
  }
}

function rateOf(drift: number): number {
  if (!Number.isFinite(drift) || drift <= -1)
    throw new RangeError(`drift must be a finite number > -1, got ${drift}`);
  return 1 + drift;
}

export function checkDelay(name: string, value: number): void {
  if (!Number.isFinite(value) || value < 0)
    throw new RangeError(`${name} must be a finite number >= 0, got ${value}`);
}
