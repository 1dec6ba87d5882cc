// A whole cluster of RaftNodes in one process on a virtual clock, with the invariants of
// TESTING.md checked after every step of the run.
import { isCopycatError } from '@copycat/common';
import { resolveTiming, type RaftTimingOptions } from '../../src/config.js';
import { RaftNode } from '../../src/raft/raft-node.js';
import type { UnsafeRaftOptions } from '../../src/raft/context.js';
import { InvariantChecker, watch } from './invariants.js';
import { TestStateMachine } from './test-state-machine.js';
import { ManualScheduler } from './manual-scheduler.js';
import { MemoryMeta, MemoryRaftLog } from './memory-ports.js';
import { SimNetwork } from './sim-network.js';

interface Server {
  address: string;
  log: MemoryRaftLog;
  meta: MemoryMeta;
  node: RaftNode | undefined;
  stateMachine: TestStateMachine | undefined;
}

export interface SimClusterOptions {
  size: number;
  seed?: number;
  timing?: RaftTimingOptions;
  unsafe?: UnsafeRaftOptions;
}

export { InvariantViolation } from './invariants.js';
export { TestStateMachine } from './test-state-machine.js';

export class SimCluster {
  readonly scheduler: ManualScheduler;
  readonly network: SimNetwork;
  readonly servers = new Map<string, Server>();
  readonly addresses: string[];
  readonly invariants = new InvariantChecker();

  constructor(private readonly options: SimClusterOptions) {
    this.scheduler = new ManualScheduler(options.seed ?? 1);
    this.network = new SimNetwork(this.scheduler);
    this.addresses = Array.from({ length: options.size }, (_, i) => `s${i + 1}`);
    for (const address of this.addresses) {
      this.servers.set(address, {
        address,
        log: new MemoryRaftLog(),
        meta: new MemoryMeta(),
        node: undefined,
        stateMachine: undefined,
      });
    }
  }

  get timing() {
    return resolveTiming({
      electionTimeout: 150,
      heartbeatInterval: 50,
      sessionTimeout: 1000,
      ...this.options.timing,
    });
  }

  /** Adds a server that is not part of the bootstrap configuration (to join later). */
  addServer(address: string): void {
    this.servers.set(address, {
      address,
      log: new MemoryRaftLog(),
      meta: new MemoryMeta(),
      node: undefined,
      stateMachine: undefined,
    });
  }

  /** Starts a server added with addServer and joins it to the cluster as `type`. */
  join(address: string, type: 'active' | 'passive' | 'reserve' = 'active'): Promise<void> {
    const server = this.servers.get(address)!;
    this.startServer(server, false);
    return server.node!.join(this.addresses, type);
  }

  /** Runs the clock until `promise` settles (bounded), returning its outcome. */
  async until<T>(promise: Promise<T>, maxMs = 10_000): Promise<T> {
    let outcome: { ok: true; value: T } | { ok: false; error: unknown } | undefined;
    promise.then(
      (value) => (outcome = { ok: true, value }),
      (error: unknown) => (outcome = { ok: false, error }),
    );
    for (let t = 0; t < maxMs && outcome === undefined; t += 10) await this.run(10);
    if (outcome === undefined) throw new Error(`did not settle within ${maxMs} ms`);
    if (!outcome.ok) throw outcome.error;
    return outcome.value;
  }

  private startServer(server: Server, bootstrap: boolean): void {
    const stateMachine = new TestStateMachine();
    const node = new RaftNode({
      address: server.address,
      log: server.log,
      meta: server.meta,
      peers: this.network.port(server.address),
      scheduler: this.scheduler,
      timing: this.timing,
      stateMachine,
      // Scenarios script elections right after start; the startup vote delay protects leases,
      // which the core simulation does not exercise (the real-component simulation does).
      unsafe: { voteImmediatelyAfterStart: true, ...this.options.unsafe },
    });
    server.node = node;
    server.stateMachine = stateMachine;
    this.network.register(server.address, node);
    watch(this.invariants, server.address, node);
    if (bootstrap) node.bootstrap(this.addresses);
    else node.start();
  }

  start(): void {
    for (const server of this.servers.values()) this.startServer(server, true);
  }

  /** Before start: gives `address` a log with entries of these terms (noops) and a current term. */
  preset(address: string, terms: readonly number[], currentTerm = Math.max(0, ...terms)): void {
    const server = this.servers.get(address)!;
    server.log.append(
      terms.map((term, i) => ({
        index: i + 1,
        term,
        type: 'noop' as const,
        timestamp: 0,
        payload: new Uint8Array(0),
      })),
    );
    server.log.durableLength = terms.length;
    void server.meta.store({ term: currentTerm, votedFor: undefined, configuration: undefined });
  }

  /** The terms of the entries in a server's log, in order. */
  terms(address: string): number[] {
    return this.servers.get(address)!.log.entries.map((e) => e.term);
  }

  crash(address: string, loseUnflushed = true): void {
    const server = this.servers.get(address)!;
    server.node?.close();
    server.node = undefined;
    server.stateMachine = undefined;
    this.network.register(address, undefined);
    server.log.crash(loseUnflushed);
  }

  restart(address: string): void {
    this.startServer(this.servers.get(address)!, false);
  }

  node(address: string): RaftNode {
    const node = this.servers.get(address)?.node;
    if (node === undefined) throw new Error(`${address} is down`);
    return node;
  }

  liveNodes(): RaftNode[] {
    return [...this.servers.values()].flatMap((s) => (s.node === undefined ? [] : [s.node]));
  }

  leader(): RaftNode | undefined {
    const leaders = this.liveNodes().filter((n) => n.context.roleName === 'leader');
    return leaders.sort((a, b) => b.context.term - a.context.term)[0];
  }

  async run(ms: number): Promise<void> {
    await this.scheduler.runFor(ms);
    this.invariants.checkApplied(
      [...this.servers.values()].flatMap((s) => (s.stateMachine === undefined ? [] : [s.stateMachine])),
    );
    this.invariants.assert();
  }

  /** Runs until a leader exists (bounded), returning it. */
  async awaitLeader(maxMs = 5_000): Promise<RaftNode> {
    for (let waited = 0; waited <= maxMs; waited += 10) {
      const leader = this.leader();
      if (leader !== undefined && leader.context.commitIndex >= 1 && this.isStableLeader(leader))
        return leader;
      await this.run(10);
    }
    throw new Error(`no leader within ${maxMs} ms`);
  }

  private isStableLeader(leader: RaftNode): boolean {
    return leader.context.log.termAt(leader.context.commitIndex) === leader.context.term;
  }

  /** Submits through whoever is leader, retrying on NO_LEADER, bounded in time. */
  async submit(name: string, args: unknown, maxMs = 5_000): Promise<unknown> {
    for (let waited = 0; waited <= maxMs; waited += 20) {
      const leader = this.leader();
      if (leader !== undefined) {
        let outcome: { ok: true; value: unknown } | { ok: false; error: unknown } | undefined;
        leader.submit(name, args).then(
          (value) => (outcome = { ok: true, value }),
          (error: unknown) => (outcome = { ok: false, error }),
        );
        for (let t = 0; t < maxMs && outcome === undefined; t += 10) await this.run(10);
        if (outcome?.ok === true) return outcome.value;
        // NO_LEADER and COMMAND_FAILURE say the command was not applied: retrying is safe.
        const retriable =
          isCopycatError(outcome?.error, 'NO_LEADER') || isCopycatError(outcome?.error, 'COMMAND_FAILURE');
        if (outcome !== undefined && !retriable) throw (outcome as { error: unknown }).error;
      }
      await this.run(20);
    }
    throw new Error(`could not submit ${name} within ${maxMs} ms`);
  }
}
