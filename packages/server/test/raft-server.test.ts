import { afterEach, describe, expect, it } from 'vitest';
import { SystemScheduler } from '@copycat/common';
import { Storage } from '@copycat/storage';
import { LocalNetwork } from '@copycat/transport-local';
import { RaftServer, StateMachine, type Commit, type StateMachineExecutor } from '@copycat/server';

class Counter extends StateMachine {
  value = 0;
  configure(executor: StateMachineExecutor): void {
    executor.register('add', (commit: Commit<number>) => (this.value += commit.operation.args));
  }
}

const servers: RaftServer[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.shutdown()));
});

async function until(predicate: () => boolean, ms = 5_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('RaftServer over the local transport with memory storage', () => {
  it('elects a leader, replicates commands and survives a restart of every server', async () => {
    const scheduler = new SystemScheduler();
    const network = new LocalNetwork({ scheduler });
    const members = ['local:a', 'local:b', 'local:c'];
    const storages = members.map((m) => new Storage({ level: 'memory', directory: m }));
    const make = (i: number) =>
      new RaftServer({
        address: members[i]!,
        transport: network.transport(members[i]!),
        storage: storages[i]!,
        stateMachine: () => new Counter(),
        scheduler,
        electionTimeout: 100,
        heartbeatInterval: 25,
        sessionTimeout: 1000,
      });
    servers.push(...members.map((_, i) => make(i)));
    await Promise.all(servers.map((s) => s.bootstrap(members)));
    await until(() => servers.some((s) => s.state === 'leader'));
    const leader = servers.find((s) => s.state === 'leader')!;
    for (let i = 1; i <= 5; i++) expect(await leader.submitInternal('add', 1)).toBe(i);
    await until(() => servers.every((s) => s.lastApplied === leader.commitIndex));
    expect(leader.status().members).toHaveLength(3);

    await Promise.all(servers.splice(0).map((s) => s.shutdown()));
    servers.push(...members.map((_, i) => make(i)));
    await Promise.all(servers.map((s) => s.bootstrap(members)));
    await until(() => servers.some((s) => s.state === 'leader'));
    const next = servers.find((s) => s.state === 'leader')!;
    expect(await next.submitInternal('add', 10)).toBe(15);
  });
});
