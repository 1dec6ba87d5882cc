import { type Scheduler } from '@copycat/common';

/**
 * Exponential backoff with jitter: the n-th delay is drawn from [d/2, d) with
 * d = min(max, initial * 2^n), so clients that failed together do not retry together.
 */
export class Backoff {
  private failures = 0;

  constructor(
    private readonly random: Pick<Scheduler, 'random'>,
    private readonly initial: number,
    private readonly max: number,
  ) {}

  /** The delay before the next retry; each call doubles the next one, up to `max`. */
  next(): number {
    const ceiling = Math.min(this.max, this.initial * 2 ** this.failures);
    if (ceiling < this.max) this.failures++;
    return ceiling / 2 + (this.random.random() * ceiling) / 2;
  }

  /** After a success: the next delay is `initial` again. */
  reset(): void {
    this.failures = 0;
  }
}
