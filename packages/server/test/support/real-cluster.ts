// A cluster of real RaftServers in one process: the simulated scheduler (a pausable, drifting
// clock per server), the local transport (partitions, drops, delays, duplicates, reordering) and
// memory storage (crashes lose what was not written). It implements the FaultSchedule's target.
import { isCopycatError, sleep } from '@copycat/common';
import { Storage } from '@copycat/storage';
import { LocalNetwork } from '@copycat/transport-local';
import {
  SimulatedScheduler,
  type FaultTarget,
  type LinkFaults,
  type Link,
  type MembershipChange,
  type NodeScheduler,
} from '@copycat/testing';
import { RaftServer } from '../../src/raft-server.js';
import type { RaftTimingOptions } from '../../src/config.js';
import type { UnsafeRaftOptions } from '../../src/raft/context.js';
import { InvariantChecker, watch } from './invariants.js';
import { PausableTransport } from './pausable-transport.js';
import { TestStateMachine } from './test-state-machine.js';

interface Member {
  address: string;
  clock: NodeScheduler;
  storage: Storage;
  transport: PausableTransport;
  server: RaftServer | undefined;
  stateMachine: TestStateMachine | undefined;
}

export interface RealClusterOptions {
  size: number;
  seed: number;
  /** Servers that exist but are not in the bootstrap configuration (for joins). */
  spares?: number;
  timing?: RaftTimingOptions;
  unsafe?: UnsafeRaftOptions;
  /** Maximum clock drift of a server, as a rate difference (0.01 = 1%). Default 0.01. */
  drift?: number;
  /** Called after every scheduler step (tracing a failing seed). */
  onStep?: ConstructorParameters<typeof SimulatedScheduler>[0]['onStep'];
}

export class RealCluster implements FaultTarget {
  readonly scheduler: SimulatedScheduler;
  readonly network: LocalNetwork;
  readonly invariants = new InvariantChecker();
  readonly bootstrap: string[];
  private readonly members = new Map<string, Member>();
  private readonly timing: RaftTimingOptions;

  constructor(private readonly options: RealClusterOptions) {
    this.scheduler = new SimulatedScheduler({
      seed: options.seed,
      ...(options.onStep === undefined ? {} : { onStep: options.onStep }),
    });
    this.network = new LocalNetwork({ scheduler: this.scheduler, requestTimeout: 500, connectTimeout: 200 });
    this.timing = { electionTimeout: 150, heartbeatInterval: 50, sessionTimeout: 1_000, ...options.timing };
    this.bootstrap = Array.from({ length: options.size }, (_, i) => `s${i + 1}`);
    const spares = Array.from({ length: options.spares ?? 0 }, (_, i) => `n${i + 1}`);
    const drift = options.drift ?? 0.01;
    for (const address of [...this.bootstrap, ...spares]) {
      const clock = this.scheduler.node(address, { drift: (this.scheduler.random() * 2 - 1) * drift });
      this.members.set(address, {
        address,
        clock,
        storage: new Storage({ level: 'memory', directory: address }),
        transport: new PausableTransport(this.network.transport(address)),
        server: undefined,
        stateMachine: undefined,
      });
    }
  }

  private create(member: Member): RaftServer {
    const server = new RaftServer({
      address: member.address,
      transport: member.transport,
      storage: member.storage,
      scheduler: member.clock,
      stateMachine: () => (member.stateMachine = new TestStateMachine()),
      requestTimeout: 100,
      ...this.timing,
      ...(this.options.unsafe === undefined ? {} : { unsafe: this.options.unsafe }),
    });
    member.server = server;
    return server;
  }

  private observe(member: Member): void {
    const node = member.server?.inspect();
    if (node !== undefined) watch(this.invariants, member.address, node);
  }

  async start(): Promise<void> {
    const members = this.bootstrap.map((address) => this.members.get(address)!);
    await this.scheduler.runUntilSettled(
      Promise.all(members.map((m) => this.create(m).bootstrap(this.bootstrap))),
    );
    for (const member of members) this.observe(member);
  }

  server(address: string): RaftServer | undefined {
    return this.members.get(address)?.server;
  }

  /** The state machine of a running server. */
  stateMachine(address: string): TestStateMachine | undefined {
    return this.members.get(address)?.stateMachine;
  }

  /** State machines of every running server. */
  stateMachines(): TestStateMachine[] {
    return [...this.members.values()].flatMap((m) => (m.stateMachine === undefined ? [] : [m.stateMachine]));
  }

  servers(): RaftServer[] {
    return [...this.members.values()].flatMap((m) => (m.server === undefined ? [] : [m.server]));
  }

  async run(ms: number): Promise<void> {
    await this.scheduler.runFor(ms);
    this.check();
  }

  check(): void {
    this.invariants.checkApplied(
      [...this.members.values()].flatMap((m) => (m.stateMachine === undefined ? [] : [m.stateMachine])),
    );
    this.invariants.assert();
  }

  // ---- FaultTarget ---------------------------------------------------------------------------

  nodes(): readonly string[] {
    return [...this.members.keys()];
  }

  leader(): string | undefined {
    const leaders = this.servers().filter((s) => s.state === 'leader');
    return leaders.sort((a, b) => b.term - a.term)[0]?.address;
  }

  partition(...groups: string[][]): void {
    this.network.partition(...groups);
  }

  disconnect(a: string, b: string): void {
    this.network.disconnect(a, b);
  }

  heal(): void {
    this.network.heal();
  }

  setFaults(faults: LinkFaults, link?: Link): void {
    this.network.setFaults(faults, link);
  }

  clearFaults(): void {
    this.network.clearFaults();
  }

  async crash(node: string, options: { loseDisk: boolean }): Promise<void> {
    const member = this.members.get(node)!;
    const server = member.server;
    if (server === undefined) return;
    member.server = undefined;
    member.stateMachine = undefined;
    member.clock.cancelAll();
    this.network.crash(node);
    await server.abort();
    await member.storage.crash({ mode: 'process' });
    if (options.loseDisk) member.storage = new Storage({ level: 'memory', directory: node });
  }

  async restart(node: string): Promise<void> {
    const member = this.members.get(node)!;
    if (member.server !== undefined) return;
    const server = this.create(member);
    // A restart: the stored configuration wins over the bootstrap list.
    await server.bootstrap(this.bootstrap).catch(() => {});
    this.observe(member);
  }

  pause(node: string): void {
    const member = this.members.get(node)!;
    member.clock.pause();
    member.transport.pause();
  }

  resume(node: string): void {
    const member = this.members.get(node)!;
    member.clock.resume();
    member.transport.resume();
  }

  /**
   * Starts a membership change and returns at once: a change can outlive its requester (a
   * crashed or paused server's timers stop), and the cluster may refuse it, which is no bug.
   */
  membership(change: MembershipChange): void {
    const member = this.members.get(change.node)!;
    const leader = this.server(this.leader() ?? '');
    let operation: Promise<void> | undefined;
    switch (change.kind) {
      case 'join':
        if (member.server === undefined) {
          const server = this.create(member);
          operation = server.join(this.bootstrap, 'active');
          this.observe(member);
        }
        break;
      case 'leave':
        operation = member.server?.inspect()?.leave();
        break;
      case 'promote':
        operation = leader?.cluster.promote(change.node);
        break;
      case 'demote':
        operation = leader?.cluster.demote(change.node);
        break;
    }
    operation?.catch((error: unknown) => {
      if (!isCopycatError(error))
        this.invariants.violations.push(
          `membership change failed with a non-Copycat error: ${String(error)}`,
        );
    });
  }

  // ---- workload and liveness ------------------------------------------------------------------

  /** Submits through the current leader; the outcome is reported, never thrown. */
  submit(name: string, args: unknown): Promise<'ok' | 'failed'> {
    const leader = this.server(this.leader() ?? '');
    if (leader === undefined) return Promise.resolve('failed');
    return leader.submitInternal(name, args).then(
      () => 'ok' as const,
      () => 'failed' as const,
    );
  }

  /** After faults stop: a leader within 10 election timeouts, then every member with a log converges. */
  async assertLiveness(): Promise<void> {
    const electionTimeout = this.timing.electionTimeout ?? 150;
    let committed = false;
    for (let waited = 0; waited < 20 * electionTimeout && !committed; waited += 25) {
      const leader = this.server(this.leader() ?? '');
      if (leader !== undefined) {
        // A leader that is deposed right after appending may never see its entry replaced (the
        // new leader's log need not grow that far), so each attempt is bounded in time.
        const attempt = leader.submitInternal('add', 0).then(
          () => true,
          () => false,
        );
        const outcome = await this.scheduler.runUntilSettled(
          Promise.race([attempt, sleep(this.scheduler, 5 * electionTimeout).then(() => false)]),
        );
        committed = outcome;
      }
      if (!committed) await this.run(25);
    }
    if (!committed)
      throw new Error(`no leader committed a command within ${20 * electionTimeout} ms after healing`);
    for (let waited = 0; waited < 5_000; waited += 50) {
      const leader = this.server(this.leader() ?? '');
      const members = leader?.cluster.members.filter((m) => m.type !== 'reserve').map((m) => m.address) ?? [];
      const target = leader?.commitIndex ?? Number.POSITIVE_INFINITY;
      const behind = members.filter((a) => (this.server(a)?.lastApplied ?? -1) < target);
      if (leader !== undefined && behind.length === 0) return;
      await this.run(50);
    }
    throw new Error(
      `servers did not converge: ${this.servers()
        .map((s) => `${s.address}:${s.lastApplied}/${s.commitIndex}`)
        .join(' ')}`,
    );
  }
}
