import { describe, expect, it } from 'vitest';
import { ApplicationError, FrameTooLargeError, TimeoutError } from '@copycat/common';
import { MessageType } from '@copycat/protocol';
import { command } from '@copycat/client';
import { connected, outcome } from './support/helpers.js';

describe('commands', () => {
  it('get sequence numbers 1..n at submit and resolve with the decoded results', async () => {
    const { cluster, client } = await connected();
    const calls = [1, 2, 3, 4, 5].map((by) => client.submit(command<number>('add', { by })));
    expect(await cluster.run(Promise.all(calls))).toEqual([1, 3, 6, 10, 15]);
    expect(cluster.commands().map((c) => c.sequence)).toEqual([1, 2, 3, 4, 5]);
    expect(
      cluster.commands().every((c) => c.session === client.session.id && c.compaction === 'release'),
    ).toBe(true);
    const value = { list: [1, 'two'], map: new Map([['k', 1n]]), when: new Date(0), nothing: undefined };
    expect(await cluster.run(client.submit(command('echo', value)))).toEqual(value);
  });

  it('send the compaction mode the command asks for', async () => {
    const { cluster, client } = await connected();
    await cluster.run(client.submit(command('add', { by: 1 }, { compaction: 'tombstone' })));
    expect(cluster.commands()[0]!.compaction).toBe('tombstone');
  });

  it('are retried with the same sequence after connections drop, and applied exactly once', async () => {
    const { cluster, client } = await connected();
    // Sequence 5 is applied but its answer is lost with the connection; 12 is lost before applying.
    cluster.failNext((r) => r.type === MessageType.command && r.sequence === 5, { kind: 'apply-then-close' });
    cluster.failNext((r) => r.type === MessageType.command && r.sequence === 12, { kind: 'close' });
    const n = 20;
    const calls = Array.from({ length: n }, () => client.submit(command<number>('add')));
    expect(await cluster.run(Promise.all(calls))).toEqual(Array.from({ length: n }, (_, i) => i + 1));
    expect(cluster.value).toBe(n);
    expect(cluster.applied.map((a) => a.sequence)).toEqual(Array.from({ length: n }, (_, i) => i + 1));
    const sent = cluster.commands().map((c) => c.sequence);
    expect(Math.max(...sent)).toBe(n);
    expect(sent.filter((s) => s === 5).length).toBeGreaterThanOrEqual(2);
    expect(sent.filter((s) => s === 12).length).toBeGreaterThanOrEqual(2);
    expect(new Set(cluster.commands().map((c) => c.session))).toEqual(new Set([client.session.id]));
    // After the drop the client went to another server and confirmed the session there first.
    const retryServer = cluster.commands().find((c) => c.sequence === 5 && c.server !== 'local:a')?.server;
    expect(retryServer).toBeDefined();
    const atRetry = cluster.received.filter((r) => r.server === retryServer).map((r) => r.request.type);
    expect(atRetry.slice(0, 3)).toEqual([MessageType.connect, MessageType.keepAlive, MessageType.command]);
  });

  it('complete in sequence order even when the server answers out of order', async () => {
    const { cluster, client } = await connected();
    cluster.failNext((r) => r.type === MessageType.command && r.sequence === 1, { kind: 'delay', ms: 300 });
    cluster.failNext((r) => r.type === MessageType.command && r.sequence === 2, { kind: 'delay', ms: 100 });
    const order: number[] = [];
    const calls = [1, 2, 3].map((n) =>
      client.submit(command<number>('add')).then((result) => {
        order.push(n);
        return result;
      }),
    );
    const start = cluster.scheduler.now();
    expect(await cluster.run(Promise.all(calls))).toEqual([1, 2, 3]);
    expect(order).toEqual([1, 2, 3]);
    expect(cluster.scheduler.now() - start).toBeGreaterThanOrEqual(300);
  });

  it("follow a NO_LEADER answer's leader hint to the leader ('prefer-leader') and resend there", async () => {
    const { cluster, client } = await connected();
    cluster.failNext((r, server) => r.type === MessageType.command && server === 'local:a', {
      kind: 'error',
      code: 'NO_LEADER',
      leader: 'local:c',
    });
    expect(await cluster.run(client.submit(command<number>('add')))).toBe(1);
    expect(cluster.commands().map((c) => [c.server, c.sequence])).toEqual([
      ['local:a', 1],
      ['local:c', 1],
    ]);
    expect(client.leader).toBe('local:c');
    const atC = cluster.received.filter((r) => r.server === 'local:c').map((r) => r.request.type);
    expect(atC).toEqual([MessageType.connect, MessageType.keepAlive, MessageType.command]);
  });

  it('resend everything after the last sequence the server has when it reports a gap', async () => {
    const { cluster, client } = await connected();
    // 2 bounces off a busy server, so 3 arrives first and the server answers it with lastSequence 1.
    cluster.failNext((r) => r.type === MessageType.command && r.sequence === 2, {
      kind: 'error',
      code: 'BACKPRESSURE',
    });
    const calls = [1, 2, 3].map(() => client.submit(command<number>('add')));
    expect(await cluster.run(Promise.all(calls))).toEqual([1, 2, 3]);
    expect(cluster.applied.map((a) => a.sequence)).toEqual([1, 2, 3]);
    expect(cluster.commands().map((c) => c.sequence)).toEqual([1, 2, 3, 2, 3]);
  });

  it('reject with the typed error of a definite failure, which counts as answered', async () => {
    const { cluster, client } = await connected({}, { sessionTimeout: 3000 });
    const error = await cluster.failure(client.submit(command('fail')));
    expect(error).toBeInstanceOf(ApplicationError);
    expect(await cluster.run(client.submit(command<number>('add')))).toBe(1);
    expect(cluster.commands().map((c) => c.sequence)).toEqual([1, 2]);
    await cluster.runFor(1000);
    expect(cluster.sessions.get(client.session.id)!.keepAlives.at(-1)!.commandSequence).toBe(2);
  });

  it('time out for the caller but keep being resent until the cluster applied them', async () => {
    const { cluster, client } = await connected({ requestTimeout: 400 });
    cluster.failNext((r) => r.type === MessageType.command && r.sequence === 1, { kind: 'drop' }, 3);
    const start = cluster.scheduler.now();
    const error = await cluster.failure(client.submit(command('add'), { timeout: 250 }));
    expect(error).toBeInstanceOf(TimeoutError);
    expect(cluster.scheduler.now() - start).toBe(250);
    expect(cluster.applied).toHaveLength(0);
    // The next command waits behind the gap the first one left, until the first is applied.
    expect(await cluster.run(client.submit(command<number>('add')))).toBe(2);
    expect(cluster.applied.map((a) => a.sequence)).toEqual([1, 2]);
    expect(cluster.commands().filter((c) => c.sequence === 1).length).toBe(4);
  });

  it('take back a command the connection refused to send, so no gap is left behind', async () => {
    const { cluster, client } = await connected({}, { maxFrameSize: 4096 });
    const big = outcome(client.submit(command('echo', { blob: 'x'.repeat(10_000) })));
    const small = client.submit(command<number>('add'));
    expect(await cluster.run(small)).toBe(1);
    expect(big.error).toBeInstanceOf(FrameTooLargeError);
    expect(cluster.applied.map((a) => [a.sequence, a.name])).toEqual([[1, 'add']]);
    expect(await cluster.run(client.submit(command<number>('add')))).toBe(2);
    expect(cluster.applied.map((a) => a.sequence)).toEqual([1, 2]);
  });
});
