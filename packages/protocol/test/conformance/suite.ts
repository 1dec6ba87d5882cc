/**
 * The transport conformance suite: one set of tests that every `Transport` must pass, run by
 * each transport package against its own implementation (`runConformanceSuite(options)`).
 * Everything the issue asks of a transport is here: request/response, concurrency, out-of-order
 * responses, timeouts, close while in flight, oversized frames, garbage bytes, and, where the
 * transport has them, auth refusal and TLS.
 */
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import {
  ClosedError,
  ConnectionError,
  NoLeaderError,
  SystemScheduler,
  TimeoutError,
  UnauthorizedError,
  sleep,
  type CopycatError,
} from '@copycat/common';
import {
  MessageType,
  PROTOCOL_VERSION,
  decodeFrame,
  encodeFrame,
  type Connection,
  type Message,
  type TransportClient,
  type TransportServer,
} from '@copycat/protocol';
import { REQUEST_TYPES, SAMPLE_REQUESTS, SAMPLE_RESPONSES } from '../fixtures.js';
import {
  type ConformanceHarness,
  type ConformanceNode,
  type ConformanceOptions,
  type HarnessOptions,
  type RawPeer,
} from './harness.js';

const clock = new SystemScheduler();
const vote = SAMPLE_REQUESTS[MessageType.vote];
const append = SAMPLE_REQUESTS[MessageType.append];

/** Polls `condition` every few ms, at most `timeout` ms. */
async function until(condition: () => boolean, timeout = 5000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + timeout;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(clock, 2);
  }
}

/**
 * The reason `promise` rejects with. Call it as soon as the promise exists: a rejection that
 * happens while the test awaits something else then counts as handled.
 */
function failure(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    (value) => {
      throw new Error(`expected a rejection, got ${JSON.stringify(value)}`);
    },
    (error: unknown) => error,
  );
}

function frameOf(message: object): Uint8Array {
  return encodeFrame([message as Message]);
}

/** The messages in the frames a raw peer received. */
function received(peer: RawPeer): Record<string, unknown>[] {
  return peer.frames.flatMap((frame) => decodeFrame(frame).messages as Record<string, unknown>[]);
}

/** Tracks what a test opens so that it is closed even when the test fails. */
class Scope {
  private readonly closers: (() => Promise<void>)[] = [];
  harness: ConformanceHarness | undefined;

  add<T extends TransportServer | TransportClient | RawPeer>(thing: T): T {
    this.closers.push(() => thing.close());
    return thing;
  }

  async close(): Promise<void> {
    for (const close of this.closers.splice(0).reverse()) await close().catch(() => {});
    await this.harness?.close();
    this.harness = undefined;
  }
}

interface Cluster {
  harness: ConformanceHarness;
  server: ConformanceNode;
  client: ConformanceNode;
  /** Server-side connections, in the order they were accepted. */
  accepted: Connection[];
  listener: TransportServer;
  /** A connected client connection. */
  connection: Connection;
  connect(): Promise<Connection>;
}

export function runConformanceSuite(options: ConformanceOptions): void {
  const scope = new Scope();
  afterEach(() => scope.close());

  /** A server node with handlers set by `serve`, and a client connected to it. */
  async function cluster(
    serve: (connection: Connection) => void = () => {},
    harnessOptions: HarnessOptions = {},
    makeHarness: () => Promise<ConformanceHarness> = () => options.setup(harnessOptions),
  ): Promise<Cluster> {
    const harness = await makeHarness();
    scope.harness = harness;
    const server = await harness.node();
    const client = await harness.node();
    const accepted: Connection[] = [];
    const listener = scope.add(server.transport.server());
    await listener.listen(server.address, (connection) => {
      accepted.push(connection);
      serve(connection);
    });
    const transportClient = scope.add(client.transport.client());
    const connect = () => transportClient.connect(server.address);
    const connection = await connect();
    return { harness, server, client, accepted, listener, connection, connect };
  }

  const echoVote = (connection: Connection) =>
    connection.handler(MessageType.vote, (request) => ({
      status: 'ok',
      term: request.term,
      voted: request.candidate === 'b',
    }));

  describe('request and response', () => {
    it('round-trips a request and its response, bytes intact', async () => {
      const { connection } = await cluster((c) => {
        echoVote(c);
        c.handler(MessageType.append, (request) => ({
          status: 'ok',
          term: request.term,
          succeeded: request.entries.length === 5 && request.entries[4] === 255,
          lastLogIndex: request.prevLogIndex + request.entries.length,
        }));
      });
      expect(await connection.send(vote)).toEqual({
        type: MessageType.response,
        id: expect.any(Number),
        status: 'ok',
        term: 3,
        voted: true,
      });
      const response = await connection.send(append);
      expect(response).toMatchObject({ status: 'ok', succeeded: true, lastLogIndex: 15 });
    });

    it('carries every message type with its fields', async () => {
      const { connection } = await cluster((c) => {
        for (const type of REQUEST_TYPES) {
          c.handler(type, (request: Message) => {
            // What arrived is what was sent (a failed expectation becomes an INTERNAL_ERROR answer).
            expect(request).toMatchObject({ ...SAMPLE_REQUESTS[type] });
            return SAMPLE_RESPONSES[type];
          });
        }
      });
      for (const type of REQUEST_TYPES) {
        const response = await connection.send(SAMPLE_REQUESTS[type]);
        expect(response, `type ${type}`).toEqual({
          ...SAMPLE_RESPONSES[type],
          type: MessageType.response,
          id: expect.any(Number),
        });
      }
    });

    it('answers requests from the server side too (publish to a client)', async () => {
      const { connection, accepted } = await cluster();
      connection.handler(MessageType.publish, (request) => ({ status: 'ok', index: request.eventIndex }));
      await until(() => accepted.length === 1);
      const response = await accepted[0]!.send(SAMPLE_REQUESTS[MessageType.publish]);
      expect(response).toMatchObject({ status: 'ok', index: 41 });
    });

    it('serves several clients at once, each on its own connection', async () => {
      const { connect } = await cluster(echoVote);
      const connections = await Promise.all(Array.from({ length: 5 }, () => connect()));
      const responses = await Promise.all(connections.map((c, i) => c.send({ ...vote, term: i })));
      expect(responses.map((r) => r.status === 'ok' && r.term)).toEqual([0, 1, 2, 3, 4]);
    });
  });

  describe('concurrency', () => {
    it('keeps many requests in flight on one connection', async () => {
      const { connection } = await cluster((c) =>
        c.handler(MessageType.append, (request) => ({
          status: 'ok',
          term: request.term,
          succeeded: true,
          lastLogIndex: request.entries.reduce((sum, byte) => sum + byte, 0),
        })),
      );
      const requests = Array.from({ length: 300 }, (_, i) => ({
        ...append,
        term: i,
        entries: new Uint8Array(i % 50).fill(i % 7),
      }));
      const responses = await Promise.all(requests.map((request) => connection.send(request)));
      responses.forEach((response, i) => {
        expect(response).toMatchObject({ status: 'ok', term: i, lastLogIndex: (i % 50) * (i % 7) });
      });
    });

    it('matches responses that come back in another order than the requests', async () => {
      const order: number[] = [];
      const { connection } = await cluster((c) =>
        c.handler(MessageType.vote, async (request) => {
          await sleep(clock, (10 - request.term) * 8); // the first request is answered last
          order.push(request.term);
          return { status: 'ok', term: request.term, voted: true };
        }),
      );
      const responses = await Promise.all(
        Array.from({ length: 10 }, (_, term) => connection.send({ ...vote, term })),
      );
      expect(order).toEqual([9, 8, 7, 6, 5, 4, 3, 2, 1, 0]);
      expect(responses.map((r) => r.status === 'ok' && r.term)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    });

    it('hands requests to the handler in the order they were sent', async () => {
      const seen: number[] = [];
      const { connection } = await cluster((c) =>
        c.handler(MessageType.append, (request) => {
          seen.push(request.prevLogIndex);
          return { status: 'ok', term: 1, succeeded: true, lastLogIndex: request.prevLogIndex };
        }),
      );
      await Promise.all(
        Array.from({ length: 100 }, (_, i) => connection.send({ ...append, prevLogIndex: i })),
      );
      expect(seen).toEqual(Array.from({ length: 100 }, (_, i) => i));
    });
  });

  describe('errors', () => {
    it('answers a thrown CopycatError with its code, any other throw with INTERNAL_ERROR; the connection stays up', async () => {
      const { connection, accepted } = await cluster((c) => {
        c.handler(MessageType.vote, () => {
          throw new NoLeaderError('not the leader');
        });
        c.handler(MessageType.poll, () => {
          throw new Error('bug');
        });
        c.handler(MessageType.append, () => ({
          status: 'error',
          error: { code: 'NO_LEADER', message: 'ask a' },
          leader: 'a',
          term: 4,
        }));
      });
      expect(await connection.send(vote)).toMatchObject({
        status: 'error',
        error: { code: 'NO_LEADER', message: 'not the leader' },
      });
      expect(await connection.send(SAMPLE_REQUESTS[MessageType.poll])).toMatchObject({
        status: 'error',
        error: { code: 'INTERNAL_ERROR' },
      });
      expect(await connection.send(append)).toMatchObject({ status: 'error', leader: 'a', term: 4 });
      expect(connection.closed).toBe(false);
      expect(accepted[0]!.closed).toBe(false);
    });

    it('answers a request without a handler with PROTOCOL_ERROR', async () => {
      const { connection } = await cluster();
      expect(await connection.send(vote)).toMatchObject({
        status: 'error',
        error: { code: 'PROTOCOL_ERROR' },
      });
    });

    it('fails to connect where nothing listens, with ConnectionError', async () => {
      const harness = await options.setup({});
      scope.harness = harness;
      const nobody = await harness.node();
      const client = scope.add((await harness.node()).transport.client());
      await expect(client.connect(nobody.address)).rejects.toBeInstanceOf(ConnectionError);
    });
  });

  describe('timeouts', () => {
    it('rejects a request that gets no answer with TimeoutError, in time, and stays usable', async () => {
      const { connection } = await cluster((c) => {
        c.handler(MessageType.poll, () => new Promise(() => {}));
        echoVote(c);
      });
      const started = Date.now();
      await expect(
        connection.send(SAMPLE_REQUESTS[MessageType.poll], { timeout: 50 }),
      ).rejects.toBeInstanceOf(TimeoutError);
      const elapsed = Date.now() - started;
      expect(elapsed).toBeGreaterThanOrEqual(45);
      expect(elapsed).toBeLessThan(1000);
      expect(await connection.send(vote)).toMatchObject({ status: 'ok' });
    });

    it('uses the transport default timeout when none is given', async () => {
      const { connection } = await cluster((c) => c.handler(MessageType.poll, () => new Promise(() => {})), {
        requestTimeout: 60,
      });
      const started = Date.now();
      await expect(connection.send(SAMPLE_REQUESTS[MessageType.poll])).rejects.toBeInstanceOf(TimeoutError);
      expect(Date.now() - started).toBeLessThan(1000);
    });

    it('ignores a response that arrives after its timeout', async () => {
      const { connection } = await cluster((c) =>
        c.handler(MessageType.vote, async (request) => {
          if (request.term === 1) await sleep(clock, 80);
          return { status: 'ok', term: request.term, voted: true };
        }),
      );
      await expect(connection.send({ ...vote, term: 1 }, { timeout: 20 })).rejects.toBeInstanceOf(
        TimeoutError,
      );
      await sleep(clock, 100);
      expect(await connection.send({ ...vote, term: 2 })).toMatchObject({ status: 'ok', term: 2 });
    });
  });

  describe('close', () => {
    it('closing a connection rejects its pending requests with ClosedError; the server sees it close', async () => {
      const { connection, accepted } = await cluster((c) =>
        c.handler(MessageType.vote, () => new Promise(() => {})),
      );
      const pending = [failure(connection.send(vote)), failure(connection.send(vote))];
      await until(() => accepted.length === 1);
      const serverClosed = new Promise<CopycatError | undefined>((resolve) =>
        accepted[0]!.onClose((e) => resolve(e.error)),
      );
      await sleep(clock, 20);
      await connection.close();
      for (const request of pending) expect(await request).toBeInstanceOf(ClosedError);
      expect(connection.closed).toBe(true);
      expect(await serverClosed).toBeInstanceOf(ConnectionError);
      await expect(connection.send(vote)).rejects.toBeInstanceOf(ClosedError);
      await connection.close(); // idempotent
    });

    it('a connection dropped by the other side fails pending requests promptly with ConnectionError', async () => {
      const { connection, accepted } = await cluster((c) =>
        c.handler(MessageType.vote, () => new Promise(() => {})),
      );
      const closed = new Promise<CopycatError | undefined>((resolve) =>
        connection.onClose((e) => resolve(e.error)),
      );
      const pending = failure(connection.send(vote, { timeout: 20_000 }));
      await until(() => accepted.length === 1);
      await sleep(clock, 20);
      const started = Date.now();
      await accepted[0]!.close();
      expect(await pending).toBeInstanceOf(ConnectionError);
      expect(Date.now() - started).toBeLessThan(2000);
      expect(await closed).toBeInstanceOf(ConnectionError);
      expect(connection.closed).toBe(true);
    });

    it('closing the server closes its connections and refuses new ones', async () => {
      const { connection, listener, connect } = await cluster((c) =>
        c.handler(MessageType.vote, () => new Promise(() => {})),
      );
      const pending = failure(connection.send(vote, { timeout: 20_000 }));
      await sleep(clock, 20);
      await listener.close();
      expect(await pending).toBeInstanceOf(ConnectionError);
      await expect(connect()).rejects.toBeInstanceOf(ConnectionError);
    });

    it('closing the client closes every connection it opened', async () => {
      const harness = await options.setup({});
      scope.harness = harness;
      const server = await harness.node();
      const listener = scope.add(server.transport.server());
      await listener.listen(server.address, (c) => c.handler(MessageType.vote, () => new Promise(() => {})));
      const client = (await harness.node()).transport.client();
      const connections = await Promise.all([client.connect(server.address), client.connect(server.address)]);
      const pending = connections.map((c) => failure(c.send(vote)));
      await client.close();
      for (const request of pending) expect(await request).toBeInstanceOf(ClosedError);
      expect(connections.every((c) => c.closed)).toBe(true);
      await expect(client.connect(server.address)).rejects.toBeInstanceOf(ClosedError);
    });
  });

  describe('frame size limit', () => {
    const limit = 64 * 1024;

    it('refuses an oversized request with FRAME_TOO_LARGE without sending it; the connection survives', async () => {
      let appends = 0;
      const { connection } = await cluster(
        (c) =>
          c.handler(MessageType.append, () => {
            appends++;
            return { status: 'ok', term: 1, succeeded: true, lastLogIndex: 0 };
          }),
        { maxFrameSize: limit },
      );
      await expect(connection.send({ ...append, entries: new Uint8Array(limit) })).rejects.toMatchObject({
        code: 'FRAME_TOO_LARGE',
      });
      expect(connection.closed).toBe(false);
      expect(await connection.send({ ...append, entries: new Uint8Array(limit - 1024) })).toMatchObject({
        status: 'ok',
      });
      expect(appends).toBe(1);
    });

    it('answers with a FRAME_TOO_LARGE error when the response would be oversized; the connection survives', async () => {
      const { connection } = await cluster(
        (c) =>
          c.handler(MessageType.command, (request) => ({
            status: 'ok',
            index: 1,
            eventIndex: 1,
            result: new Uint8Array(request.sequence),
          })),
        { maxFrameSize: limit },
      );
      const command = SAMPLE_REQUESTS[MessageType.command];
      expect(await connection.send({ ...command, sequence: limit * 2 })).toMatchObject({
        status: 'error',
        error: { code: 'FRAME_TOO_LARGE' },
      });
      expect(await connection.send({ ...command, sequence: 10 })).toMatchObject({ status: 'ok' });
    });
  });

  describe('garbage from the peer', () => {
    async function rawCluster(): Promise<Cluster & { raw: RawPeer; votes: () => number }> {
      let votes = 0;
      const c = await cluster((connection) => {
        connection.handler(MessageType.vote, (request) => {
          votes++;
          return { status: 'ok', term: request.term, voted: true };
        });
      });
      const raw = scope.add(await c.harness.raw(c.client, c.server.address));
      return { ...c, raw, votes: () => votes };
    }

    it('answers an unknown message type with PROTOCOL_ERROR and keeps the connection up', async () => {
      const { raw } = await rawCluster();
      raw.send(frameOf({ type: 99, id: 5 }));
      raw.send(frameOf({ ...vote, id: 6 }));
      await until(() => received(raw).length >= 2, 5000, 'two responses');
      expect(received(raw)).toEqual([
        {
          type: MessageType.response,
          id: 5,
          status: 'error',
          error: { code: 'PROTOCOL_ERROR', message: 'unknown message type 99' },
        },
        { type: MessageType.response, id: 6, status: 'ok', term: vote.term, voted: true },
      ]);
      expect(raw.closed).toBe(false);
    });

    it('answers a request with a missing or mistyped field with PROTOCOL_ERROR, without calling the handler', async () => {
      const { raw, votes } = await rawCluster();
      raw.send(frameOf({ type: MessageType.vote, id: 7, term: 1, lastLogIndex: 0, lastLogTerm: 0 }));
      raw.send(frameOf({ ...vote, id: 8, term: 'one' }));
      await until(() => received(raw).length >= 2, 5000, 'two responses');
      const responses = received(raw);
      expect(responses.map((r) => [r.id, (r.error as { code: string } | undefined)?.code])).toEqual([
        [7, 'PROTOCOL_ERROR'],
        [8, 'PROTOCOL_ERROR'],
      ]);
      expect(String((responses[0]!.error as { message: string }).message)).toMatch(/candidate is missing/);
      expect(votes()).toBe(0);
    });

    it('handles several messages coalesced in one frame', async () => {
      const { raw } = await rawCluster();
      raw.send(encodeFrame([1, 2, 3].map((id) => ({ ...vote, id, term: id }))));
      await until(() => received(raw).length >= 3, 5000, 'three responses');
      expect(received(raw).map((r) => r.term)).toEqual([1, 2, 3]);
    });

    it('fuzz: random and truncated frames never crash the server, which keeps serving other connections', async () => {
      const { raw, connection, connect } = await rawCluster();
      const valid = frameOf({ ...vote, id: 1 });
      const frame = fc.oneof(
        fc.uint8Array({ minLength: 0, maxLength: 200 }),
        fc.uint8Array({ maxLength: 200 }).map((bytes) => new Uint8Array([0x92, PROTOCOL_VERSION, ...bytes])),
        fc.integer({ min: 0, max: valid.length - 1 }).map((cut) => valid.subarray(0, cut)),
        fc
          .tuple(fc.integer({ min: 0, max: valid.length - 1 }), fc.integer({ min: 0, max: 255 }))
          .map(([at, byte]) => Uint8Array.from(valid, (b, i) => (i === at ? byte : b))),
        fc.anything().map((value) => {
          try {
            return frameOf(
              typeof value === 'object' && value !== null
                ? { ...value, type: MessageType.vote, id: 3 }
                : { value },
            );
          } catch {
            return new Uint8Array([PROTOCOL_VERSION, 0, 0, 0, 9]);
          }
        }),
      );
      let served = 0;
      await fc.assert(
        fc.asyncProperty(fc.array(frame, { minLength: 1, maxLength: 25 }), async (frames) => {
          for (const bytes of frames) if (!raw.closed) raw.send(bytes);
          // Meanwhile another connection is served as usual.
          const response = await connection.send({ ...vote, term: served });
          expect(response).toMatchObject({ status: 'ok', term: served });
          served++;
        }),
        { numRuns: 40, seed: 42 },
      );
      expect(served).toBe(40);
      // The server still accepts and serves new connections.
      const fresh = await connect();
      expect(await fresh.send(vote)).toMatchObject({ status: 'ok' });
      // And the fuzzing connection itself, if it survived, still gets answers.
      if (!raw.closed) {
        const before = received(raw).length;
        raw.send(frameOf({ ...vote, id: 4242 }));
        await until(
          () =>
            received(raw)
              .slice(before)
              .some((r) => r.id === 4242),
          5000,
          'an answer to the fuzzing peer',
        );
      }
    });
  });

  const auth = options.auth;
  if (auth !== undefined) {
    describe('auth token', () => {
      const authCluster = (client: string | undefined) =>
        cluster(echoVote, {}, () => auth({ server: 'open sesame', client }));

      it('accepts a client with the right token', async () => {
        const { connection } = await authCluster('open sesame');
        expect(await connection.send(vote)).toMatchObject({ status: 'ok' });
      });

      for (const [what, token] of [
        ['a wrong', 'open barley'],
        ['a missing', undefined],
      ] as const) {
        it(`refuses ${what} token with UNAUTHORIZED before any message is processed`, async () => {
          let processed = 0;
          const harness = await auth({ server: 'open sesame', client: token });
          scope.harness = harness;
          const server = await harness.node();
          const listener = scope.add(server.transport.server());
          await listener.listen(server.address, (c) => {
            processed++;
            echoVote(c);
          });
          const client = scope.add((await harness.node()).transport.client());
          await expect(client.connect(server.address)).rejects.toBeInstanceOf(UnauthorizedError);
          expect(processed).toBe(0);
        });
      }
    });
  }

  const tls = options.tls;
  if (tls !== undefined) {
    describe('TLS', () => {
      it('round-trips requests over TLS with a self-signed certificate made in the test', async () => {
        const { connection } = await cluster(echoVote, {}, tls);
        const responses = await Promise.all(
          Array.from({ length: 20 }, (_, term) => connection.send({ ...vote, term })),
        );
        expect(responses.map((r) => r.status === 'ok' && r.term)).toEqual(
          Array.from({ length: 20 }, (_, i) => i),
        );
      });
    });
  }
}
