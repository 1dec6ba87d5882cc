// A real cluster: three servers over WebSocket on loopback with disk storage, in one process.
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocketTransport } from '@copycat/transport-ws';
import { RaftServer, StateMachine, type Commit, type StateMachineExecutor } from '@copycat/server';

class Register extends StateMachine {
  values: number[] = [];
  configure(executor: StateMachineExecutor): void {
    executor.register('append', (commit: Commit<number>) => {
      this.values.push(commit.operation.args);
      return this.values.length;
    });
  }
}

async function freePorts(count: number): Promise<number[]> {
  const servers = await Promise.all(
    Array.from(
      { length: count },
      () =>
        new Promise<ReturnType<typeof createServer>>((resolve) => {
          const server = createServer();
          server.listen(0, '127.0.0.1', () => resolve(server));
        }),
    ),
  );
  const ports = servers.map((s) => (s.address() as { port: number }).port);
  await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
  return ports;
}

async function until(predicate: () => boolean, ms: number): Promise<number> {
  const start = Date.now();
  while (!predicate()) {
    if (Date.now() - start > ms) throw new Error(`condition not met within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 5));
  }
  return Date.now() - start;
}

const cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const step of cleanup.splice(0).reverse()) await step();
});

describe('a 3-server cluster over WebSocket with disk storage', () => {
  it('elects a new leader within 2 s after the leader is killed, and loses no committed entry', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'copycat-ws-'));
    cleanup.push(async () => rmSync(dir, { recursive: true, force: true }));
    const members = (await freePorts(3)).map((port) => `127.0.0.1:${port}`);
    const registers: Register[] = [];
    const servers = members.map(
      (address, i) =>
        new RaftServer({
          address,
          transport: new WebSocketTransport(),
          storage: { directory: path.join(dir, `s${i + 1}`), level: 'disk' },
          stateMachine: () => (registers[i] = new Register()),
          electionTimeout: 300,
          heartbeatInterval: 75,
          sessionTimeout: 3000,
        }),
    );
    cleanup.push(async () => void (await Promise.all(servers.map((s) => s.shutdown()))));
    await Promise.all(servers.map((s) => s.bootstrap(members)));
    await until(() => servers.some((s) => s.state === 'leader'), 5_000);
    const leader = servers.find((s) => s.state === 'leader')!;
    const committed: number[] = [];
    for (let i = 0; i < 50; i++) {
      await leader.submitInternal('append', i);
      committed.push(i);
    }
    // Kill the leader: it stops without leaving the cluster.
    await leader.shutdown();
    const survivors = servers.filter((s) => s !== leader);
    const elapsed = await until(
      () => survivors.some((s) => s.state === 'leader' && s.leader === s.address),
      2_000,
    );
    expect(elapsed).toBeLessThan(2_000);
    const next = survivors.find((s) => s.state === 'leader')!;
    expect(next.term).toBeGreaterThan(leader.term);
    expect(await next.submitInternal('append', 50)).toBe(51);
    await until(() => survivors.every((s) => s.lastApplied === next.commitIndex), 2_000);
    for (const s of survivors) {
      expect(registers[servers.indexOf(s)]!.values).toEqual([...committed, 50]);
    }
  });
});
