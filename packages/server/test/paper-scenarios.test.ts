// Scenario tests for claims of the Raft paper (§ numbers from "In Search of an Understandable
// Consensus Algorithm", extended version) and the dissertation. Each drives a small cluster on
// the virtual clock into the situation the paper draws and checks what must (not) happen.
import { describe, expect, it } from 'vitest';
import { InvariantViolation, SimCluster } from './support/sim-cluster.js';

/** Lets the microtask queue settle (meta presets are stored asynchronously). */
const settle = () => new Promise<void>((resolve) => setImmediate(resolve));

describe('§5.3 figure 7: a new leader brings every follower log to its own', () => {
  it('removes extraneous entries, fills missing ones, and needs few round trips per follower', async () => {
    const leader = [1, 1, 1, 4, 4, 5, 5, 6, 6, 6];
    const followers: Record<string, number[]> = {
      s2: [1, 1, 1, 4, 4, 5, 5, 6, 6], // (a) missing one entry
      s3: [1, 1, 1, 4], // (b) missing many
      s4: [1, 1, 1, 4, 4, 5, 5, 6, 6, 6, 6], // (c) one extra uncommitted entry
      s5: [1, 1, 1, 4, 4, 5, 5, 6, 6, 6, 7, 7], // (d) extra entries of a later term
      s6: [1, 1, 1, 4, 4, 4, 4], // (e) extra entries of term 4
      s7: [1, 1, 1, 2, 2, 2, 3, 3, 3, 3, 3], // (f) a long divergent tail of terms 2 and 3
    };
    const cluster = new SimCluster({ size: 7, seed: 1 });
    cluster.preset('s1', leader, 7);
    for (const [address, terms] of Object.entries(followers)) cluster.preset(address, terms, 7);
    await settle();
    cluster.start();
    // s1 campaigns first; (a), (b), (e), (f) vote for it: their logs are not more up to date.
    cluster.node('s1').context.transition('candidate');
    await cluster.run(20);
    expect(cluster.node('s1').context.roleName).toBe('leader');
    expect(cluster.node('s1').context.term).toBe(8);
    const expected = [...leader, 8];
    const converged = () => cluster.addresses.every((a) => cluster.terms(a).join() === expected.join());
    for (let t = 0; t < 500 && !converged(); t++) await cluster.run(1);
    for (const address of cluster.addresses) expect(cluster.terms(address), address).toEqual(expected);
    // Conflict hints skip whole terms: a few appends per follower, not one per missing entry.
    expect(cluster.node('s1').context.counters.appendsSent).toBeLessThanOrEqual(6 * 4);
  });
});

describe('§5.4.2 figure 8: leaders only commit entries of their own term by counting replicas', () => {
  async function figure8(unsafe: boolean): Promise<{ cluster: SimCluster; commitBeforeCrash: number }> {
    const cluster = new SimCluster({
      size: 5,
      seed: 3,
      timing: { maxBatchBytes: 1 }, // one entry per batch, as in the figure's step-by-step story
      ...(unsafe ? { unsafe: { commitPreviousTermEntries: true } } : {}),
    });
    cluster.network.minDelay = 1;
    cluster.network.maxDelay = 1;
    // (b): S1 led term 2 and gave index 2 to S2; S5 led term 3 and wrote its own index 2.
    cluster.preset('s1', [1, 2], 3);
    cluster.preset('s2', [1, 2], 3);
    cluster.preset('s3', [1], 3);
    cluster.preset('s4', [1], 3);
    cluster.preset('s5', [1, 3], 3);
    await settle();
    cluster.network.isolate('s4', cluster.addresses);
    cluster.network.isolate('s5', cluster.addresses);
    cluster.start();
    // (c): S1 is elected in term 4 by S2 and S3 and replicates index 2 to S3.
    cluster.node('s1').context.transition('candidate');
    const s1 = cluster.node('s1');
    for (let t = 0; t < 200 && s1.context.roleName !== 'leader'; t++) await cluster.run(1);
    expect(s1.context.term).toBe(4);
    for (let t = 0; t < 200 && cluster.node('s3').context.log.lastIndex < 2; t++) await cluster.run(1);
    expect(cluster.terms('s3')).toEqual([1, 2]);
    await cluster.run(1); // S3's acknowledgement reaches S1
    const commitBeforeCrash = s1.context.commitIndex;
    // (d): S1 crashes before its term-4 entry reaches a majority; S5 can now be elected by S3 and
    // S4 (its last term 3 beats their 2 and 1) and overwrites index 2 everywhere it can.
    cluster.crash('s1', false);
    cluster.network.heal();
    cluster.network.isolate('s2', cluster.addresses);
    cluster.network.isolate('s1', cluster.addresses);
    return { cluster, commitBeforeCrash };
  }

  it('a term-2 entry on a majority is not committed by the term-4 leader, so S5 may replace it', async () => {
    const { cluster, commitBeforeCrash } = await figure8(false);
    expect(commitBeforeCrash).toBeLessThan(2);
    await cluster.run(3_000);
    const leader = cluster.leader();
    expect(leader?.context.address).toBe('s5');
    expect(cluster.terms('s3').slice(0, 2)).toEqual([1, 3]);
  });

  it('with the rule broken, the same story commits an entry that is later replaced', async () => {
    const { cluster, commitBeforeCrash } = await figure8(true);
    expect(commitBeforeCrash).toBe(2);
    await expect(cluster.run(3_000)).rejects.toThrow(InvariantViolation);
  });
});

describe('partitions', () => {
  it('an old leader in a minority partition cannot commit, and its entries are discarded on healing', async () => {
    const cluster = new SimCluster({ size: 5, seed: 5 });
    cluster.start();
    const old = await cluster.awaitLeader();
    await cluster.submit('add', 1);
    const oldAddress = old.context.address;
    const others = cluster.addresses.filter((a) => a !== oldAddress);
    cluster.network.partition([oldAddress, others[0]!], others.slice(1));
    let oldOutcome: string | undefined;
    old.submit('add', 100).then(
      () => (oldOutcome = 'applied'),
      (error: Error) => (oldOutcome = error.name),
    );
    const commitBefore = old.context.commitIndex;
    await cluster.run(100);
    expect(old.context.commitIndex).toBe(commitBefore);
    // The majority side elects a new leader and moves on.
    await cluster.run(2_000);
    const fresh = cluster.leader()!;
    expect(others.slice(1)).toContain(fresh.context.address);
    expect(await cluster.submit('add', 10)).toBe(11);
    cluster.network.heal();
    await cluster.run(2_000);
    expect(oldOutcome).toBe('CommandFailureError');
    for (const server of cluster.servers.values()) expect(server.stateMachine!.counter).toBe(11);
  });

  it('pre-vote: a node rejoining after a partition does not disturb the leader (§9.6)', async () => {
    const cluster = new SimCluster({ size: 3, seed: 9 });
    cluster.start();
    const leader = await cluster.awaitLeader();
    const term = leader.context.term;
    const loner = cluster.addresses.find((a) => a !== leader.context.address)!;
    const counters = cluster.node(loner).context.counters;
    const { pollsStarted, electionsStarted } = { ...counters };
    cluster.network.isolate(loner, cluster.addresses);
    await cluster.run(3_000); // many election timeouts: it polls, but never raises its term
    expect(cluster.node(loner).context.term).toBe(term);
    expect(counters.pollsStarted - pollsStarted).toBeGreaterThan(3);
    expect(counters.electionsStarted - electionsStarted).toBe(0);
    cluster.network.heal();
    await cluster.run(1_000);
    expect(cluster.leader()?.context.address).toBe(leader.context.address);
    expect(leader.context.term).toBe(term);
  });

  it('check quorum: an isolated leader steps down within about an election timeout', async () => {
    const cluster = new SimCluster({ size: 3, seed: 4 });
    cluster.start();
    const leader = await cluster.awaitLeader();
    cluster.network.isolate(leader.context.address, cluster.addresses);
    await cluster.run(2 * cluster.timing.electionTimeout + 10);
    expect(leader.context.roleName).not.toBe('leader');
  });
});

describe('fault tolerance of a five-node cluster', () => {
  it('survives two failed servers', async () => {
    const cluster = new SimCluster({ size: 5, seed: 12 });
    cluster.start();
    const leader = await cluster.awaitLeader();
    const victims = cluster.addresses.filter((a) => a !== leader.context.address).slice(0, 1);
    victims.push(leader.context.address);
    for (const v of victims) cluster.crash(v);
    expect(await cluster.submit('add', 2)).toBe(2);
  });

  it('stops making progress with three failed servers, and resumes when one returns', async () => {
    const cluster = new SimCluster({ size: 5, seed: 13 });
    cluster.start();
    await cluster.awaitLeader();
    await cluster.submit('add', 1);
    for (const v of ['s1', 's2', 's3']) cluster.crash(v);
    await cluster.run(3_000);
    const live = cluster.liveNodes();
    expect(
      live.some(
        (n) =>
          n.context.roleName === 'leader' &&
          n.context.log.termAt(n.context.commitIndex) === n.context.term &&
          n.context.commitIndex > 2,
      ),
    ).toBe(false);
    await expect(cluster.submit('add', 1, 1_000)).rejects.toThrow(/could not submit/);
    cluster.restart('s1');
    expect(await cluster.submit('add', 1)).toBeGreaterThanOrEqual(2);
  });
});

describe('leadership transfer (dissertation §3.10)', () => {
  it('hands leadership to an up-to-date follower', async () => {
    const cluster = new SimCluster({ size: 3, seed: 21 });
    cluster.start();
    const leader = await cluster.awaitLeader();
    await cluster.submit('add', 1);
    const target = cluster.addresses.find((a) => a !== leader.context.address)!;
    let done = false;
    void leader.transferLeadership(target).then(() => (done = true));
    await cluster.run(500);
    expect(done).toBe(true);
    expect(cluster.leader()?.context.address).toBe(target);
    expect(await cluster.submit('add', 1)).toBe(2);
  });
});

describe('crash recovery', () => {
  it('a restarted server rebuilds its state machine by replaying committed entries', async () => {
    const cluster = new SimCluster({ size: 3, seed: 31 });
    cluster.start();
    await cluster.awaitLeader();
    for (let i = 0; i < 5; i++) await cluster.submit('add', 2);
    for (const address of cluster.addresses) cluster.crash(address, false);
    for (const address of cluster.addresses) cluster.restart(address);
    await cluster.awaitLeader();
    await cluster.run(500);
    for (const server of cluster.servers.values()) expect(server.stateMachine!.counter).toBe(10);
    expect(await cluster.submit('add', 1)).toBe(11);
  });
});
