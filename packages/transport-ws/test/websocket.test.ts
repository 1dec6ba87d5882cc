import { connect as tcpConnect, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import {
  BackpressureError,
  ConfigurationError,
  ConnectionError,
  FrameTooLargeError,
  ProtocolError,
  sleep,
  type CopycatError,
} from '@copycat/common';
import {
  MessageType,
  decodeFrame,
  encodeFrame,
  validateRequest,
  type AppendRequest,
  type CommandRequest,
  type Connection,
  type Message,
  type VoteRequest,
} from '@copycat/protocol';
import { Serializer } from '@copycat/io';
import {
  CloseCode,
  WebSocketTransport,
  type WebSocketConnection,
  type WebSocketTransportOptions,
} from '@copycat/transport-ws';
import { selfSignedCertificate } from './certificate.js';
import { bareServer, clock, failure, until } from './helpers.js';
import { freeAddress } from './ports.js';

const vote: Omit<VoteRequest, 'id'> = {
  type: MessageType.vote,
  term: 1,
  candidate: 'a',
  lastLogIndex: 0,
  lastLogTerm: 0,
};
const append = (size: number): Omit<AppendRequest, 'id'> => ({
  type: MessageType.append,
  term: 1,
  leader: 'a',
  prevLogIndex: 0,
  prevLogTerm: 0,
  entries: new Uint8Array(size),
  commitIndex: 0,
  globalIndex: 0,
});
const command = (sequence: number): Omit<CommandRequest, 'id'> => ({
  type: MessageType.command,
  session: 1,
  sequence,
  operation: new Uint8Array(8),
  compaction: 'release',
});

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => {});
});
function track<T extends { close(): Promise<void> }>(thing: T): T {
  cleanups.push(() => thing.close());
  return thing;
}

/** A Copycat server answering votes, appends and commands; returns its address and accepted connections. */
async function server(options: WebSocketTransportOptions = {}, commandResult = 0) {
  const address = await freeAddress();
  const accepted: Connection[] = [];
  const listener = track(new WebSocketTransport(options).server());
  await listener.listen(address, (connection) => {
    accepted.push(connection);
    connection.handler(MessageType.vote, (request) => ({ status: 'ok', term: request.term, voted: true }));
    connection.handler(MessageType.append, (request) => ({
      status: 'ok',
      term: request.term,
      succeeded: true,
      lastLogIndex: request.entries.length,
    }));
    connection.handler(MessageType.command, (request) => ({
      status: 'ok',
      index: request.sequence,
      eventIndex: 0,
      result: new Uint8Array(commandResult),
    }));
  });
  return { address, accepted, listener };
}

async function client(
  address: string,
  options: WebSocketTransportOptions = {},
): Promise<WebSocketConnection> {
  const transportClient = track(new WebSocketTransport(options).client());
  return transportClient.connect(address);
}

/** A raw `ws` client of a Copycat server, once it has the hello: the frames it got (hello first). */
async function rawClient(address: string) {
  const frames: Uint8Array[] = [];
  const raw = new WebSocket(`ws://${address}/?v=1`);
  cleanups.push(async () => raw.terminate());
  raw.on('message', (data: Buffer) => frames.push(new Uint8Array(data)));
  await until(() => frames.length === 1, 5000, 'hello');
  return { raw, frames };
}

/** Decodes the messages of a binary frame. */
function messagesOf(frame: Uint8Array): Message[] {
  return decodeFrame(frame).messages as Message[];
}

describe('coalescing', () => {
  /** A peer that counts the frames it receives and answers every vote in them, in one frame. */
  async function countingPeer() {
    const frames: Uint8Array[] = [];
    const bare = track(
      await bareServer((ws) => {
        ws.send(encodeFrame([])); // hello
        ws.on('message', (data: Buffer) => {
          frames.push(new Uint8Array(data));
          const responses: Message[] = messagesOf(new Uint8Array(data)).map((m) => ({
            type: MessageType.response,
            id: m.id,
            status: 'ok',
            term: 1,
            voted: true,
          }));
          ws.send(encodeFrame(responses));
        });
      }),
    );
    return { address: bare.address, frames };
  }

  it('writes a lone request at once, and gathers the ones sent right after it into one frame', async () => {
    const peer = await countingPeer();
    const connection = await client(peer.address);
    const responses = await Promise.all(Array.from({ length: 10 }, () => connection.send(vote)));
    expect(responses.every((r) => r.status === 'ok')).toBe(true);
    expect(peer.frames.map((frame) => messagesOf(frame).map(validateRequest).length)).toEqual([1, 9]);
    expect(connection.frames).toBe(2);
  });

  it('sends a large burst as a few frames, not one per message, so the peer can start early', async () => {
    const peer = await countingPeer();
    const connection = await client(peer.address);
    const responses = await Promise.all(Array.from({ length: 256 }, () => connection.send(vote)));
    expect(responses.every((r) => r.status === 'ok')).toBe(true);
    expect(peer.frames.flatMap(messagesOf)).toHaveLength(256);
    expect(peer.frames.length).toBeGreaterThan(1);
    expect(peer.frames.length).toBeLessThanOrEqual(256 / 8);
  });

  it('answers the requests of one frame in as few frames', async () => {
    const { address } = await server();
    const { raw, frames } = await rawClient(address);
    raw.send(encodeFrame(Array.from({ length: 64 }, (_, i): Message => ({ ...vote, id: i + 1 }))));
    await until(() => frames.slice(1).flatMap(messagesOf).length === 64, 5000, '64 responses');
    expect(frames.length - 1).toBeLessThanOrEqual(64 / 8);
    // Answered while the frame is handled, a few requests are answered by one frame, written
    // when the frame is done (no write per answer, no task scheduled to gather them).
    raw.send(encodeFrame(Array.from({ length: 3 }, (_, i): Message => ({ ...vote, id: 100 + i }))));
    await until(() => frames.slice(1).flatMap(messagesOf).length === 67, 5000, '3 more responses');
    expect(messagesOf(frames.at(-1)!).map((response) => response.id)).toEqual([100, 101, 102]);
  });

  it('answers frames that arrive together (one read) in a few frames, not one per frame', async () => {
    const { address } = await server();
    const { raw, frames } = await rawClient(address);
    // Corked, the 32 WebSocket frames reach the server in one write, so it reads them together.
    const socket = (raw as unknown as { _socket: Socket })._socket;
    socket.cork();
    for (let i = 0; i < 32; i++) raw.send(encodeFrame([{ ...vote, id: i + 1 }]));
    socket.uncork();
    await until(() => frames.slice(1).flatMap(messagesOf).length === 32, 5000, '32 responses');
    expect(frames.length - 1).toBeLessThanOrEqual(4);
  });

  it('sends the answers a frame got before a handler closed the connection, then closes', async () => {
    const address = await freeAddress();
    const listener = track(new WebSocketTransport().server());
    await listener.listen(address, (connection) => {
      connection.handler(MessageType.vote, (request) => {
        if (request.term === 2) void connection.close();
        return { status: 'ok', term: request.term, voted: true };
      });
    });
    const { raw, frames } = await rawClient(address);
    const closed = new Promise<number>((resolve) => raw.once('close', resolve));
    raw.send(
      encodeFrame([
        { ...vote, id: 1 },
        { ...vote, term: 2, id: 2 },
      ]),
    );
    expect(await closed).toBe(CloseCode.normal);
    expect(
      frames
        .slice(1)
        .flatMap(messagesOf)
        .map((response) => response.id),
    ).toEqual([1]);
  });

  it('splits a burst into several frames when one would be over the size limit', async () => {
    const limit = 256 * 1024;
    const { address } = await server({ maxFrameSize: limit });
    const connection = await client(address, { maxFrameSize: limit });
    const responses = await Promise.all(
      Array.from({ length: 10 }, () => connection.send(append(limit * 0.4))),
    );
    expect(responses.every((r) => r.status === 'ok')).toBe(true);
    expect(connection.frames).toBeGreaterThanOrEqual(4);
  });
});

describe('frame size limit, incoming', () => {
  it('a peer refuses a frame over its limit before reading it and closes with 1009; it keeps serving others', async () => {
    const { address, accepted } = await server({ maxFrameSize: 1024 * 1024 });
    const big = await client(address); // allows 16 MiB itself
    const other = await client(address, { maxFrameSize: 1024 * 1024 });
    await until(() => accepted.length === 2);
    const serverSide = new Promise<CopycatError | undefined>((resolve) =>
      accepted[0]!.onClose((e) => resolve(e.error)),
    );
    const outcome = await failure(big.send(append(2 * 1024 * 1024), { timeout: 20_000 }));
    expect(outcome).toBeInstanceOf(FrameTooLargeError);
    expect(await serverSide).toBeInstanceOf(FrameTooLargeError);
    expect(await other.send(vote)).toMatchObject({ status: 'ok' });
  });

  it('a client refuses an oversized response the same way', async () => {
    const { address } = await server({}, 2 * 1024 * 1024);
    const connection = await client(address, { maxFrameSize: 1024 * 1024 });
    expect(await failure(connection.send(command(1), { timeout: 20_000 }))).toBeInstanceOf(
      FrameTooLargeError,
    );
    expect(connection.closed).toBe(true);
  });
});

describe('backpressure', () => {
  /** A peer that says hello and then stops reading; `resume()` makes it read and answer. */
  async function slowPeer() {
    const peers: WebSocket[] = [];
    const bare = track(
      await bareServer((ws) => {
        peers.push(ws);
        ws.send(encodeFrame([]));
        ws.pause();
        ws.on('message', (data: Buffer) => {
          const responses: Message[] = messagesOf(new Uint8Array(data)).map((m) => ({
            type: MessageType.response,
            id: m.id,
            status: 'ok',
            term: 1,
            succeeded: true,
            lastLogIndex: 0,
          }));
          ws.send(encodeFrame(responses));
        });
      }),
    );
    return { address: bare.address, resume: () => peers.forEach((ws) => ws.resume()) };
  }

  const highWaterMark = 256 * 1024;
  const chunk = 64 * 1024;

  it("fails fast with BackpressureError ('fail'), and the send buffer stays bounded", async () => {
    const peer = await slowPeer();
    const connection = await client(peer.address, { highWaterMark, backpressure: 'fail' });
    let refused: unknown;
    let maxBuffered = 0;
    const pending: Promise<unknown>[] = [];
    for (let i = 0; i < 2000 && refused === undefined; i++) {
      // Answered or refused, either is fine here; what matters is the buffer and the refusal below.
      pending.push(
        connection.send(append(chunk), { timeout: 30_000 }).then(
          () => {},
          () => {},
        ),
      );
      await sleep(clock, 0);
      if (i % 8 === 0) await sleep(clock, 2); // let the socket write what it can
      maxBuffered = Math.max(maxBuffered, connection.bufferedAmount);
      if (connection.bufferedAmount >= highWaterMark) {
        refused = await failure(connection.send(append(chunk)));
      }
    }
    expect(refused).toBeInstanceOf(BackpressureError);
    expect((refused as Error).message).toMatch(/over its high-water mark/);
    // Bounded: never more than the mark plus one burst of requests.
    expect(maxBuffered).toBeLessThan(highWaterMark + 16 * chunk);
    expect(connection.closed).toBe(false);
    peer.resume();
    await connection.close();
    await Promise.all(pending);
  });

  it("waits ('wait') while the peer does not read, and sends once it does", async () => {
    const peer = await slowPeer();
    const connection = await client(peer.address, { highWaterMark });
    let maxBuffered = 0;
    const responses: Promise<unknown>[] = [];
    for (let i = 0; i < 400; i++) {
      responses.push(connection.send(append(chunk), { timeout: 30_000 }));
      if (i % 16 === 0) await sleep(clock, 1);
      maxBuffered = Math.max(maxBuffered, connection.bufferedAmount);
    }
    await sleep(clock, 50);
    maxBuffered = Math.max(maxBuffered, connection.bufferedAmount);
    expect(maxBuffered).toBeLessThan(highWaterMark + 32 * chunk);
    peer.resume();
    const settled = await Promise.all(responses);
    expect(settled.every((r) => (r as { status: string }).status === 'ok')).toBe(true);
  });

  it('a request still blocked at its timeout fails with BackpressureError: it was never sent', async () => {
    const peer = await slowPeer();
    const connection = await client(peer.address, { highWaterMark });
    const blocked: Promise<unknown>[] = [];
    // Fill the socket until even the operating system's buffers are full and nothing drains.
    for (let i = 0; i < 400 && blocked.length === 0; i++) {
      for (let j = 0; j < 4; j++) void failure(connection.send(append(chunk), { timeout: 30_000 }));
      await sleep(clock, 2);
      if (connection.bufferedAmount >= highWaterMark)
        blocked.push(failure(connection.send(vote, { timeout: 100 })));
    }
    expect(blocked).toHaveLength(1);
    const outcome = await blocked[0];
    expect(outcome).toBeInstanceOf(BackpressureError);
    expect((outcome as Error).message).toMatch(/was not sent/);
    peer.resume();
  });

  it('disconnects a peer that sends requests but never reads the responses', async () => {
    const { address, accepted } = await server({ maxBufferedAmount: 1024 * 1024 }, 256 * 1024);
    const raw = new WebSocket(`ws://${address}/?v=1`);
    cleanups.push(async () => raw.terminate());
    raw.on('error', () => {});
    await new Promise((resolve) => raw.once('message', resolve)); // hello
    raw.pause();
    const closed = until(() => accepted.length === 1).then(
      () => new Promise<CopycatError | undefined>((resolve) => accepted[0]!.onClose((e) => resolve(e.error))),
    );
    for (let i = 1; i <= 200; i++) raw.send(encodeFrame([{ ...command(i), id: i }]));
    const error = await closed;
    expect(error).toBeInstanceOf(BackpressureError);
  });
});

describe('handshake', () => {
  it('refuses another protocol version at the handshake, with a clear reason', async () => {
    const { address } = await server();
    for (const query of ['?v=2', '', `?v=${'9'.repeat(500)}`]) {
      const raw = new WebSocket(`ws://${address}/${query}`);
      const [code, reason] = await new Promise<[number, string]>((resolve) =>
        raw.once('close', (c: number, r: Buffer) => resolve([c, r.toString()])),
      );
      expect(code).toBe(CloseCode.unsupportedVersion);
      expect(reason).toMatch(/unsupported protocol version .*this server speaks 1/);
    }
    expect(await (await client(address)).send(vote)).toMatchObject({ status: 'ok' });
  });

  it('a client refuses a server of another version, or one that is not Copycat', async () => {
    const v2 = track(await bareServer((ws) => ws.send(new Serializer().encode([2]))));
    await expect(client(v2.address)).rejects.toThrow(ProtocolError);
    await expect(client(v2.address)).rejects.toThrow(/protocol version 2/);
    // A long reason (here from a long address) is cut to what a close frame allows, not thrown.
    await expect(client(`ws://${v2.address}/${'é'.repeat(200)}`)).rejects.toThrow(ProtocolError);
    const chatty = track(await bareServer((ws) => ws.send('hello!')));
    await expect(client(chatty.address)).rejects.toThrow(/not a Copycat server/);
  });

  it('the Node client sends the token in a header, not in the URL', async () => {
    const seen: { url: string | undefined; authorization: string | undefined }[] = [];
    const bare = track(
      await bareServer((ws, request) => {
        seen.push({ url: request.url, authorization: request.headers.authorization });
        ws.send(encodeFrame([]));
      }),
    );
    await client(bare.address, { authToken: 's3cret' });
    expect(seen).toEqual([{ url: '/?v=1', authorization: 'Bearer s3cret' }]);
  });

  it('the server accepts the token as a query parameter too (what browsers send)', async () => {
    const { address } = await server({ authToken: 's3cret' });
    const codes: number[] = [];
    for (const token of ['s3cret', 'wrong']) {
      const raw = new WebSocket(`ws://${address}/?v=1&token=${token}`);
      cleanups.push(async () => raw.terminate());
      codes.push(
        await new Promise<number>((resolve) => {
          raw.once('message', () => resolve(0));
          raw.once('close', (code: number) => resolve(code));
        }),
      );
    }
    expect(codes).toEqual([0, CloseCode.unauthorized]);
  });

  it('times out connecting to a server that never answers', async () => {
    const silent = track(await bareServer(() => {})); // upgrades, never says hello
    const started = Date.now();
    const outcome = await failure(client(silent.address, { connectTimeout: 100 }));
    expect(outcome).toBeInstanceOf(ConnectionError);
    expect((outcome as Error).message).toMatch(/timed out after 100 ms/);
    expect(Date.now() - started).toBeLessThan(2000);
  });
});

describe('bad input', () => {
  it('a text message is reported and dropped; the connection stays up', async () => {
    const { address, accepted } = await server();
    const raw = new WebSocket(`ws://${address}/?v=1`);
    cleanups.push(async () => raw.terminate());
    const frames: Uint8Array[] = [];
    raw.on('message', (data: Buffer) => frames.push(new Uint8Array(data)));
    await until(() => frames.length === 1 && accepted.length === 1);
    const errors: CopycatError[] = [];
    accepted[0]!.onError((error) => errors.push(error));
    raw.send('{"type":11}');
    raw.send(encodeFrame([{ ...vote, id: 1 }]));
    await until(() => frames.length === 2);
    expect(messagesOf(frames[1]!)).toMatchObject([{ id: 1, status: 'ok' }]);
    expect(errors.map((e) => e.code)).toEqual(['PROTOCOL_ERROR']);
  });

  it('garbage on the TCP socket (not HTTP, or bad WebSocket framing) never crashes the server', async () => {
    const { address } = await server();
    const [host, port] = [address.split(':')[0]!, Number(address.split(':')[1])];
    const sendRaw = (bytes: Uint8Array) =>
      new Promise<void>((resolve) => {
        const socket = tcpConnect(port, host, () => socket.end(bytes));
        socket.on('error', () => resolve());
        socket.on('close', () => resolve());
        socket.resume();
      });
    // Not HTTP at all.
    for (let i = 0; i < 10; i++)
      await sendRaw(Uint8Array.from({ length: 200 }, (_, j) => (i * 31 + j * 7) % 256));
    // A valid upgrade followed by frames that break WebSocket framing rules (unmasked, bad opcode).
    const upgrade =
      `GET /?v=1 HTTP/1.1\r\nHost: ${address}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
      'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n';
    const upgradeBytes = new TextEncoder().encode(upgrade);
    for (const tail of [
      [0x82, 0x05, 1, 2, 3, 4, 5], // unmasked binary frame
      [0x8f, 0x80, 0, 0, 0, 0], // reserved opcode
      [0xff, 0xff, 0xff, 0xff], // everything set
    ]) {
      await sendRaw(new Uint8Array([...upgradeBytes, ...tail]));
    }
    // Plain HTTP gets a clear answer.
    const response = await fetch(`http://${address}/`);
    expect(response.status).toBe(426);
    // And the server still serves.
    const connection = await client(address);
    expect(await connection.send(vote)).toMatchObject({ status: 'ok' });
  });
});

describe('TLS', () => {
  it('refuses a client that does not trust the certificate, and a client that does not speak TLS', async () => {
    const { key, cert } = selfSignedCertificate();
    const { address } = await server({ tls: { key, cert } });
    await expect(client(address, { tls: {} })).rejects.toBeInstanceOf(ConnectionError);
    await expect(client(address)).rejects.toBeInstanceOf(ConnectionError);
    const connection = await client(address, { tls: { ca: cert } });
    expect(await connection.send(vote)).toMatchObject({ status: 'ok' });
  });

  it('combines TLS with an auth token', async () => {
    const { key, cert } = selfSignedCertificate();
    const { address } = await server({ tls: { key, cert }, authToken: 't' });
    const connection = await client(address, { tls: { ca: cert }, authToken: 't' });
    expect(await connection.send(vote)).toMatchObject({ status: 'ok' });
  });

  it('a TLS server needs a key and a certificate', async () => {
    await expect(
      new WebSocketTransport({ tls: { ca: 'x' } }).server().listen(await freeAddress(), () => {}),
    ).rejects.toBeInstanceOf(ConfigurationError);
  });
});

describe('configuration', () => {
  it('refuses bad options and addresses', async () => {
    expect(() => new WebSocketTransport({ maxFrameSize: 0 })).toThrow(ConfigurationError);
    expect(() => new WebSocketTransport({ highWaterMark: -1 })).toThrow(ConfigurationError);
    expect(() => new WebSocketTransport({ authToken: '' })).toThrow(ConfigurationError);
    expect(() => new WebSocketTransport({ backpressure: 'drop' as 'wait' })).toThrow(ConfigurationError);
    await expect(new WebSocketTransport().server().listen('nowhere', () => {})).rejects.toBeInstanceOf(
      ConfigurationError,
    );
    await expect(new WebSocketTransport().client().connect('not a url at all:')).rejects.toBeInstanceOf(
      ConnectionError,
    );
  });

  it('listening at a port in use fails with ConnectionError', async () => {
    const { address } = await server();
    await expect(new WebSocketTransport().server().listen(address, () => {})).rejects.toThrow(
      /cannot listen at .*EADDRINUSE/,
    );
  });

  it('listens at port 0 and reports the port the system chose', async () => {
    const listener = track(new WebSocketTransport().server());
    await listener.listen('127.0.0.1:0', (c) =>
      c.handler(MessageType.vote, () => ({ status: 'ok', term: 1, voted: true })),
    );
    expect(listener.address).toMatch(/^127\.0\.0\.1:[1-9]\d*$/);
    const connection = await client(listener.address!);
    expect(await connection.send(vote)).toMatchObject({ status: 'ok' });
  });

  it('connects to ws:// URLs as well as host:port', async () => {
    const { address } = await server();
    const connection = await client(`ws://${address}`);
    expect(await connection.send(vote)).toMatchObject({ status: 'ok' });
  });
});
