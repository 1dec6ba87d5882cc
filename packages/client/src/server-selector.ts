import { randomInt, type Scheduler } from '@copycat/common';
import { type ConnectionStrategy } from './options.js';

/** Picks the server to connect to next, by the client's connection strategy. */
export class ServerSelector {
  private cursor = -1;

  constructor(
    private readonly strategy: ConnectionStrategy,
    private readonly random: Pick<Scheduler, 'random'>,
  ) {}

  /**
   * The next address among `members`, avoiding `exclude` (the server that just failed) when
   * there is another choice. With `prefer-leader`, the known leader comes first.
   */
  select(members: readonly string[], leader: string | undefined, exclude: string | undefined): string {
    if (this.strategy === 'prefer-leader' && leader !== undefined && leader !== exclude) return leader;
    const candidates = members.filter((address) => address !== exclude);
    const from = candidates.length > 0 ? candidates : members;
    if (from.length === 0) throw new RangeError('no members to connect to');
    if (this.strategy === 'random') return from[randomInt(this.random, 0, from.length)]!;
    // Round robin over the full list, so skipping `exclude` does not shift everyone's turn.
    for (let i = 0; i < members.length; i++) {
      this.cursor = (this.cursor + 1) % members.length;
      const address = members[this.cursor]!;
      if (from.includes(address)) return address;
    }
    return from[0]!;
  }
}
