import { describe, expect, it } from 'vitest';
import { SimCluster } from './support/sim-cluster.js';

describe('§5.2 leader election', () => {
  it('a 3-server cluster elects exactly one leader and commits its initialize entry', async () => {
    const cluster = new SimCluster({ size: 3, seed: 7 });
    cluster.start();
    const leader = await cluster.awaitLeader();
    const others = cluster.liveNodes().filter((n) => n !== leader);
    expect(others.every((n) => n.context.roleName === 'follower')).toBe(true);
    await cluster.run(100);
    expect(others.every((n) => n.context.leader === leader.context.address)).toBe(true);
    expect(others.every((n) => n.context.term === leader.context.term)).toBe(true);
  });

  it('a single server elects itself', async () => {
    const cluster = new SimCluster({ size: 1 });
    cluster.start();
    const leader = await cluster.awaitLeader();
    expect(leader.context.address).toBe('s1');
    expect(await cluster.submit('add', 5)).toBe(5);
  });

  it('commands are applied once, in order, on every server', async () => {
    const cluster = new SimCluster({ size: 3, seed: 3 });
    cluster.start();
    await cluster.awaitLeader();
    for (let i = 1; i <= 10; i++) expect(await cluster.submit('add', 1)).toBe(i);
    await cluster.run(200);
    for (const server of cluster.servers.values()) expect(server.stateMachine!.counter).toBe(10);
  });

  it('a new leader is elected after the leader crashes, and committed entries survive', async () => {
    const cluster = new SimCluster({ size: 3, seed: 11 });
    cluster.start();
    const first = await cluster.awaitLeader();
    await cluster.submit('add', 1);
    await cluster.submit('add', 2);
    cluster.crash(first.context.address);
    const second = await cluster.awaitLeader();
    expect(second.context.address).not.toBe(first.context.address);
    expect(second.context.term).toBeGreaterThan(first.context.term);
    expect(await cluster.submit('add', 3)).toBe(6);
    cluster.restart(first.context.address);
    await cluster.run(500);
    for (const server of cluster.servers.values()) expect(server.stateMachine!.counter).toBe(6);
  });
});
