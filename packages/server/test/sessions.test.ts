// Client sessions on the server (INTERNALS.md: Client sessions, Session events, Queries), driven
// over the wire by a bare protocol client against real servers on the simulated clock.
import { describe, expect, it } from 'vitest';
import { MessageType } from '@copycat/protocol';
import { RealCluster } from './support/real-cluster.js';
import { RawSessionClient } from './support/raw-session-client.js';

async function startCluster(seed = 1, size = 3): Promise<RealCluster> {
  const cluster = new RealCluster({ size, seed });
  await cluster.start();
  await cluster.scheduler.runUntil(() => cluster.leader() !== undefined, { timeout: 5_000 });
  await cluster.run(100);
  return cluster;
}

/** A response without its correlation id, to compare answers to different requests. */
function body(response: { id: number }): object {
  const { id: _id, ...rest } = response;
  return rest;
}

function follower(cluster: RealCluster): string {
  return cluster.bootstrap.find((a) => a !== cluster.leader())!;
}

function ok<T extends { status: 'ok' | 'error' }>(response: T): Extract<T, { status: 'ok' }> {
  if (response.status !== 'ok') throw new Error(`expected ok, got ${JSON.stringify(response)}`);
  return response as Extract<T, { status: 'ok' }>;
}

describe('sessions', () => {
  it('registers through a follower; every replica opens the session at the same index', async () => {
    const cluster = await startCluster();
    const client = await RawSessionClient.open(cluster, 'c1', follower(cluster));
    const response = ok(await client.call({ type: MessageType.register, client: 'c1', timeout: 0 }));
    expect(response.session).toBeGreaterThan(0);
    expect(response.timeout).toBe(1_000); // the server's default (RealCluster's sessionTimeout)
    expect(response.leader).toBe(cluster.leader());
    expect([...response.members].sort()).toEqual([...cluster.bootstrap].sort());
    await cluster.run(200);
    for (const machine of cluster.stateMachines()) {
      expect(machine.hooks).toEqual([
        { hook: 'registered', session: response.session, index: response.session },
      ]);
    }
    cluster.check();
  });

  it('logs the session timeout in force, so replicas configured differently agree on expiry', async () => {
    const cluster = await startCluster(12);
    const client = await RawSessionClient.open(cluster, 'c1', follower(cluster));
    const id = await client.register(0);
    await cluster.run(100);
    for (const server of cluster.servers()) {
      const entry = server.inspect()!.context.log.get(id)!;
      expect(entry.type).toBe('register');
      expect(client.decode(entry.payload)).toEqual(['raw', 1_000]); // RealCluster's sessionTimeout
    }
  });

  it('applies each command once, in sequence order, and answers retries from the cache', async () => {
    const cluster = await startCluster(2);
    const client = await RawSessionClient.open(cluster, 'c1', follower(cluster));
    await client.register();
    const first = ok(await client.call(client.command('add', 1)));
    expect(client.decode(first.result)).toBe(1);
    const retry = ok(await client.call(client.command('add', 1, 1)));
    expect(body(retry)).toEqual(body(first));
    // Sequence 3 arrives before 2: the leader holds it until 2 is logged.
    const third = client.start(client.command('add', 100, 3));
    await cluster.run(20);
    const second = client.start(client.command('add', 10, 2));
    const [r2, r3] = await cluster.scheduler.runUntilSettled(Promise.all([second, third]));
    expect(client.decode(ok(r2).result)).toBe(11);
    expect(client.decode(ok(r3).result)).toBe(111);
    expect(ok(r3).index).toBeGreaterThan(ok(r2).index);
    await cluster.run(200);
    for (const machine of cluster.stateMachines()) expect(machine.counter).toBe(111);
    // A gap that never fills is answered with the last sequence the leader has.
    const gap = await client.call(client.command('add', 1, 9));
    expect(gap.status).toBe('error');
    expect(gap.status === 'error' && gap.error.code).toBe('COMMAND_FAILURE');
    expect(gap.status === 'error' && gap.lastSequence).toBe(3);
    cluster.check();
  });

  it('returns application errors to the client and caches them like results', async () => {
    const cluster = await startCluster(3);
    const client = await RawSessionClient.open(cluster, 'c1', cluster.leader()!);
    await client.register();
    const failed = await client.call(client.command('fail', null));
    expect(failed.status === 'error' && failed.error.code).toBe('APPLICATION_ERROR');
    const unknown = await client.call(client.command('no-such-operation', null));
    expect(unknown.status === 'error' && unknown.error.code).toBe('APPLICATION_ERROR');
    expect(body(await client.call(client.command('fail', null, 1)))).toEqual(body(failed));
    ok(await client.call(client.command('add', 5)));
  });

  it('drops results the client acknowledged with a keep-alive', async () => {
    const cluster = await startCluster(4);
    const client = await RawSessionClient.open(cluster, 'c1', follower(cluster));
    await client.register();
    ok(await client.call(client.command('add', 1)));
    ok(await client.call(client.keepAlive(1, 0)));
    const retry = await client.call(client.command('add', 1, 1));
    expect(retry.status === 'error' && retry.error.code).toBe('COMMAND_FAILURE');
    await cluster.run(100);
    for (const machine of cluster.stateMachines()) expect(machine.counter).toBe(1);
  });

  it('expires a silent session by log time, once, at the same index on every replica', async () => {
    const cluster = await startCluster(5);
    const silent = await RawSessionClient.open(cluster, 'c1', follower(cluster));
    const alive = await RawSessionClient.open(cluster, 'c2', cluster.leader()!);
    const silentId = await silent.register(300);
    const aliveId = await alive.register(300);
    for (let t = 0; t < 10; t++) {
      ok(await alive.call(alive.keepAlive(0, 0)));
      await cluster.run(100);
    }
    const machines = cluster.stateMachines();
    expect(machines).toHaveLength(3);
    for (const machine of machines) {
      const expired = machine.hooks.filter((h) => h.session === silentId && h.hook !== 'registered');
      expect(expired.map((h) => h.hook)).toEqual(['expired', 'closed']);
      expect(machine.hooks.some((h) => h.session === aliveId && h.hook !== 'registered')).toBe(false);
    }
    cluster.check(); // same hooks at the same indexes everywhere
    const late = await silent.call(silent.command('add', 1));
    expect(late.status === 'error' && late.error.code).toBe('UNKNOWN_SESSION');
    const lateKeepAlive = await silent.call(silent.keepAlive(0, 0));
    expect(lateKeepAlive.status === 'error' && lateKeepAlive.error.code).toBe('UNKNOWN_SESSION');
  });

  it('closes a session on unregister and runs the close hook only', async () => {
    const cluster = await startCluster(6);
    const client = await RawSessionClient.open(cluster, 'c1', follower(cluster));
    const id = await client.register();
    ok(await client.call({ type: MessageType.unregister, session: id }));
    await cluster.run(100);
    for (const machine of cluster.stateMachines()) {
      expect(machine.hooks.map((h) => h.hook)).toEqual(['registered', 'closed']);
    }
    const again = await client.call({ type: MessageType.unregister, session: id });
    expect(again.status === 'error' && again.error.code).toBe('UNKNOWN_SESSION');
  });
});

describe('session events', () => {
  it('publishes one batch per entry, chained by previous index, after the command response', async () => {
    const cluster = await startCluster(7);
    const client = await RawSessionClient.open(cluster, 'c1', follower(cluster));
    const other = await RawSessionClient.open(cluster, 'c2', cluster.leader()!);
    const id = await client.register();
    await other.register();
    const first = ok(await client.call(client.command('emit', { n: 1 })));
    expect(first.eventIndex).toBeLessThan(first.index);
    const second = ok(await other.call(other.command('emit', { n: 2, to: [id] })));
    const third = ok(await client.call(client.command('emit', { n: 3 })));
    expect(third.eventIndex).toBe(second.index); // the batch raised by `other` precedes it
    await cluster.run(100);
    expect(
      client.published.map((p) => ({
        eventIndex: p.eventIndex,
        previousIndex: p.previousIndex,
        n: p.events.map((e) => client.decode(e.message)),
      })),
    ).toEqual([
      { eventIndex: first.index, previousIndex: 0, n: [1] },
      { eventIndex: second.index, previousIndex: first.index, n: [2] },
      { eventIndex: third.index, previousIndex: second.index, n: [3] },
    ]);
    expect(other.published).toEqual([]);
  });

  it('resends unacknowledged batches to a client that moved to another server, and on reset', async () => {
    const cluster = await startCluster(8);
    const first = await RawSessionClient.open(cluster, 'c1', cluster.leader()!);
    const id = await first.register();
    const indexes: number[] = [];
    for (let n = 1; n <= 3; n++) indexes.push(ok(await first.call(first.command('emit', { n }))).index);
    ok(await first.call(first.keepAlive(3, indexes[0]!))); // acknowledges the first batch
    await first.connection.close();
    const moved = await RawSessionClient.open(cluster, 'c1b', follower(cluster));
    moved.session = id;
    ok(await moved.call(moved.keepAlive(3, indexes[0]!)));
    await cluster.run(100);
    expect(moved.published.map((p) => p.eventIndex)).toEqual(indexes.slice(1));
    ok(await moved.call({ type: MessageType.reset, session: id, index: indexes[1]! }));
    await cluster.run(100);
    expect(moved.published.map((p) => p.eventIndex)).toEqual([...indexes.slice(1), indexes[2]]);
  });
});

describe('queries', () => {
  it('answers every consistency level on leader and follower, never older than the client has seen', async () => {
    const cluster = await startCluster(9);
    const writer = await RawSessionClient.open(cluster, 'c1', cluster.leader()!);
    const reader = await RawSessionClient.open(cluster, 'c2', follower(cluster));
    await writer.register();
    await reader.register();
    const put = ok(await writer.call(writer.command('put', { key: 'k', value: 'v1' })));
    for (const consistency of ['linearizable', 'lease', 'sequential'] as const) {
      const onFollower = ok(await reader.call(reader.query('get', 'k', consistency, put.index)));
      expect(reader.decode(onFollower.result), consistency).toBe('v1');
      expect(onFollower.index).toBeGreaterThanOrEqual(put.index);
      const onLeader = ok(await writer.call(writer.query('get', 'k', consistency, 0, 1)));
      expect(writer.decode(onLeader.result), consistency).toBe('v1');
    }
    const failing = await reader.call(reader.query('no-such-query', null, 'sequential', put.index));
    expect(failing.status === 'error' && failing.error.code).toBe('APPLICATION_ERROR');
  });

  it('refuses a command handler as a query (it would change one replica only) and a query as a command', async () => {
    const cluster = await startCluster(11);
    const client = await RawSessionClient.open(cluster, 'c1', follower(cluster));
    await client.register();
    for (const consistency of ['linearizable', 'lease', 'sequential'] as const) {
      const write = await client.call(
        client.query('put', { key: 'k', value: consistency }, consistency, client.session),
      );
      expect(write.status === 'error' && write.error.code, consistency).toBe('APPLICATION_ERROR');
    }
    const read = await client.call(client.command('get', 'k'));
    expect(read.status === 'error' && read.error.code).toBe('APPLICATION_ERROR');
    await cluster.run(100);
    for (const machine of cluster.stateMachines()) expect(machine.map.size).toBe(0);
  });

  it('a leader that started a leadership transfer serves no lease reads for the rest of its term', async () => {
    const cluster = await startCluster(13);
    const leader = cluster.server(cluster.leader()!)!;
    const role = leader.inspect()!.leaderRole();
    await cluster.run(200);
    expect(role.hasLease()).toBe(true);
    const target = follower(cluster);
    cluster.partition(
      [target],
      cluster.bootstrap.filter((a) => a !== target),
    );
    const transfer = leader.transferLeadership(target).then(
      () => 'done',
      (error: { code?: string }) => error.code,
    );
    expect(await cluster.scheduler.runUntilSettled(transfer)).toBe('TIMEOUT');
    cluster.heal();
    await cluster.run(200);
    // The target may still get a late timeoutNow and win with votes that skip stickiness.
    if (leader.state === 'leader') expect(role.hasLease()).toBe(false);
  });

  it('a linearizable read on a deposed leader is refused, never answered with stale state', async () => {
    const cluster = await startCluster(10);
    const old = cluster.leader()!;
    const client = await RawSessionClient.open(cluster, 'c1', old);
    await client.register();
    ok(await client.call(client.command('put', { key: 'k', value: 'old' })));
    cluster.partition(
      [old, 'c1'],
      cluster.bootstrap.filter((a) => a !== old),
    );
    await cluster.scheduler.runUntil(
      () => cluster.servers().some((s) => s.state === 'leader' && s.address !== old),
      {
        timeout: 5_000,
      },
    );
    const pending = client.start(client.query('get', 'k', 'linearizable'));
    const lease = client.start(client.query('get', 'k', 'lease'));
    const [answer, leaseAnswer] = await cluster.scheduler.runUntilSettled(Promise.all([pending, lease]));
    expect(answer.status).toBe('error');
    expect(leaseAnswer.status).toBe('error');
  });
});
