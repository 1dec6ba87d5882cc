import { describe, expect, it } from 'vitest';
import { QueryFailureError } from '@copycat/common';
import { MessageType } from '@copycat/protocol';
import { command, query } from '@copycat/client';
import { connected } from './support/helpers.js';

describe('queries', () => {
  it('carry the last command sequence submitted and the highest index seen', async () => {
    const { cluster, client } = await connected();
    const session = client.session.id;
    expect(await cluster.run(client.submit(query<number>('get')))).toBe(0);
    await cluster.run(client.submit(command('add')));
    await cluster.run(client.submit(command('add')));
    const lastCommandIndex = session + 2; // the fake logs one index per register and command
    // A query submitted right behind a command observes it: sequence 3, and it is answered after it.
    const pipelined = client.submit(command<number>('add'));
    const read = client.submit(query<number>('get'));
    expect(await cluster.run(Promise.all([pipelined, read]))).toEqual([3, 3]);
    expect(cluster.queries().map((q) => [q.session, q.sequence, q.index])).toEqual([
      [session, 0, session],
      [session, 3, lastCommandIndex],
    ]);
  });

  it('use the consistency asked for: call option, then the query, then the client default', async () => {
    const { cluster, client } = await connected({ defaultConsistency: 'lease' });
    await cluster.run(client.submit(query('get')));
    await cluster.run(client.submit(query('get', undefined, { consistency: 'sequential' })));
    await cluster.run(
      client.submit(query('get', undefined, { consistency: 'sequential' }), { consistency: 'linearizable' }),
    );
    expect(cluster.queries().map((q) => q.consistency)).toEqual(['lease', 'sequential', 'linearizable']);
  });

  it('default to linearizable', async () => {
    const { cluster, client } = await connected();
    await cluster.run(client.submit(query('get')));
    expect(cluster.queries()[0]!.consistency).toBe('linearizable');
  });

  it('complete after the commands submitted before them, even when answered first', async () => {
    const { cluster, client } = await connected();
    cluster.failNext((r) => r.type === MessageType.command, { kind: 'delay', ms: 200 });
    const order: string[] = [];
    const write = client.submit(command<number>('add')).then(() => order.push('command'));
    const read = client.submit(query<number>('get')).then((value) => order.push(`query ${value}`));
    await cluster.run(Promise.all([write, read]));
    expect(order).toEqual(['command', 'query 1']);
  });

  it('are resent unchanged to another server after NO_LEADER', async () => {
    const { cluster, client } = await connected();
    await cluster.run(client.submit(command('add')));
    cluster.failNext((r) => r.type === MessageType.query, { kind: 'error', code: 'NO_LEADER' });
    expect(await cluster.run(client.submit(query<number>('get')))).toBe(1);
    const [first, second] = cluster.queries();
    expect(second!.server).not.toBe(first!.server);
    expect([second!.sequence, second!.index, second!.consistency]).toEqual([
      first!.sequence,
      first!.index,
      first!.consistency,
    ]);
  });

  it('reject with QUERY_FAILURE', async () => {
    const { cluster, client } = await connected();
    cluster.failNext((r) => r.type === MessageType.query, { kind: 'error', code: 'QUERY_FAILURE' });
    expect(await cluster.failure(client.submit(query('get')))).toBeInstanceOf(QueryFailureError);
    expect(cluster.queries()).toHaveLength(1);
  });
});
