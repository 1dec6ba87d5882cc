// Clients for the real-component simulation: RaftClients on their own simulated clocks and
// network addresses, doing put/get/cas on a few keys and increments on a counter, with every
// operation recorded in a History for the linearizability checker.
import { sleep } from '@copycat/common';
import { History, type NodeScheduler } from '@copycat/testing';
import { RaftClient, command, query } from '@copycat/client';
import type { ConsistencyLevel } from '@copycat/protocol';
import type { RealCluster } from './real-cluster.js';

export interface WorkloadOptions {
  clients: number;
  /** Consistency of the reads. */
  consistency: ConsistencyLevel;
  /** Virtual time at which clients stop starting operations. */
  until: number;
  /** Per-call timeout (virtual ms): an operation still unanswered is recorded as `info`. */
  timeout?: number;
  sessionTimeout?: number;
}

/** One client's reads of the counter, for the sequential (per-client monotonic) check. */
export interface CounterObservation {
  kind: 'read' | 'add';
  value: number;
}

export class ClientWorkload {
  readonly kv: History;
  readonly counter: History;
  readonly clients: RaftClient[] = [];
  readonly clocks: NodeScheduler[] = [];
  /** Per client: counter values it saw, in the order its calls completed. */
  readonly observations: CounterObservation[][] = [];
  private nextValue = 0;

  constructor(
    private readonly cluster: RealCluster,
    private readonly options: WorkloadOptions,
  ) {
    this.kv = new History(() => cluster.scheduler.now());
    this.counter = new History(() => cluster.scheduler.now());
  }

  /** Creates and connects the clients (each to a server of its choosing). */
  async connect(): Promise<void> {
    for (let i = 0; i < this.options.clients; i++) {
      const name = `c${i + 1}`;
      const clock = this.cluster.scheduler.node(name);
      const client = new RaftClient({
        transport: this.cluster.network.transport(name),
        scheduler: clock,
        clientId: name,
        connectionStrategy: i % 2 === 0 ? 'random' : 'prefer-leader',
        requestTimeout: 200,
        retryBackoff: { initial: 10, max: 200 },
        sessionTimeout: this.options.sessionTimeout ?? 3_000,
      });
      this.clients.push(client);
      this.clocks.push(clock);
      this.observations.push([]);
    }
    await this.cluster.scheduler.runUntilSettled(
      Promise.all(this.clients.map((c) => c.connect(this.cluster.bootstrap))),
      { timeout: 10_000 },
    );
  }

  /** Runs every client's loop until `until`; resolves when all loops ended. */
  run(): Promise<void> {
    return Promise.all(this.clients.map((client, i) => this.loop(client, i))).then(() => undefined);
  }

  private async loop(client: RaftClient, index: number): Promise<void> {
    const random = this.clocks[index]!;
    const timeout = this.options.timeout ?? 1_000;
    const consistency = this.options.consistency;
    let generation = 0;
    let process = `c${index + 1}.${generation}`;
    const seen = this.observations[index]!;
    while (this.cluster.scheduler.now() < this.options.until) {
      // Think time: the local network and memory storage take no virtual time, so without it a
      // loop would never let the clock reach `until`.
      await sleep(random, 1 + Math.floor(random.random() * 10));
      const roll = random.random();
      const key = `k${Math.floor(random.random() * 3)}`;
      try {
        if (roll < 0.3) {
          const value = ++this.nextValue;
          await this.kv.record(process, { name: 'put', key, input: value }, async () =>
            nullable(await client.submit(command('put', { key, value }), { timeout })),
          );
        } else if (roll < 0.55) {
          await this.kv.record(process, { name: 'get', key }, async () =>
            nullable(await client.submit(query('get', key, { consistency }), { timeout })),
          );
        } else if (roll < 0.7) {
          const expect = random.random() < 0.3 ? null : Math.floor(random.random() * (this.nextValue + 1));
          const update = ++this.nextValue;
          await this.kv.record(process, { name: 'cas', key, input: { expect, update } }, () =>
            client.submit(command('cas', { key, expect: expect ?? undefined, update }), { timeout }),
          );
        } else if (roll < 0.85) {
          const value = await this.counter.record(
            process,
            { name: 'addAndGet', key: 'counter', input: 1 },
            () => client.submit(command<number>('add', 1), { timeout }),
          );
          seen.push({ kind: 'add', value: value });
        } else {
          const value = await this.counter.record(process, { name: 'get', key: 'counter' }, () =>
            client.submit(query<number>('read', undefined, { consistency }), { timeout }),
          );
          seen.push({ kind: 'read', value: value });
        }
      } catch {
        // The outcome is unknown (recorded as info): later operations get a new process id.
        process = `c${index + 1}.${++generation}`;
      }
    }
  }

  async close(): Promise<void> {
    await this.cluster.scheduler.runUntilSettled(Promise.allSettled(this.clients.map((c) => c.close())), {
      timeout: 10_000,
    });
  }
}

function nullable(value: unknown): unknown {
  return value === undefined ? null : value;
}

/**
 * What sequential consistency promises one client: its reads of the counter never go back in
 * time, and never miss its own increments. Returns a description of the first violation.
 */
export function checkMonotonic(observations: readonly CounterObservation[]): string | undefined {
  let floor = 0;
  for (const [i, o] of observations.entries()) {
    if (o.value < floor) return `observation ${i}: ${o.kind} saw ${o.value} after ${floor}`;
    floor = o.value;
  }
  return undefined;
}
