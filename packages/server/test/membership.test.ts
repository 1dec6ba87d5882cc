// Single-member configuration changes (dissertation §4.1) and member types (INTERNALS.md).
import { describe, expect, it } from 'vitest';
import { SimCluster } from './support/sim-cluster.js';

const typeOf = (cluster: SimCluster, address: string) =>
  cluster.leader()?.context.configuration.members.find((m) => m.address === address)?.type;

describe('membership', () => {
  it('a server joins as passive, catches up, and is promoted to an active voter', async () => {
    const cluster = new SimCluster({ size: 3, seed: 41 });
    cluster.start();
    await cluster.awaitLeader();
    for (let i = 0; i < 20; i++) await cluster.submit('add', 1);
    cluster.addServer('s4');
    const joining = cluster.join('s4', 'active');
    // While it catches up it is passive: a non-voter receiving committed entries only.
    await cluster.run(5);
    await cluster.until(joining);
    expect(typeOf(cluster, 's4')).toBe('active');
    expect(cluster.node('s4').context.roleName).toBe('follower');
    await cluster.run(300);
    expect(cluster.servers.get('s4')!.stateMachine!.counter).toBe(20);
    // It now counts in the quorum: with two of the original three down, 4 members need 3 votes.
    expect(cluster.leader()!.context.voters()).toHaveLength(4);
  });

  it('passive members hold committed entries only and do not vote', async () => {
    const cluster = new SimCluster({ size: 3, seed: 42 });
    cluster.start();
    await cluster.awaitLeader();
    cluster.addServer('p1');
    await cluster.until(cluster.join('p1', 'passive'));
    expect(cluster.node('p1').context.roleName).toBe('passive');
    for (let i = 0; i < 5; i++) await cluster.submit('add', 1);
    await cluster.run(300);
    const passive = cluster.node('p1').context;
    const leader = cluster.leader()!.context;
    expect(passive.log.lastIndex).toBeLessThanOrEqual(leader.commitIndex);
    expect(passive.log.lastIndex).toBe(leader.commitIndex);
    expect(cluster.servers.get('p1')!.stateMachine!.counter).toBe(5);
    expect(leader.voters()).not.toContain('p1');
  });

  it('a reserve member stores no log, follows configurations, and can be promoted', async () => {
    const cluster = new SimCluster({ size: 3, seed: 43 });
    cluster.start();
    await cluster.awaitLeader();
    cluster.addServer('r1');
    await cluster.until(cluster.join('r1', 'reserve'));
    await cluster.submit('add', 7);
    await cluster.run(300);
    expect(cluster.node('r1').context.roleName).toBe('reserve');
    expect(cluster.node('r1').context.log.lastIndex).toBe(0);
    await cluster.until(cluster.leader()!.setMemberType('r1', 'active'));
    await cluster.run(500);
    expect(cluster.node('r1').context.roleName).toBe('follower');
    expect(cluster.servers.get('r1')!.stateMachine!.counter).toBe(7);
  });

  it('demote and leave: a demoted voter stops counting, a leaving server becomes inactive', async () => {
    const cluster = new SimCluster({ size: 3, seed: 44 });
    cluster.start();
    const leader = await cluster.awaitLeader();
    const other = cluster.addresses.find((a) => a !== leader.context.address)!;
    await cluster.until(leader.setMemberType(other, 'passive'));
    expect(leader.context.voters()).toHaveLength(2);
    await cluster.run(200);
    expect(cluster.node(other).context.roleName).toBe('passive');
    await cluster.until(cluster.node(other).leave());
    await cluster.run(200);
    expect(cluster.node(other).context.roleName).toBe('inactive');
    expect(leader.context.configuration.members.map((m) => m.address)).not.toContain(other);
    expect(await cluster.submit('add', 1)).toBe(1);
  });

  it('a leader that leaves steps down once the change commits, and the rest elect a new one', async () => {
    const cluster = new SimCluster({ size: 3, seed: 45 });
    cluster.start();
    const leader = await cluster.awaitLeader();
    await cluster.submit('add', 1);
    await cluster.until(leader.leave());
    await cluster.run(1_000);
    expect(leader.context.roleName).toBe('inactive');
    const next = await cluster.awaitLeader();
    expect(next).not.toBe(leader);
    expect(next.context.voters()).toHaveLength(2);
    expect(await cluster.submit('add', 1)).toBe(2);
  });

  it('refuses to remove the last active member', async () => {
    const cluster = new SimCluster({ size: 1, seed: 46 });
    cluster.start();
    const leader = await cluster.awaitLeader();
    await expect(cluster.until(leader.leave())).rejects.toThrow(/without an active member/);
  });
});

describe('availability', () => {
  it('an unreachable member is committed as unavailable, and available again once it answers', async () => {
    const cluster = new SimCluster({ size: 3, seed: 47 });
    cluster.start();
    const leader = await cluster.awaitLeader();
    const other = cluster.addresses.find((a) => a !== leader.context.address)!;
    const statusOf = () => leader.context.committed.members.find((m) => m.address === other)?.status;
    cluster.crash(other);
    await cluster.run(2_000);
    expect(statusOf()).toBe('unavailable');
    cluster.restart(other);
    await cluster.run(3_000);
    expect(statusOf()).toBe('available');
    expect(await cluster.submit('add', 1)).toBe(1);
  });
});

describe('membership under failure', () => {
  it('a leader killed while a server joins: the new leader completes the change on retry', async () => {
    const cluster = new SimCluster({ size: 3, seed: 48 });
    cluster.start();
    const leader = await cluster.awaitLeader();
    for (let i = 0; i < 10; i++) await cluster.submit('add', 1);
    cluster.addServer('s4');
    const joining = cluster.join('s4', 'active');
    // Let the passive configuration reach the log, then kill the leader mid-change.
    for (let t = 0; t < 100 && !leader.context.configuration.members.some((m) => m.address === 's4'); t++)
      await cluster.run(1);
    cluster.crash(leader.context.address);
    await cluster.until(joining, 20_000);
    const next = await cluster.awaitLeader();
    expect(next).not.toBe(leader);
    expect(next.context.configuration.members.find((m) => m.address === 's4')?.type).toBe('active');
    await cluster.run(300);
    expect(cluster.servers.get('s4')!.stateMachine!.counter).toBe(10);
  });
});
