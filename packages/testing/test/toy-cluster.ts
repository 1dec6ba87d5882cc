/**
 * A toy replicated register for exercising the harness end to end: a primary that applies
 * writes and replicates them asynchronously to two backups, over a toy network that implements
 * `FaultTarget`. With `readFrom: 'any'` reads go to a random replica: stale reads, a real bug
 * the checker must catch. With `'primary'` it is linearizable (the primary dedupes requests,
 * since the network may duplicate them).
 */
import { TimeoutError, sleep } from '@copycat/common';
import type {
  FaultTarget,
  History,
  LinkFaults,
  NodeScheduler,
  Prng,
  SimulatedScheduler,
} from '@copycat/testing';

type Message =
  | { type: 'write'; id: number; from: string; value: number }
  | { type: 'read'; id: number; from: string }
  | { type: 'replicate'; version: number; value: number }
  | { type: 'reply'; id: number; value: unknown };

const SERVERS = ['n1', 'n2', 'n3'];

export class ToyCluster implements FaultTarget {
  private readonly random: Prng;
  private readonly groups = new Map<string, number>();
  private readonly cut = new Set<string>();
  private readonly down = new Set<string>();
  private global: LinkFaults = {};
  private readonly links = new Map<string, LinkFaults>();
  private readonly state = new Map(
    SERVERS.map((n) => [n, { value: null as number | null, version: 0, applied: new Set<number>() }]),
  );
  private readonly pending = new Map<number, (value: unknown) => void>();
  private nextId = 0;

  constructor(
    private readonly sim: SimulatedScheduler,
    private readonly readFrom: 'primary' | 'any',
  ) {
    this.random = sim.fork('network');
  }

  nodes() {
    return SERVERS;
  }
  leader() {
    return 'n1';
  }
  partition(...groups: string[][]) {
    this.groups.clear();
    groups.forEach((g, i) => g.forEach((n) => this.groups.set(n, i)));
  }
  disconnect(a: string, b: string) {
    this.cut.add([a, b].sort().join('|'));
  }
  heal() {
    this.groups.clear();
    this.cut.clear();
  }
  setFaults(faults: LinkFaults, link?: { from?: string; to?: string }) {
    if (link === undefined) this.global = faults;
    else this.links.set(`${link.from ?? '*'}>${link.to ?? '*'}`, faults);
  }
  clearFaults() {
    this.global = {};
    this.links.clear();
  }
  crash(node: string) {
    this.down.add(node);
    this.sim.node(node).cancelAll();
  }
  restart(node: string) {
    this.down.delete(node);
  }
  pause(node: string) {
    this.sim.node(node).pause();
  }
  resume(node: string) {
    this.sim.node(node).resume();
  }

  /** One client process: `count` random reads and writes, recorded in `history`. */
  async client(name: string, count: number, history: History): Promise<void> {
    const view = this.sim.node(name);
    let process = `${name}.0`;
    let generation = 0;
    for (let i = 0; i < count; i++) {
      await sleep(view, view.randomInt(0, 10));
      const write = view.random() < 0.5;
      const op = write ? { name: 'write', input: view.randomInt(0, 1000) } : { name: 'read' };
      const target = write || this.readFrom === 'primary' ? 'n1' : SERVERS[view.randomInt(0, 3)]!;
      try {
        await history.record(process, op, () =>
          this.call(view, name, target, write ? { type: 'write', value: op.input! } : { type: 'read' }),
        );
      } catch {
        process = `${name}.${++generation}`; // its operation may still be in flight: retire it
      }
    }
  }

  private call(
    view: NodeScheduler,
    from: string,
    to: string,
    request: { type: 'write'; value: number } | { type: 'read' },
  ): Promise<unknown> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, resolve);
      this.send(from, to, { ...request, id, from });
      view.schedule(60, () => {
        if (this.pending.delete(id)) reject(new TimeoutError(`request ${id} timed out`));
      });
    });
  }

  private send(from: string, to: string, message: Message): void {
    if (this.down.has(from) || this.down.has(to)) return;
    const ga = this.groups.get(from);
    const gb = this.groups.get(to);
    if (ga !== undefined && gb !== undefined && ga !== gb) return;
    if (this.cut.has([from, to].sort().join('|'))) return;
    const faults = this.links.get(`${from}>${to}`) ?? this.global;
    if (faults.drop !== undefined && this.random.chance(faults.drop)) return;
    const copies = faults.duplicate !== undefined && this.random.chance(faults.duplicate) ? 2 : 1;
    for (let i = 0; i < copies; i++) {
      let delay = 1 + this.random.randomInt(0, 5);
      if (faults.delay !== undefined) delay += this.random.randomInt(faults.delay.min, faults.delay.max + 1);
      if (faults.reorder !== undefined && this.random.chance(faults.reorder))
        delay += this.random.randomInt(0, 20);
      this.sim.node(to).schedule(delay, () => this.deliver(to, message));
    }
  }

  private deliver(node: string, message: Message): void {
    if (this.down.has(node)) return;
    const state = this.state.get(node);
    switch (message.type) {
      case 'reply':
        this.pending.get(message.id)?.(message.value);
        this.pending.delete(message.id);
        return;
      case 'read':
        this.send(node, message.from, { type: 'reply', id: message.id, value: state!.value });
        return;
      case 'write':
        if (!state!.applied.has(message.id)) {
          state!.applied.add(message.id);
          state!.value = message.value;
          state!.version++;
          for (const backup of SERVERS.slice(1))
            this.send(node, backup, { type: 'replicate', version: state!.version, value: message.value });
        }
        this.send(node, message.from, { type: 'reply', id: message.id, value: undefined });
        return;
      case 'replicate':
        if (message.version > state!.version) {
          state!.version = message.version;
          state!.value = message.value;
        }
        return;
    }
  }
}
