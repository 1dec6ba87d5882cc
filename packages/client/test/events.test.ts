import { describe, expect, it } from 'vitest';
import { MessageType } from '@copycat/protocol';
import { command, query } from '@copycat/client';
import { connected, recordingLogger } from './support/helpers.js';

/** A command whose application publishes `events` to the caller's session. */
const publish = (...events: { name: string; message: unknown; to?: number }[]) =>
  command('publish', { events });

describe('session events', () => {
  it('are delivered in order to the listeners of their name, decoded', async () => {
    const { cluster, client } = await connected();
    const seen: unknown[] = [];
    client.onEvent('tick', (message) => seen.push(message));
    client.onEvent('other', () => seen.push('wrong listener'));
    await cluster.run(
      client.submit(publish({ name: 'tick', message: 1 }, { name: 'tick', message: { n: 2 } })),
    );
    await cluster.run(client.submit(publish({ name: 'tick', message: new Map([['n', 3]]) })));
    expect(seen).toEqual([1, { n: 2 }, new Map([['n', 3]])]);
    await cluster.runFor(10);
    expect(cluster.publishes.map((p) => p.index)).toEqual(cluster.publishes.map((p) => p.request.eventIndex));
  });

  it('stop reaching a listener once its registration is closed', async () => {
    const { cluster, client } = await connected();
    const seen: unknown[] = [];
    const registration = client.onEvent('tick', (message) => seen.push(message));
    await cluster.run(client.submit(publish({ name: 'tick', message: 1 })));
    registration.close();
    await cluster.run(client.submit(publish({ name: 'tick', message: 2 })));
    expect(seen).toEqual([1]);
  });

  it('are delivered once when a batch arrives twice', async () => {
    const { cluster, client } = await connected();
    cluster.interceptPublish(() => 'duplicate');
    const seen: unknown[] = [];
    client.onEvent('tick', (message) => seen.push(message));
    await cluster.run(client.submit(publish({ name: 'tick', message: 1 })));
    await cluster.run(client.submit(publish({ name: 'tick', message: 2 })));
    await cluster.runFor(10);
    expect(seen).toEqual([1, 2]);
    expect(cluster.publishes).toHaveLength(4);
    // Both copies are acknowledged with the index the client has.
    expect(cluster.publishes.map((p) => p.index)).toEqual([
      cluster.publishes[0]!.request.eventIndex,
      cluster.publishes[0]!.request.eventIndex,
      cluster.publishes[2]!.request.eventIndex,
      cluster.publishes[2]!.request.eventIndex,
    ]);
  });

  it('after a gap: nothing out of order is delivered, a reset is sent, and the resent batches are accepted', async () => {
    const { cluster, client } = await connected();
    const id = client.session.id;
    const seen: unknown[] = [];
    client.onEvent('tick', (message) => seen.push(message));
    let dropped = false;
    cluster.interceptPublish(() => {
      if (dropped) return undefined;
      dropped = true;
      return 'drop';
    });
    const first = cluster.publish(id, [{ name: 'tick', message: 'a' }]);
    await cluster.runFor(10);
    expect(seen).toEqual([]);
    cluster.publish(id, [{ name: 'tick', message: 'b' }]);
    await cluster.runFor(10);
    expect(seen).toEqual(['a', 'b']);
    expect(cluster.requests(MessageType.reset).map((r) => [r.session, r.index])).toEqual([[id, 0]]);
    // The out-of-order batch was answered with the index the client had, not its own.
    expect(cluster.publishes[0]).toMatchObject({ request: { previousIndex: first }, index: 0 });
  });

  it('published before a command reach the listeners before its response completes', async () => {
    const { cluster, client } = await connected();
    cluster.interceptPublish(() => ({ delay: 300 }));
    const order: string[] = [];
    client.onEvent('tick', () => order.push('event'));
    const start = cluster.scheduler.now();
    cluster.publish(client.session.id, [{ name: 'tick', message: 1 }]);
    await cluster.run(client.submit(command('add')).then(() => order.push('result')));
    expect(order).toEqual(['event', 'result']);
    expect(cluster.scheduler.now() - start).toBe(300);
  });

  it('published before a query reach the listeners before its answer completes', async () => {
    const { cluster, client } = await connected();
    cluster.interceptPublish(() => ({ delay: 300 }));
    const order: string[] = [];
    client.onEvent('tick', () => order.push('event'));
    cluster.publish(client.session.id, [{ name: 'tick', message: 1 }]);
    await cluster.run(client.submit(query('get')).then(() => order.push('result')));
    expect(order).toEqual(['event', 'result']);
  });

  it('that were lost are asked for again while a response waits for them', async () => {
    const { cluster, client } = await connected({ requestTimeout: 1000 });
    let dropped = false;
    cluster.interceptPublish(() => {
      if (dropped) return undefined;
      dropped = true;
      return 'drop';
    });
    const order: string[] = [];
    client.onEvent('tick', () => order.push('event'));
    const start = cluster.scheduler.now();
    cluster.publish(client.session.id, [{ name: 'tick', message: 1 }]);
    await cluster.run(client.submit(command('add')).then(() => order.push('result')));
    expect(order).toEqual(['event', 'result']);
    const [reset] = cluster.requests(MessageType.reset);
    expect(reset).toMatchObject({ session: client.session.id, index: 0 });
    // Asked for after half the request timeout.
    expect(cluster.scheduler.now() - start).toBe(500);
  });

  it('keep flowing when a listener throws, and the error is logged', async () => {
    const logger = recordingLogger();
    const { cluster, client } = await connected({ logger });
    const seen: unknown[] = [];
    client.onEvent('tick', () => {
      throw new Error('listener bug');
    });
    client.onEvent('tick', (message) => seen.push(message));
    await cluster.run(client.submit(publish({ name: 'tick', message: 1 }, { name: 'tick', message: 2 })));
    expect(seen).toEqual([1, 2]);
    expect(logger.lines.filter((l) => l.message === 'an event listener threw')).toHaveLength(2);
  });

  it('are resent by the next server after failover, without duplicates', async () => {
    const { cluster, client } = await connected({}, { sessionTimeout: 3000 });
    const id = client.session.id;
    const seen: unknown[] = [];
    client.onEvent('tick', (message) => seen.push(message));
    cluster.publish(id, [{ name: 'tick', message: 1 }]);
    await cluster.runFor(10);
    // The next batch is lost with the connection; the new server resends what was not acknowledged.
    let dropped = false;
    cluster.interceptPublish(() => {
      if (dropped) return undefined;
      dropped = true;
      return 'drop';
    });
    cluster.publish(id, [{ name: 'tick', message: 2 }]);
    cluster.disconnect('local:a');
    await cluster.runFor(200);
    expect(seen).toEqual([1, 2]);
    const keepAlive = cluster.sessions.get(id)!.keepAlives[0]!;
    expect(keepAlive.server).not.toBe('local:a');
    expect(keepAlive.eventIndex).toBe(cluster.publishes[0]!.request.eventIndex);
  });
});
