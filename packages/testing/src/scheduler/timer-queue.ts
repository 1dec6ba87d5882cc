/**
 * The simulated scheduler's timer queue: a binary min-heap ordered by (time, tie, seq).
 * `tie` is drawn from the seed, so timers due at the same instant run in a seeded order;
 * `seq` (insertion order) makes the order total, hence deterministic.
 */
import type { Cancellable } from '@copycat/common';

/** Where a timer is: in the heap, held by a paused node, or nowhere (ran, dropped). */
export const IN_NOWHERE = 0;
export const IN_HEAP = 1;
export const IN_HELD = 2;
export type TimerPlace = typeof IN_NOWHERE | typeof IN_HEAP | typeof IN_HELD;

/** What a timer needs from its owner: per-node pause, crash generation and clock rate. */
export interface TimerOwner {
  readonly id: string;
  readonly generation: number;
  readonly paused: boolean;
  /** Local milliseconds per global millisecond (1 + drift). */
  readonly rate: number;
  hold(timer: Timer): void;
}

/** What a timer needs from its queue to be cancelled. */
export interface TimerHost {
  onCancel(timer: Timer): void;
}

export class Timer implements Cancellable {
  time = 0;
  tie = 0;
  seq = 0;
  place: TimerPlace = IN_NOWHERE;
  cancelled = false;

  constructor(
    private readonly host: TimerHost,
    readonly task: () => void,
    readonly owner: TimerOwner | undefined,
    readonly generation: number,
    /** Repeat period in the owner's local milliseconds; 0 for a one-shot timer. */
    readonly period: number,
  ) {}

  cancel(): void {
    if (this.cancelled) return;
    this.cancelled = true;
    this.host.onCancel(this);
  }
}

function before(a: Timer, b: Timer): boolean {
  if (a.time !== b.time) return a.time < b.time;
  if (a.tie !== b.tie) return a.tie < b.tie;
  return a.seq < b.seq;
}

export class TimerHeap {
  private items: Timer[] = [];

  get size(): number {
    return this.items.length;
  }

  peek(): Timer | undefined {
    return this.items[0];
  }

  push(timer: Timer): void {
    const items = this.items;
    let i = items.length;
    items.push(timer);
    while (i > 0) {
      const parent = (i - 1) >> 1;
      const p = items[parent]!;
      if (!before(timer, p)) break;
      items[i] = p;
      i = parent;
    }
    items[i] = timer;
  }

  pop(): Timer | undefined {
    const items = this.items;
    const top = items[0];
    const last = items.pop();
    if (top === undefined || last === undefined || items.length === 0) return top;
    const n = items.length;
    let i = 0;
    for (;;) {
      const left = 2 * i + 1;
      if (left >= n) break;
      const right = left + 1;
      let child = left;
      let c = items[left]!;
      if (right < n) {
        const r = items[right]!;
        if (before(r, c)) {
          child = right;
          c = r;
        }
      }
      if (!before(c, last)) break;
      items[i] = c;
      i = child;
    }
    items[i] = last;
    return top;
  }

  /** Drops every timer for which `keep` is false and restores the heap (O(n)). */
  filter(keep: (timer: Timer) => boolean): void {
    // A sorted array is a valid heap; compaction is rare (see SimulatedScheduler.onCancel).
    this.items = this.items.filter(keep).sort((a, b) => (before(a, b) ? -1 : 1));
  }
}
