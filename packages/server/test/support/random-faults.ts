// Random faults and workload over a SimCluster, drawn from the cluster's seed. Used by the
// simulation suite; the fault log is printed when a seed fails so it can be replayed.
import { SimCluster, type SimClusterOptions } from './sim-cluster.js';

export interface SimulationResult {
  seed: number;
  faults: string[];
  submitted: number;
  acknowledged: number;
  failed: number;
}

export async function runRandomSimulation(
  seed: number,
  options: Partial<SimClusterOptions> & {
    durationMs?: number;
    crashes?: boolean;
    /** Short steps and frequent leader isolation: many terms, many competing uncommitted tails. */
    churn?: boolean;
    /** Joins, leaves, promotions and demotions under load, interleaved with the faults. */
    membership?: boolean;
  } = {},
): Promise<{ cluster: SimCluster; result: SimulationResult }> {
  const sizes = [3, 5, 3, 1];
  const size = options.size ?? sizes[seed % sizes.length]!;
  const cluster = new SimCluster({ ...options, size, seed });
  const random = () => cluster.scheduler.random();
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
  const faults: string[] = [];
  const at = () => cluster.scheduler.now();
  const log = (what: string) => faults.push(`${at()}ms ${what}`);
  const down = new Set<string>();
  const result: SimulationResult = { seed, faults, submitted: 0, acknowledged: 0, failed: 0 };

  cluster.start();
  let joined = 0;
  const members = () => cluster.leader()?.context.configuration.members ?? [];
  const membershipEvent = () => {
    const leader = cluster.leader();
    if (leader === undefined) return;
    const choice = random();
    const current = members();
    if (choice < 0.35 && joined < 3) {
      const address = `n${++joined}`;
      const type = pick(['active', 'active', 'passive', 'reserve'] as const);
      cluster.addServer(address);
      cluster.join(address, type).catch(() => {});
      log(`join ${address} as ${type}`);
    } else if (choice < 0.55) {
      const candidates = current.filter(
        (m) => !down.has(m.address) && cluster.servers.get(m.address)?.node !== undefined,
      );
      if (candidates.length === 0) return;
      const victim = pick(candidates);
      cluster
        .node(victim.address)
        .leave()
        .catch(() => {});
      log(`leave ${victim.address}`);
    } else {
      if (current.length === 0) return;
      const member = pick(current);
      const type = pick(['active', 'passive', 'reserve'] as const);
      leader.setMemberType(member.address, type).catch(() => {});
      log(`set ${member.address} to ${type}`);
    }
  };
  const duration = options.durationMs ?? 4_000;
  const crashes = options.crashes ?? true;
  while (at() < duration) {
    // Workload: a few commands at whoever is leader now, outcomes tracked but not awaited.
    for (let i = 0; i < 3; i++) {
      const leader = cluster.leader();
      if (leader === undefined) break;
      result.submitted++;
      leader.submit('add', 1).then(
        () => result.acknowledged++,
        () => result.failed++,
      );
    }
    if (options.membership === true && random() < 0.15) membershipEvent();
    const roll = options.churn === true ? random() * 0.45 : random();
    const addresses = cluster.addresses;
    if (roll < 0.15) {
      const shuffled = [...addresses].sort(() => random() - 0.5);
      const cut = 1 + Math.floor(random() * Math.max(1, addresses.length - 1));
      cluster.network.partition(shuffled.slice(0, cut), shuffled.slice(cut));
      log(`partition ${shuffled.slice(0, cut).join(',')} | ${shuffled.slice(cut).join(',')}`);
    } else if (roll < 0.25) {
      const leader = cluster.leader();
      if (leader !== undefined) {
        cluster.network.isolate(leader.context.address, addresses);
        log(`isolate leader ${leader.context.address}`);
      }
    } else if (roll < 0.4) {
      cluster.network.heal();
      log('heal');
    } else if (roll < 0.5) {
      cluster.network.dropRate = pick([0, 0.05, 0.1, 0.3]);
      log(`drop rate ${cluster.network.dropRate}`);
    } else if (crashes && roll < 0.6 && down.size < Math.floor((addresses.length - 1) / 2)) {
      const victim = pick(
        [...cluster.servers.keys()].filter((a) => !down.has(a) && cluster.servers.get(a)!.node !== undefined),
      );
      const loseUnflushed = random() < 0.5;
      cluster.crash(victim, loseUnflushed);
      down.add(victim);
      log(`crash ${victim}${loseUnflushed ? ' (unflushed entries lost)' : ''}`);
    } else if (roll < 0.7 && down.size > 0) {
      const back = pick([...down]);
      cluster.restart(back);
      down.delete(back);
      log(`restart ${back}`);
    }
    await cluster.run(
      options.churn === true ? 10 + Math.floor(random() * 60) : 50 + Math.floor(random() * 200),
    );
  }
  // Heal everything: the cluster must recover (liveness).
  cluster.network.heal();
  cluster.network.dropRate = 0;
  for (const address of down) cluster.restart(address);
  down.clear();
  log('heal all, restart all');
  return { cluster, result };
}

export async function assertLiveness(cluster: SimCluster): Promise<void> {
  // A leader within 10 election timeouts, and every member with a log converges on its commit index.
  await cluster.awaitLeader(10 * 2 * cluster.timing.electionTimeout);
  await cluster.submit('add', 0, 10 * 2 * cluster.timing.electionTimeout);
  const holders = () => {
    const leader = cluster.leader();
    if (leader === undefined) return [];
    const stateful = leader.context.configuration.members
      .filter((m) => m.type !== 'reserve')
      .map((m) => m.address);
    return cluster.liveNodes().filter((n) => stateful.includes(n.context.address));
  };
  for (let waited = 0; waited < 5_000; waited += 50) {
    const target = cluster.leader()?.context.commitIndex ?? Number.POSITIVE_INFINITY;
    if (holders().every((n) => n.applyLoop.lastApplied >= target)) return;
    await cluster.run(50);
  }
  const status = holders().map(
    (n) => `${n.context.address}:${n.applyLoop.lastApplied}/${n.context.commitIndex}`,
  );
  throw new Error(`servers did not converge: ${status.join(' ')}`);
}
