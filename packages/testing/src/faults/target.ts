/**
 * What a fault schedule acts on: the cluster harness implements this, forwarding the network
 * methods to the local transport's `LocalNetwork` (same names and shapes) and the node methods
 * to its own crash/restart/pause logic (e.g. `NodeScheduler.pause()`, `cancelAll()`).
 */

/** Link fault parameters, as the local transport takes them. Probabilities are in [0, 1]. */
export interface LinkFaults {
  /** Probability a message is dropped. */
  drop?: number;
  /** Extra delivery delay drawn uniformly from [min, max] ms. */
  delay?: { min: number; max: number };
  /** Probability a message is delivered twice. */
  duplicate?: number;
  /** Probability a message is held back so later ones overtake it. */
  reorder?: number;
}

/** A directed link (`from` → `to`); a missing end means any node. */
export interface Link {
  from?: string;
  to?: string;
}

export type MembershipChangeKind = 'join' | 'leave' | 'promote' | 'demote';

export interface MembershipChange {
  kind: MembershipChangeKind;
  node: string;
}

export interface FaultTarget {
  /** Every node of the cluster (servers), in a stable order. */
  nodes(): readonly string[];
  /** The current leader as the harness sees it, if any. */
  leader(): string | undefined;
  /** Splits the network: nodes in different groups cannot talk. Replaces any previous partition. */
  partition(...groups: string[][]): void;
  /** Cuts the link between `a` and `b`, both ways. */
  disconnect(a: string, b: string): void;
  /** Removes every partition and cut link. */
  heal(): void;
  /** Applies message faults to every link, or to one link. */
  setFaults(faults: LinkFaults, link?: Link): void;
  /** Removes every message fault. */
  clearFaults(): void;
  /** Crashes a node: its timers and in-flight work are lost; its disk too if `loseDisk`. */
  crash(node: string, options: { loseDisk: boolean }): void | Promise<void>;
  /** Restarts a crashed node from its (memory) storage. */
  restart(node: string): void | Promise<void>;
  /** Stops a node's timers and message handling, like `SIGSTOP`. */
  pause(node: string): void;
  /** Undoes `pause`, like `SIGCONT`. */
  resume(node: string): void;
  /** Requests a membership change; the cluster may refuse it (that is not an error). */
  membership?(change: MembershipChange): void | Promise<void>;
}
