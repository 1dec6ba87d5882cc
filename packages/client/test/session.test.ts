import { describe, expect, it } from 'vitest';
import { ClosedError, TimeoutError, UnauthorizedError, UnknownSessionError } from '@copycat/common';
import { MessageType } from '@copycat/protocol';
import { command } from '@copycat/client';
import { FakeCluster } from './support/fake-cluster.js';
import { connected, outcome } from './support/helpers.js';

describe('connect and register', () => {
  it('opens a session: connect, then register with the client id and the asked timeout', async () => {
    const { cluster, client, changes } = await connected({ sessionTimeout: 4500 });
    const [connect] = cluster.requests(MessageType.connect);
    const [register] = cluster.requests(MessageType.register);
    expect(connect).toMatchObject({ client: 'client-1', server: 'local:a' });
    expect(register).toMatchObject({ client: 'client-1', timeout: 4500, server: 'local:a' });
    const id = [...cluster.sessions.keys()][0];
    expect(client.session).toEqual({ id, state: 'open' });
    expect(changes).toEqual([{ id, state: 'open', previous: 'closed' }]);
    expect(client.members).toEqual(cluster.addresses);
    expect(cluster.sessions.get(id!)!.timeout).toBe(4500);
  });

  it('gives up after the connect timeout when no member answers, and closes the client', async () => {
    const cluster = await FakeCluster.start();
    const client = cluster.client();
    const started = cluster.scheduler.now();
    const error = await cluster.failure(
      client.connect(['local:nobody', 'local:nothing'], { timeout: 2_000 }),
    );
    expect(error).toBeInstanceOf(TimeoutError);
    expect(cluster.scheduler.now() - started).toBeGreaterThanOrEqual(2_000);
    expect(client.session.state).toBe('closed');
    await expect(client.submit(command('add'))).rejects.toBeInstanceOf(ClosedError);
    await expect(client.connect(['local:a'], { timeout: 0 })).rejects.toThrow(/positive/);
  });

  it('has session id 0 and state closed before connect()', async () => {
    const cluster = await FakeCluster.start();
    const client = cluster.client();
    expect(client.session).toEqual({ id: 0, state: 'closed' });
    expect(client.members).toEqual([]);
    await expect(client.submit(command('add'))).rejects.toBeInstanceOf(ClosedError);
  });

  it("moves to the leader named in the connect answer ('prefer-leader') before registering", async () => {
    const { cluster, client } = await connected({}, { leader: 'local:c' });
    expect(cluster.requests(MessageType.connect).map((r) => r.server)).toEqual(['local:a', 'local:c']);
    expect(cluster.requests(MessageType.register)[0]!.server).toBe('local:c');
    expect(client.leader).toBe('local:c');
  });

  it("stays where it connected with 'round-robin' even if a leader is known", async () => {
    const { cluster } = await connected({ connectionStrategy: 'round-robin' }, { leader: 'local:c' });
    expect(cluster.requests(MessageType.connect).map((r) => r.server)).toEqual(['local:a']);
  });

  it('tries the next member when one is down, and retries register on retryable errors', async () => {
    const cluster = await FakeCluster.start();
    cluster.network.crash('local:a');
    cluster.failNext((r) => r.type === MessageType.register, { kind: 'error', code: 'NO_LEADER' });
    const client = cluster.client();
    await cluster.run(client.connect(cluster.addresses));
    expect(client.session.state).toBe('open');
    const registers = cluster.requests(MessageType.register);
    expect(registers.map((r) => r.server)).toEqual(['local:b', 'local:c']);
    expect(cluster.sessions.size).toBe(1);
  });

  it('fails connect() and closes when a server refuses for good (UNAUTHORIZED)', async () => {
    const cluster = await FakeCluster.start();
    cluster.failNext((r) => r.type === MessageType.connect, { kind: 'error', code: 'UNAUTHORIZED' });
    const client = cluster.client();
    const error = await cluster.failure(client.connect(cluster.addresses));
    expect(error).toBeInstanceOf(UnauthorizedError);
    expect(client.session.state).toBe('closed');
    await expect(client.submit(command('add'))).rejects.toBeInstanceOf(ClosedError);
  });
});

describe('keep-alive', () => {
  it('is sent every third of the session timeout granted by the server', async () => {
    const { cluster, client } = await connected({}, { sessionTimeout: 3000 });
    const registeredAt = cluster.scheduler.now();
    await cluster.runFor(3500);
    const session = cluster.sessions.get(client.session.id)!;
    expect(session.keepAlives.map((k) => k.time - registeredAt)).toEqual([1000, 2000, 3000]);
    expect(session.keepAlives.every((k) => k.session === client.session.id)).toBe(true);
  });

  it('acknowledges the contiguous command sequence received and the last event index accepted', async () => {
    const { cluster, client } = await connected({ requestTimeout: 10_000 }, { sessionTimeout: 3000 });
    const id = client.session.id;
    const start = cluster.scheduler.now();
    cluster.publish(id, [{ name: 'hello', message: 1 }]);
    const eventIndex = cluster.sessions.get(id)!.lastBatchIndex;
    // The answer to sequence 2 comes 2500 ms late; 1 and 3 are answered at once.
    cluster.failNext((r) => r.type === MessageType.command && r.sequence === 2, { kind: 'delay', ms: 2500 });
    const calls = [1, 2, 3].map(() => client.submit(command('add')));
    await cluster.run(Promise.all(calls));
    await cluster.scheduler.runUntil(start + 3500);
    const keepAlives = cluster.sessions.get(id)!.keepAlives.map((k) => ({
      at: k.time - start,
      commandSequence: k.commandSequence,
      eventIndex: k.eventIndex,
    }));
    expect(keepAlives).toEqual([
      { at: 1000, commandSequence: 1, eventIndex },
      { at: 2000, commandSequence: 1, eventIndex },
      { at: 3000, commandSequence: 3, eventIndex },
    ]);
  });

  it('suspends the session when no keep-alive succeeded for a session timeout, and reopens it', async () => {
    const { cluster, client, changes } = await connected({ requestTimeout: 500 }, { sessionTimeout: 3000 });
    const id = client.session.id;
    const start = cluster.scheduler.now();
    const stop = cluster.intercept((r) => (r.type === MessageType.keepAlive ? { kind: 'drop' } : undefined));
    await cluster.scheduler.runUntil(() => client.session.state === 'suspended', { timeout: 10_000 });
    expect(cluster.scheduler.now() - start).toBe(3000);
    stop();
    await cluster.scheduler.runUntil(() => client.session.state === 'open', { timeout: 10_000 });
    expect(changes.map((c) => c.state)).toEqual(['open', 'suspended', 'open']);
    expect(client.session.id).toBe(id);
  });

  it('moves to another server when a keep-alive fails, and resends the keep-alive there first', async () => {
    const { cluster, client } = await connected({}, { sessionTimeout: 3000 });
    cluster.failNext((r) => r.type === MessageType.keepAlive, { kind: 'error', code: 'NO_LEADER' });
    await cluster.runFor(1200);
    const keepAlives = cluster.sessions.get(client.session.id)!.keepAlives;
    expect(keepAlives.map((k) => k.server)).toEqual(['local:b']);
    expect(cluster.requests(MessageType.keepAlive).map((r) => r.server)).toEqual(['local:a', 'local:b']);
  });
});

describe('session expiry (UNKNOWN_SESSION)', () => {
  it("'recover' registers a new session; the calls pending on the old one fail", async () => {
    const { cluster, client, changes } = await connected();
    const first = client.session.id;
    expect(await cluster.run(client.submit(command<number>('add')))).toBe(1);
    cluster.expire(first);
    const error = await cluster.failure(client.submit(command('add')));
    expect(error).toBeInstanceOf(UnknownSessionError);
    await cluster.scheduler.runUntil(() => client.session.state === 'open', { timeout: 10_000 });
    const second = client.session.id;
    expect(second).toBeGreaterThan(first);
    expect(changes).toEqual([
      { id: first, state: 'open', previous: 'closed' },
      { id: first, state: 'expired', previous: 'open' },
      { id: second, state: 'open', previous: 'expired' },
    ]);
    // The new session numbers its commands from 1 again.
    expect(await cluster.run(client.submit(command<number>('add')))).toBe(2);
    const last = cluster.commands().at(-1)!;
    expect(last).toMatchObject({ session: second, sequence: 1 });
  });

  it('notices expiry through a keep-alive as well', async () => {
    const { cluster, client, changes } = await connected({}, { sessionTimeout: 3000 });
    cluster.expire(client.session.id);
    await cluster.runFor(1500);
    expect(changes.map((c) => c.state)).toEqual(['open', 'expired', 'open']);
    expect(cluster.sessions.has(client.session.id)).toBe(true);
  });

  it("'close' closes the client: pending calls fail with UNKNOWN_SESSION, later ones with CLOSED", async () => {
    const { cluster, client, changes } = await connected({ recoveryStrategy: 'close' });
    cluster.expire(client.session.id);
    const error = await cluster.failure(client.submit(command('add')));
    expect(error).toBeInstanceOf(UnknownSessionError);
    await cluster.runFor(100);
    expect(changes.map((c) => c.state)).toEqual(['open', 'expired', 'closed']);
    await expect(client.submit(command('add'))).rejects.toBeInstanceOf(ClosedError);
    expect(cluster.requests(MessageType.register)).toHaveLength(1);
  });
});

describe('close()', () => {
  it('unregisters the session, rejects pending calls with CLOSED and is idempotent', async () => {
    const { cluster, client, changes } = await connected();
    const id = client.session.id;
    cluster.failNext((r) => r.type === MessageType.command, { kind: 'drop' });
    const pending = outcome(client.submit(command('add')));
    await cluster.runFor(10);
    expect(pending.settled).toBe(false);
    await cluster.run(client.close());
    expect(pending.error).toBeInstanceOf(ClosedError);
    expect(cluster.unregistered).toEqual([id]);
    expect(changes.at(-1)).toEqual({ id, state: 'closed', previous: 'open' });
    await cluster.run(client.close());
    expect(cluster.requests(MessageType.unregister)).toHaveLength(1);
    await expect(client.submit(command('add'))).rejects.toBeInstanceOf(ClosedError);
    // No more keep-alives once closed.
    const keepAlives = cluster.requests(MessageType.keepAlive).length;
    await cluster.runFor(10_000);
    expect(cluster.requests(MessageType.keepAlive)).toHaveLength(keepAlives);
  });

  it('leaves no timer behind', async () => {
    const { cluster, client } = await connected();
    cluster.intercept((r) => (r.type === MessageType.command ? { kind: 'drop' } : undefined));
    const pending = outcome(client.submit(command('add'), { timeout: 60_000 }));
    await cluster.runFor(5000);
    await cluster.run(client.close());
    // Keep-alives, retries, request and call timeouts are all cancelled: the simulation runs dry.
    await cluster.scheduler.runUntilIdle({ maxSteps: 1000 });
    expect(pending.error).toBeInstanceOf(ClosedError);
  });

  it('gives up on unregister after the request timeout when the server does not answer', async () => {
    const { cluster, client } = await connected({ requestTimeout: 700 });
    cluster.failNext((r) => r.type === MessageType.unregister, { kind: 'drop' });
    const start = cluster.scheduler.now();
    await cluster.run(client.close());
    expect(cluster.scheduler.now() - start).toBe(700);
    expect(client.session.state).toBe('closed');
  });

  it('stops a connect() that is still retrying', async () => {
    const cluster = await FakeCluster.start();
    for (const address of cluster.addresses) cluster.network.crash(address);
    const client = cluster.client();
    const connecting = outcome(client.connect(cluster.addresses));
    await cluster.runFor(5000);
    expect(connecting.settled).toBe(false);
    await cluster.run(client.close());
    await cluster.runFor(1);
    expect(connecting.error).toBeInstanceOf(ClosedError);
    expect(cluster.requests(MessageType.unregister)).toHaveLength(0);
  });
});
