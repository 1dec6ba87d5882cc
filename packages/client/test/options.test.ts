import { describe, expect, expectTypeOf, it } from 'vitest';
import { ConfigurationError } from '@copycat/common';
import { type Transport } from '@copycat/protocol';
import { SimulatedScheduler } from '@copycat/testing';
import { RaftClient, command, query, type RaftClientOptions, type ResultOf } from '@copycat/client';
import { FakeCluster } from './support/fake-cluster.js';

const transport = { client: () => undefined, server: () => undefined } as unknown as Transport;
const make = (options: Partial<RaftClientOptions>) => () =>
  new RaftClient({ transport, scheduler: new SimulatedScheduler({ seed: 1 }), ...options });

describe('RaftClient options', () => {
  it.each<[string, Partial<RaftClientOptions>]>([
    ['a missing transport', { transport: undefined as unknown as Transport }],
    ['a transport without client()', { transport: {} as Transport }],
    ['a zero request timeout', { requestTimeout: 0 }],
    ['a negative request timeout', { requestTimeout: -5 }],
    ['an infinite request timeout', { requestTimeout: Number.POSITIVE_INFINITY }],
    ['a negative session timeout', { sessionTimeout: -1 }],
    ['a NaN session timeout', { sessionTimeout: Number.NaN }],
    ['an empty client id', { clientId: '' }],
    ['an unknown connection strategy', { connectionStrategy: 'closest' as never }],
    ['an unknown recovery strategy', { recoveryStrategy: 'retry' as never }],
    ['an unknown default consistency', { defaultConsistency: 'eventual' as never }],
    ['a zero initial backoff', { retryBackoff: { initial: 0 } }],
    ['a max backoff below the initial one', { retryBackoff: { initial: 500, max: 100 } }],
    ['a scheduler without timers', { scheduler: { now: () => 0 } as never }],
    ['a logger without levels', { logger: {} as never }],
    ['a serializer without encode', { serializer: {} as never }],
  ])('refuses %s with CONFIGURATION_ERROR', (_name, options) => {
    expect(make(options)).toThrow(ConfigurationError);
  });

  it('accepts the documented defaults and draws the client id from the scheduler', () => {
    const first = make({})();
    const again = make({})();
    expect(first.clientId).toMatch(/^client-[0-9a-f]{16}$/);
    expect(again.clientId).toBe(first.clientId); // same seed, same id
    expect(make({ clientId: 'me' })().clientId).toBe('me');
    expect(first.session).toEqual({ id: 0, state: 'closed' });
  });

  it('accepts a larger initial backoff than the default maximum', () => {
    expect(make({ retryBackoff: { initial: 5000 } })).not.toThrow();
  });
});

describe('command() and query()', () => {
  it('build protocol operations', () => {
    expect(command('add', { by: 1 })).toEqual({ kind: 'command', name: 'add', args: { by: 1 } });
    expect(command('clear', undefined, { compaction: 'tombstone' })).toEqual({
      kind: 'command',
      name: 'clear',
      args: undefined,
      compaction: 'tombstone',
    });
    expect(query('get')).toEqual({ kind: 'query', name: 'get', args: undefined });
    expect(query('get', 'k', { consistency: 'sequential' })).toEqual({
      kind: 'query',
      name: 'get',
      args: 'k',
      consistency: 'sequential',
    });
  });

  it('carry the result type to submit', () => {
    const client = make({})();
    const add = command<number>('add', { by: 1 });
    expectTypeOf<ResultOf<typeof add>>().toEqualTypeOf<number>();
    expectTypeOf(() => client.submit(add)).returns.toEqualTypeOf<Promise<number>>();
    expectTypeOf(() => client.submit(query<string[]>('keys'))).returns.toEqualTypeOf<Promise<string[]>>();
    expectTypeOf(() => client.submit(command('untyped'))).returns.toEqualTypeOf<Promise<unknown>>();
  });

  it('refuse empty names and unknown modes', () => {
    expect(() => command('')).toThrow(ConfigurationError);
    expect(() => command('x', 1, { compaction: 'sometimes' as never })).toThrow(ConfigurationError);
    expect(() => query('x', 1, { consistency: 'eventual' as never })).toThrow(ConfigurationError);
  });
});

describe('argument checks', () => {
  it('refuse bad members for connect() and a second connect()', async () => {
    const cluster = await FakeCluster.start();
    const client = cluster.client();
    await expect(client.connect([])).rejects.toBeInstanceOf(ConfigurationError);
    await expect(client.connect([''])).rejects.toBeInstanceOf(ConfigurationError);
    await cluster.run(client.connect(cluster.addresses));
    await expect(client.connect(cluster.addresses)).rejects.toBeInstanceOf(ConfigurationError);
  });

  it('refuse bad submit calls without sending anything', async () => {
    const cluster = await FakeCluster.start();
    const client = cluster.client();
    await cluster.run(client.connect(cluster.addresses));
    await expect(client.submit(command('add'), { timeout: 0 })).rejects.toBeInstanceOf(ConfigurationError);
    await expect(client.submit({ kind: 'other', name: 'x', args: 1 } as never)).rejects.toBeInstanceOf(
      ConfigurationError,
    );
    await expect(client.submit(query('get'), { consistency: 'eventual' as never })).rejects.toBeInstanceOf(
      ConfigurationError,
    );
    expect(() => client.onEvent('', () => {})).toThrow(ConfigurationError);
    expect(cluster.commands()).toHaveLength(0);
  });

  it('refuse an operation the serializer cannot encode with SERIALIZATION_ERROR', async () => {
    const cluster = await FakeCluster.start();
    const client = cluster.client();
    await cluster.run(client.connect(cluster.addresses));
    class Unregistered {}
    await expect(client.submit(command('echo', new Unregistered()))).rejects.toMatchObject({
      code: 'SERIALIZATION_ERROR',
    });
    // No sequence was spent on it.
    await cluster.run(client.submit(command('add')));
    expect(cluster.commands().map((c) => c.sequence)).toEqual([1]);
  });
});
