/** Link faults: what can go wrong between two addresses, and which faults apply to which link. */
import { ConfigurationError, randomInt, type Scheduler } from '@copycat/common';

/**
 * Faults of the messages on a link (one direction: `from` to `to`). Probabilities are in [0, 1];
 * every draw comes from the scheduler's seeded random source.
 */
export interface LinkFaults {
  /** Probability that a message is lost. */
  readonly drop?: number;
  /** Delivery delay in ms, uniform over the integers of [min, max]. Default: 0 (the next task). */
  readonly delay?: { readonly min: number; readonly max: number };
  /** Probability that a message is delivered twice (the copy takes its own, out-of-order path). */
  readonly duplicate?: number;
  /**
   * Probability that a message leaves the in-order queue: it is held back by an extra random
   * delay, so messages sent after it may overtake it. Without it, a link is FIFO like TCP.
   */
  readonly reorder?: number;
}

/** Which links `setFaults` applies to: one direction, everything from or to an address, or all. */
export interface LinkSelector {
  readonly from?: string;
  readonly to?: string;
}

function checkProbability(name: string, value: number | undefined): void {
  if (value !== undefined && !(value >= 0 && value <= 1)) {
    throw new ConfigurationError(`${name} must be a probability in [0, 1], got ${value}`);
  }
}

export function checkFaults(faults: LinkFaults): void {
  checkProbability('drop', faults.drop);
  checkProbability('duplicate', faults.duplicate);
  checkProbability('reorder', faults.reorder);
  const delay = faults.delay;
  if (delay !== undefined) {
    const { min, max } = delay;
    if (!(Number.isFinite(min) && Number.isFinite(max) && min >= 0 && max >= min)) {
      throw new ConfigurationError(
        `delay must satisfy 0 <= min <= max (finite), got ${JSON.stringify(delay)}`,
      );
    }
  }
}

const ANY = '*';
const key = (from: string, to: string) => `${from}\u0000${to}`;

/**
 * Faults per link. The most specific setting wins: `{ from, to }`, then `{ from }`, then `{ to }`,
 * then the default (set without a selector).
 */
export class FaultTable {
  private readonly table = new Map<string, LinkFaults>();

  set(faults: LinkFaults, link: LinkSelector = {}): void {
    checkFaults(faults);
    this.table.set(key(link.from ?? ANY, link.to ?? ANY), { ...faults });
  }

  clear(): void {
    this.table.clear();
  }

  get(from: string, to: string): LinkFaults | undefined {
    if (this.table.size === 0) return undefined;
    return (
      this.table.get(key(from, to)) ??
      this.table.get(key(from, ANY)) ??
      this.table.get(key(ANY, to)) ??
      this.table.get(key(ANY, ANY))
    );
  }
}

/** Draws `true` with probability `p` (no draw at all when p is 0 or absent, to keep traces short). */
export function chance(scheduler: Scheduler, p: number | undefined): boolean {
  return p !== undefined && p > 0 && scheduler.random() < p;
}

/** Draws a delay from the link's distribution. */
export function drawDelay(scheduler: Scheduler, faults: LinkFaults | undefined): number {
  const delay = faults?.delay;
  if (delay === undefined || delay.max === 0) return 0;
  const min = Math.ceil(delay.min);
  const max = Math.floor(delay.max);
  return max <= min ? delay.min : randomInt(scheduler, min, max + 1);
}

/** The extra hold-back of a reordered message. */
export function drawReorderDelay(scheduler: Scheduler, faults: LinkFaults | undefined): number {
  const span = Math.max(1, Math.ceil(faults?.delay?.max ?? 0)) * 2;
  return randomInt(scheduler, 1, span + 1);
}
