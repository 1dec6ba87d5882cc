import { describe, expect, it } from 'vitest';
import { ConfigurationError, ConnectionError, FrameTooLargeError, TimeoutError } from '@copycat/common';
import { MessageType, type AppendRequest, type Connection, type VoteRequest } from '@copycat/protocol';
import { LocalNetwork, type LinkFaults } from '@copycat/transport-local';
import { TestScheduler } from './test-scheduler.js';

const vote: Omit<VoteRequest, 'id'> = {
  type: MessageType.vote,
  term: 1,
  candidate: 'a',
  lastLogIndex: 0,
  lastLogTerm: 0,
};
const append: Omit<AppendRequest, 'id'> = {
  type: MessageType.append,
  term: 1,
  leader: 'a',
  prevLogIndex: 0,
  prevLogTerm: 0,
  entries: new Uint8Array([1, 2, 3]),
  commitIndex: 0,
  globalIndex: 0,
};

interface Node {
  address: string;
  /** Terms of the vote requests this node's server received, in order, with the time. */
  received: { term: number; at: number }[];
  accepted: Connection[];
}

/** A network of nodes that each listen and answer votes. */
async function network(seed: number, addresses: string[], options: { maxFrameSize?: number } = {}) {
  const scheduler = new TestScheduler(seed);
  const net = new LocalNetwork({ scheduler, requestTimeout: 1000, connectTimeout: 500, ...options });
  const nodes = new Map<string, Node>();
  for (const address of addresses) {
    const node: Node = { address, received: [], accepted: [] };
    nodes.set(address, node);
    await net
      .transport(address)
      .server()
      .listen(address, (connection) => {
        node.accepted.push(connection);
        connection.handler(MessageType.vote, (request) => {
          node.received.push({ term: request.term, at: scheduler.now() });
          return { status: 'ok', term: request.term, voted: true };
        });
        connection.handler(MessageType.append, (request) => ({
          status: 'ok',
          term: request.term,
          succeeded: true,
          lastLogIndex: request.entries.length,
        }));
      });
  }
  /** Connects `from` to `to`, running the scheduler until it is done. */
  const connect = async (from: string, to: string) => {
    const pending = net.transport(from).client().connect(to);
    let result: Connection | Error | undefined;
    pending.then(
      (c) => (result = c),
      (e: Error) => (result = e),
    );
    await scheduler.until(() => result !== undefined);
    if (result instanceof Error) throw result;
    return result!;
  };
  /** Sends and runs the scheduler until the outcome is known; returns the response or the error. */
  const settle = async <T>(promise: Promise<T>): Promise<T | Error> => {
    let outcome: { value: T } | { error: Error } | undefined;
    promise.then(
      (value) => (outcome = { value }),
      (error: Error) => (outcome = { error }),
    );
    await scheduler.until(() => outcome !== undefined);
    return 'value' in outcome! ? outcome.value : outcome!.error;
  };
  return { scheduler, net, nodes: (a: string) => nodes.get(a)!, connect, settle };
}

describe('delivery', () => {
  it('never delivers inside send(): only a scheduler task does', async () => {
    const { scheduler, nodes, connect } = await network(1, ['a', 'b']);
    const connection = await connect('a', 'b');
    const response = connection.send(vote);
    expect(nodes('b').received).toEqual([]);
    await Promise.resolve();
    expect(nodes('b').received).toEqual([]);
    await scheduler.advance(0);
    expect(nodes('b').received).toHaveLength(1);
    await scheduler.advance(0);
    await expect(response).resolves.toMatchObject({ status: 'ok' });
  });

  it('never shares objects: the receiver gets its own decoded copy', async () => {
    const { scheduler, net, connect } = await network(1, ['a']);
    const seen: AppendRequest[] = [];
    await net
      .transport('z')
      .server()
      .listen('z', (c) =>
        c.handler(MessageType.append, (request) => {
          seen.push(request);
          request.entries[0] = 99; // a receiver scribbling on its copy
          return { status: 'ok', term: 1, succeeded: true, lastLogIndex: 0 };
        }),
      );
    const connection = await connect('a', 'z');
    const request = { ...append, entries: new Uint8Array([1, 2, 3]) };
    const response = connection.send(request);
    await scheduler.until(() => seen.length === 1);
    expect(seen[0]).not.toBe(request);
    expect(seen[0]!.entries).not.toBe(request.entries);
    expect([...request.entries]).toEqual([1, 2, 3]);
    await scheduler.advance(1);
    await expect(response).resolves.toMatchObject({ status: 'ok' });
  });

  it('keeps each link in order (FIFO) under random delays', async () => {
    const { scheduler, net, nodes, connect } = await network(7, ['a', 'b']);
    net.setFaults({ delay: { min: 0, max: 50 } });
    const connection = await connect('a', 'b');
    const responses = Array.from({ length: 100 }, (_, term) => connection.send({ ...vote, term }));
    await scheduler.until(() => nodes('b').received.length === 100);
    expect(nodes('b').received.map((r) => r.term)).toEqual(Array.from({ length: 100 }, (_, i) => i));
    await scheduler.advance(200);
    await Promise.all(responses);
  });

  it('delays messages within the configured distribution', async () => {
    const { scheduler, net, nodes, connect } = await network(3, ['a', 'b']);
    const connection = await connect('a', 'b');
    net.setFaults({ delay: { min: 20, max: 40 } });
    const sentAt = scheduler.now();
    void connection.send(vote).catch(() => {});
    await scheduler.until(() => nodes('b').received.length === 1);
    const delay = nodes('b').received[0]!.at - sentAt;
    expect(delay).toBeGreaterThanOrEqual(20);
    expect(delay).toBeLessThanOrEqual(40);
  });

  it('drops messages with the configured probability; senders see timeouts', async () => {
    const { scheduler, net, nodes, connect, settle } = await network(11, ['a', 'b']);
    const connection = await connect('a', 'b');
    net.setFaults({ drop: 0.3 });
    const outcomes = await settle(
      Promise.allSettled(Array.from({ length: 1000 }, (_, term) => connection.send({ ...vote, term }))),
    );
    const arrived = nodes('b').received.length;
    expect(arrived).toBeGreaterThan(600);
    expect(arrived).toBeLessThan(800);
    const results = outcomes as PromiseSettledResult<unknown>[];
    const timedOut = results.filter(
      (r) => r.status === 'rejected' && r.reason instanceof TimeoutError,
    ).length;
    // A request is answered only if it and its response both got through: 0.7 * 0.7 ≈ 49%.
    expect(timedOut).toBeGreaterThan(400);
    expect(timedOut).toBeLessThan(620);
    expect(scheduler.now()).toBeGreaterThanOrEqual(1000);
  });

  it('duplicates messages: the handler runs twice, the sender gets one answer', async () => {
    const { scheduler, net, nodes, connect } = await network(5, ['a', 'b']);
    const connection = await connect('a', 'b');
    net.setFaults({ duplicate: 1 });
    const response = connection.send(vote);
    await scheduler.until(() => nodes('b').received.length === 2);
    await scheduler.advance(50);
    await expect(response).resolves.toMatchObject({ status: 'ok', term: 1 });
    expect(connection.closed).toBe(false);
  });

  it('reorders messages only when asked to', async () => {
    const orderWith = async (faults: LinkFaults) => {
      const { scheduler, net, nodes, connect } = await network(9, ['a', 'b']);
      const connection = await connect('a', 'b');
      net.setFaults(faults);
      for (let term = 0; term < 50; term++) void connection.send({ ...vote, term }).catch(() => {});
      await scheduler.until(() => nodes('b').received.length === 50);
      return nodes('b').received.map((r) => r.term);
    };
    const inOrder = Array.from({ length: 50 }, (_, i) => i);
    expect(await orderWith({ delay: { min: 1, max: 10 } })).toEqual(inOrder);
    const reordered = await orderWith({ delay: { min: 1, max: 10 }, reorder: 0.5 });
    expect(reordered).not.toEqual(inOrder);
    expect([...reordered].sort((x, y) => x - y)).toEqual(inOrder);
  });

  it('applies the most specific link faults: {from, to}, then {from}, then {to}, then the default', async () => {
    const { scheduler, net, nodes, connect } = await network(2, ['a', 'b', 'c']);
    const ab = await connect('a', 'b');
    const ac = await connect('a', 'c');
    const cb = await connect('c', 'b');
    net.setFaults({ drop: 1 }); // default: everything lost...
    net.setFaults({}, { from: 'a' }); // ...but nothing from a...
    net.setFaults({ drop: 1 }, { from: 'a', to: 'c' }); // ...except a to c
    net.setFaults({}, { to: 'b' }); // and nothing to b
    for (const connection of [ab, ac, cb]) void connection.send(vote).catch(() => {});
    await scheduler.advance(10);
    expect(nodes('b').received).toHaveLength(2); // from a (from-rule) and from c (to-rule)
    expect(nodes('c').received).toHaveLength(0);
    net.clearFaults();
    void ac.send(vote).catch(() => {});
    await scheduler.advance(10);
    expect(nodes('c').received).toHaveLength(1);
  });

  it('refuses invalid faults', async () => {
    const { net } = await network(1, []);
    expect(() => net.setFaults({ drop: 1.5 })).toThrow(ConfigurationError);
    expect(() => net.setFaults({ delay: { min: 5, max: 1 } })).toThrow(ConfigurationError);
    expect(() => net.setFaults({ reorder: -0.1 })).toThrow(ConfigurationError);
  });
});

describe('determinism', () => {
  /** A run with every fault on, recorded as a trace of what each server saw and when. */
  async function trace(seed: number): Promise<string[]> {
    const { scheduler, net, nodes, connect } = await network(seed, ['a', 'b', 'c']);
    net.setFaults({ drop: 0.1, delay: { min: 0, max: 20 }, duplicate: 0.1, reorder: 0.2 });
    const connections = [await connect('a', 'b'), await connect('b', 'c'), await connect('c', 'a')];
    const outcomes: string[] = [];
    connections.forEach((connection, i) => {
      for (let term = 0; term < 30; term++) {
        connection.send({ ...vote, term: i * 100 + term }, { timeout: 200 }).then(
          (r) => outcomes.push(`${scheduler.now()} ok ${r.status === 'ok' ? r.term : '?'}`),
          (e: Error) => outcomes.push(`${scheduler.now()} ${e.name}`),
        );
      }
    });
    await scheduler.advance(1000);
    const seen = ['a', 'b', 'c'].flatMap((a) => nodes(a).received.map((r) => `${r.at} ${a} ${r.term}`));
    return [...seen, ...outcomes];
  }

  it('the same seed replays the same run exactly; another seed gives another run', async () => {
    const first = await trace(1234);
    expect(first.length).toBeGreaterThan(90);
    expect(await trace(1234)).toEqual(first);
    expect(await trace(4321)).not.toEqual(first);
  });
});

describe('cuts', () => {
  it('partition cuts every link between groups, both ways; heal restores them', async () => {
    const { net, nodes, connect, settle } = await network(1, ['a', 'b', 'c', 'd']);
    const ab = await connect('a', 'b');
    const ac = await connect('a', 'c');
    const dc = await connect('d', 'c');
    net.partition(['a', 'b'], ['c', 'd']);
    expect(net.isCut('a', 'c')).toBe(true);
    expect(net.isCut('c', 'a')).toBe(true);
    expect(net.isCut('a', 'b')).toBe(false);
    expect(await settle(ab.send(vote))).toMatchObject({ status: 'ok' });
    expect(await settle(dc.send(vote))).toMatchObject({ status: 'ok' });
    expect(await settle(ac.send(vote))).toBeInstanceOf(TimeoutError);
    expect(nodes('c').received).toHaveLength(1); // only d's
    await expect(connect('b', 'd')).rejects.toThrow(/timed out after 500 ms: no route from b/);
    net.heal();
    expect(await settle(ac.send(vote))).toMatchObject({ status: 'ok' });
    expect(await connect('b', 'd')).toBeDefined();
  });

  it('loses messages in flight when the partition starts', async () => {
    const { scheduler, net, nodes, connect, settle } = await network(1, ['a', 'b']);
    net.setFaults({ delay: { min: 50, max: 50 } });
    const ab = await connect('a', 'b');
    const response = ab.send(vote);
    await scheduler.advance(10);
    net.disconnect('a', 'b');
    expect(await settle(response)).toBeInstanceOf(TimeoutError);
    expect(nodes('b').received).toHaveLength(0);
  });

  it('isolate cuts a node from everyone, also from nodes that appear later; connect reopens one link', async () => {
    const { net, connect, settle } = await network(1, ['a', 'b', 'c']);
    const ab = await connect('a', 'b');
    net.isolate('a');
    expect(await settle(ab.send(vote))).toBeInstanceOf(TimeoutError);
    await expect(connect('c', 'a')).rejects.toBeInstanceOf(ConnectionError);
    expect(net.isCut('a', 'late')).toBe(false);
    net.transport('late');
    expect(net.isCut('a', 'late')).toBe(true);
    net.connect('a', 'b');
    expect(await settle(ab.send(vote))).toMatchObject({ status: 'ok' });
    expect(net.isCut('a', 'c')).toBe(true);
    expect(await connect('b', 'c')).toBeDefined();
  });

  it('disconnect cuts one pair both ways (a bridge: a and c talk only through b)', async () => {
    const { net, connect, settle } = await network(1, ['a', 'b', 'c']);
    const ab = await connect('a', 'b');
    const bc = await connect('b', 'c');
    const ac = await connect('a', 'c');
    net.disconnect('a', 'c');
    expect(await settle(ab.send(vote))).toMatchObject({ status: 'ok' });
    expect(await settle(bc.send(vote))).toMatchObject({ status: 'ok' });
    expect(await settle(ac.send(vote))).toBeInstanceOf(TimeoutError);
    net.connect('a', 'c');
    expect(await settle(ac.send(vote))).toMatchObject({ status: 'ok' });
  });
});

describe('crash', () => {
  it('closes the node at once, resets its peers promptly, and refuses connections until it listens again', async () => {
    const { scheduler, net, nodes, connect, settle } = await network(1, ['a', 'b']);
    const ab = await connect('a', 'b');
    const ba = await connect('b', 'a');
    nodes('b').accepted[0]!.handler(MessageType.vote, () => new Promise(() => {}));
    const pending = ab.send(vote, { timeout: 60_000 });
    await scheduler.advance(1);
    const crashedAt = scheduler.now();
    net.crash('b');
    expect(ba.closed).toBe(true); // b's own connections close at once
    expect(await settle(pending)).toBeInstanceOf(ConnectionError);
    expect(scheduler.now() - crashedAt).toBeLessThan(10);
    expect(ab.closed).toBe(true);
    await expect(connect('a', 'b')).rejects.toThrow(/connection refused: nothing listens at b/);
    // Restart: a new server listens at the same address.
    await net
      .transport('b')
      .server()
      .listen('b', (c) => c.handler(MessageType.vote, () => ({ status: 'ok', term: 9, voted: false })));
    const again = await connect('a', 'b');
    expect(await settle(again.send(vote))).toMatchObject({ status: 'ok', term: 9 });
  });

  it('a peer behind a partition learns of a crash only when it sends after the heal (a reset)', async () => {
    const { scheduler, net, connect, settle } = await network(1, ['a', 'b']);
    const ab = await connect('a', 'b');
    net.disconnect('a', 'b');
    net.crash('b');
    await scheduler.advance(100);
    expect(ab.closed).toBe(false);
    expect(await settle(ab.send(vote, { timeout: 50 }))).toBeInstanceOf(TimeoutError);
    net.heal();
    const outcome = await settle(ab.send(vote, { timeout: 50_000 }));
    expect(outcome).toBeInstanceOf(ConnectionError);
    expect((outcome as Error).message).toMatch(/connection reset/);
  });
});

describe('limits and misuse', () => {
  it('applies the network frame size limit', async () => {
    const { connect, settle } = await network(1, ['a', 'b'], { maxFrameSize: 1024 });
    const ab = await connect('a', 'b');
    expect(await settle(ab.send({ ...append, entries: new Uint8Array(2048) }))).toBeInstanceOf(
      FrameTooLargeError,
    );
    expect(await settle(ab.send(append))).toMatchObject({ status: 'ok' });
  });

  it('an address can have one listener; a server listens once', async () => {
    const { net } = await network(1, ['a']);
    await expect(
      net
        .transport('x')
        .server()
        .listen('a', () => {}),
    ).rejects.toThrow(/already in use/);
    const server = net.transport('y').server();
    await server.listen('y', () => {});
    await expect(server.listen('y2', () => {})).rejects.toBeInstanceOf(ConfigurationError);
    await server.close();
    await net
      .transport('y')
      .server()
      .listen('y', () => {});
  });

  it('transport(address) is the same object for the same address', async () => {
    const { net } = await network(1, []);
    expect(net.transport('a')).toBe(net.transport('a'));
    expect(net.addresses).toContain('a');
  });
});
