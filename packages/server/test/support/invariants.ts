// The safety invariants of TESTING.md item 4, checked while a simulated cluster runs.
import type { RaftNode } from '../../src/raft/raft-node.js';
import type { TestStateMachine } from './test-state-machine.js';

export class InvariantViolation extends Error {}

export class InvariantChecker {
  private readonly leadersByTerm = new Map<number, string>();
  /** index -> term of every entry any server has committed. */
  private readonly committed = new Map<number, number>();
  readonly violations: string[] = [];

  /** Election Safety: at most one leader per term. */
  leaderElected(address: string, term: number): void {
    const existing = this.leadersByTerm.get(term);
    if (existing !== undefined && existing !== address) {
      this.violations.push(`two leaders in term ${term}: ${existing} and ${address}`);
    }
    this.leadersByTerm.set(term, address);
  }

  /** Committed entries never change: every server commits the same term at each index. */
  commitAdvanced(address: string, node: RaftNode): void {
    const log = node.context.log;
    for (let index = Math.max(1, log.firstIndex); index <= node.context.commitIndex; index++) {
      const term = log.termAt(index);
      if (term === undefined) continue;
      const known = this.committed.get(index);
      if (known === undefined) this.committed.set(index, term);
      else if (known !== term) {
        this.violations.push(
          `${address} committed term ${term} at ${index}, but term ${known} was committed there`,
        );
        return;
      }
    }
  }

  /** State machines apply the same commands in the same order (prefixes agree). */
  checkApplied(stateMachines: readonly TestStateMachine[]): void {
    const histories = stateMachines.map((s) => s.applied);
    const longest = histories.reduce((a, b) => (b.length > a.length ? b : a), []);
    for (const history of histories) {
      for (let i = 0; i < history.length; i++) {
        const a = history[i]!;
        const b = longest[i]!;
        if (a.index !== b.index || a.name !== b.name || JSON.stringify(a.args) !== JSON.stringify(b.args)) {
          this.violations.push(
            `applied histories diverge at position ${i}: ${JSON.stringify(a)} vs ${JSON.stringify(b)}`,
          );
          return;
        }
      }
    }
    // Session hooks run at the same index on every replica (expiry is decided by the log).
    const hookLists = stateMachines.map((s) => s.hooks);
    const mostHooks = hookLists.reduce((a, b) => (b.length > a.length ? b : a), []);
    for (const hooks of hookLists) {
      for (let i = 0; i < hooks.length; i++) {
        if (JSON.stringify(hooks[i]) !== JSON.stringify(mostHooks[i])) {
          this.violations.push(
            `session hooks diverge at position ${i}: ${JSON.stringify(hooks[i])} vs ${JSON.stringify(mostHooks[i])}`,
          );
          return;
        }
      }
    }
  }

  /** Throws if any invariant was violated so far. */
  assert(): void {
    if (this.violations.length > 0) throw new InvariantViolation(this.violations.join('\n'));
  }
}

/** Wires a node's events to the checker. */
export function watch(checker: InvariantChecker, address: string, node: RaftNode): void {
  node.context.commits.add(() => checker.commitAdvanced(address, node));
  node.onStateChange((state) => {
    if (state === 'leader') checker.leaderElected(address, node.context.term);
  });
}
