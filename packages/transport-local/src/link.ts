/** One direction of a connection: an in-order (FIFO) delivery queue driven by the scheduler. */
import { type Scheduler } from '@copycat/common';

interface Entry {
  readonly seq: number;
  readonly deliver: () => void;
}

export class Link {
  private readonly queue: Entry[] = [];
  private head = 0;
  private lastAt = Number.NEGATIVE_INFINITY;
  private nextSeq = 0;

  constructor(private readonly scheduler: Scheduler) {}

  /** Runs `deliver` after `delay` ms, but never before anything enqueued earlier (like TCP). */
  enqueue(delay: number, deliver: () => void): void {
    const now = this.scheduler.now();
    const at = Math.max(now + delay, this.lastAt);
    this.lastAt = at;
    const seq = this.nextSeq++;
    this.queue.push({ seq, deliver });
    this.scheduler.schedule(at - now, () => this.flush(seq));
  }

  // Each task delivers everything up to its own entry. Counting by sequence rather than comparing
  // times keeps the order even if a scheduler breaks ties between equal times at random, or a
  // timer fires a hair before the clock says it is due.
  private flush(upTo: number): void {
    while (this.head < this.queue.length && this.queue[this.head]!.seq <= upTo) {
      const entry = this.queue[this.head]!;
      this.head++;
      entry.deliver();
    }
    if (this.head === this.queue.length) {
      this.queue.length = 0;
      this.head = 0;
    }
  }
}
