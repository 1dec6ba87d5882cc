/** Which pairs of addresses cannot talk: partitions, isolated nodes and single cut links. */

const pair = (a: string, b: string) => (a < b ? `${a}\u0000${b}` : `${b}\u0000${a}`);

export class Cuts {
  private readonly cut = new Set<string>();
  private readonly isolated = new Set<string>();

  /** Cuts both directions between `a` and `b`. */
  disconnect(a: string, b: string): void {
    if (a !== b) this.cut.add(pair(a, b));
  }

  /** Restores both directions between `a` and `b`. */
  connect(a: string, b: string): void {
    this.cut.delete(pair(a, b));
  }

  /** Cuts every pair across different groups. */
  partition(groups: readonly (readonly string[])[]): void {
    for (let i = 0; i < groups.length; i++) {
      for (let j = i + 1; j < groups.length; j++) {
        for (const a of groups[i]!) for (const b of groups[j]!) this.disconnect(a, b);
      }
    }
  }

  /**
   * Cuts `address` from every known address; addresses that become known later are cut from it
   * too (see `known`), until `heal()` or `connect()`.
   */
  isolate(address: string, known: Iterable<string>): void {
    this.isolated.add(address);
    for (const other of known) this.disconnect(address, other);
  }

  /** A new address appeared: it cannot reach isolated nodes either. */
  known(address: string): void {
    for (const isolated of this.isolated) this.disconnect(isolated, address);
  }

  heal(): void {
    this.cut.clear();
    this.isolated.clear();
  }

  isCut(a: string, b: string): boolean {
    return this.cut.size > 0 && a !== b && this.cut.has(pair(a, b));
  }
}
