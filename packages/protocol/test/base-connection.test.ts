import { describe, expect, expectTypeOf, it } from 'vitest';
import {
  ClosedError,
  ConfigurationError,
  ConnectionError,
  type CopycatError,
  NoLeaderError,
  ProtocolError,
  SystemScheduler,
  TimeoutError,
  sleep,
} from '@copycat/common';
import {
  MessageType,
  errorResponse,
  responseError,
  type AppendResponse,
  type OutgoingRequest,
  type ResponseFor,
  type VoteRequest,
  type VoteResponse,
} from '@copycat/protocol';
import { SAMPLE_REQUESTS, SAMPLE_RESPONSES } from './fixtures.js';
import { inPlacePipe, pipe } from './pipe.js';

const scheduler = new SystemScheduler();
const vote = SAMPLE_REQUESTS[MessageType.vote];
const append = SAMPLE_REQUESTS[MessageType.append];

function collectErrors(connection: {
  onError(listener: (error: CopycatError) => void): unknown;
}): CopycatError[] {
  const errors: CopycatError[] = [];
  connection.onError((error) => errors.push(error));
  return errors;
}

describe('BaseConnection', () => {
  it('types flow from the request to its response', async () => {
    const [a, b] = pipe(scheduler);
    b.handler(MessageType.vote, (request) => {
      expectTypeOf(request).toEqualTypeOf<VoteRequest>();
      return { status: 'ok', term: request.term, voted: true };
    });
    const response = await a.send(vote);
    expectTypeOf(response).toEqualTypeOf<VoteResponse>();
    expectTypeOf<ResponseFor<VoteRequest>>().toEqualTypeOf<VoteResponse>();
    expectTypeOf<ResponseFor<typeof MessageType.append>>().toEqualTypeOf<AppendResponse>();
    expect(response).toEqual({
      type: MessageType.response,
      id: 1,
      status: 'ok',
      term: vote.term,
      voted: true,
    });
    if (response.status === 'ok') expectTypeOf(response.voted).toEqualTypeOf<boolean>();
    // @ts-expect-error a vote request needs a candidate
    const missing: OutgoingRequest = { type: MessageType.vote, term: 1, lastLogIndex: 0, lastLogTerm: 0 };
    expect(missing.type).toBe(MessageType.vote);
    await a.close();
  });

  it('answers a CopycatError thrown by a handler with an error response carrying its code', async () => {
    const [a, b] = pipe(scheduler);
    b.handler(MessageType.vote, () => {
      throw new NoLeaderError('no leader yet');
    });
    b.handler(MessageType.poll, () => errorResponse(new NoLeaderError('ask b'), { leader: 'b', term: 3 }));
    const response = await a.send(vote);
    expect(response).toMatchObject({
      status: 'error',
      error: { code: 'NO_LEADER', message: 'no leader yet' },
    });
    if (response.status !== 'error') throw new Error('expected an error response');
    expect(responseError(response)).toBeInstanceOf(NoLeaderError);
    expect(await a.send(SAMPLE_REQUESTS[MessageType.poll])).toMatchObject({
      status: 'error',
      leader: 'b',
      term: 3,
    });
    await a.close();
  });

  it('answers any other throw (or rejection) with INTERNAL_ERROR, reports it, and stays up', async () => {
    const [a, b] = pipe(scheduler);
    const errors = collectErrors(b);
    b.handler(MessageType.vote, () => {
      throw new TypeError('oops');
    });
    b.handler(MessageType.append, async () => Promise.reject(new Error('async oops')));
    expect(await a.send(vote)).toMatchObject({
      status: 'error',
      error: { code: 'INTERNAL_ERROR', message: 'vote handler failed: oops' },
    });
    expect(await a.send(append)).toMatchObject({ status: 'error', error: { code: 'INTERNAL_ERROR' } });
    expect(errors.map((e) => e.code)).toEqual(['INTERNAL_ERROR', 'INTERNAL_ERROR']);
    expect(a.closed || b.closed).toBe(false);
    await a.close();
  });

  it('answers INTERNAL_ERROR when a handler returns a malformed response', async () => {
    const [a, b] = pipe(scheduler);
    const errors = collectErrors(b);
    b.handler(MessageType.vote, () => ({ status: 'ok', term: -1, voted: true }));
    expect(await a.send(vote)).toMatchObject({ status: 'error', error: { code: 'INTERNAL_ERROR' } });
    expect(errors[0]?.message).toMatch(/vote handler returned an invalid response: vote response\.term/);
    await a.close();
  });

  it('answers INTERNAL_ERROR when a handler returns an error response with an unknown code', async () => {
    const [a, b] = pipe(scheduler);
    const errors = collectErrors(b);
    b.handler(MessageType.vote, () => ({
      status: 'error',
      error: { code: 'OOPS' as 'NO_LEADER', message: 'x' },
    }));
    expect(await a.send(vote)).toMatchObject({ status: 'error', error: { code: 'INTERNAL_ERROR' } });
    expect(errors[0]?.message).toMatch(/error\.code must be one of/);
    await a.close();
  });

  it('answers a request without a handler with PROTOCOL_ERROR', async () => {
    const [a] = pipe(scheduler);
    expect(await a.send(vote)).toMatchObject({
      status: 'error',
      error: { code: 'PROTOCOL_ERROR', message: 'no handler for vote requests' },
    });
    await a.close();
  });

  it('refuses a handler for what is not a request type, naming it', async () => {
    const [a] = pipe(scheduler);
    const handle = () => ({ status: 'ok' as const, term: 1, voted: true });
    for (const type of [MessageType.response, 99, -1, 1.5, Number.NaN] as const) {
      expect(() => a.handler(type as typeof MessageType.vote, handle)).toThrow(ConfigurationError);
    }
    expect(() => a.handler(99 as typeof MessageType.vote, handle)).toThrow(
      'cannot handle 99: not a request type',
    );
    await a.close();
  });

  it('keeps its own envelope: a request or a response body carrying type or id fields does not change it', async () => {
    const [a, b] = pipe(scheduler);
    // A handler that echoes what it got back into its answer, envelope fields included.
    b.handler(MessageType.vote, (request) => ({ ...request, status: 'ok', voted: true }));
    const stray = { ...vote, id: 99 } as unknown as OutgoingRequest;
    const responses = await Promise.all([a.send(vote), a.send(stray)]);
    expect(responses.map((response) => response.id)).toEqual([1, 2]);
    expect(responses.every((response) => response.type === MessageType.response)).toBe(true);
    expect(a.sent.map((request) => request.id)).toEqual([1, 2]);
    expect(b.sent.map((response) => [response.type, response.id])).toEqual([
      [MessageType.response, 1],
      [MessageType.response, 2],
    ]);
    await a.close();
  });

  it('sends the own fields of a request or answer that is not a plain object (a class instance)', async () => {
    class VoteAnswer {
      readonly status = 'ok' as const;
      constructor(
        readonly term: number,
        readonly voted: boolean,
      ) {}
    }
    class Vote {
      readonly type = MessageType.vote;
      constructor(
        readonly term: number,
        readonly candidate: string,
        readonly lastLogIndex = 0,
        readonly lastLogTerm = 0,
      ) {}
    }
    const [a, b] = pipe(scheduler);
    b.handler(MessageType.vote, (request) => new VoteAnswer(request.term, true));
    const response = await a.send(new Vote(3, 'c'));
    expect(response).toEqual({ type: MessageType.response, id: 1, status: 'ok', term: 3, voted: true });
    expect(a.sent).toEqual([
      { type: MessageType.vote, id: 1, term: 3, candidate: 'c', lastLogIndex: 0, lastLogTerm: 0 },
    ]);
    await a.close();
  });

  it('answers malformed requests and unknown types with PROTOCOL_ERROR when their id is readable', async () => {
    const [a, b] = pipe(scheduler);
    const errors = collectErrors(b);
    b.inject({ type: MessageType.vote, id: 41, term: 'three' });
    b.inject({ type: 250, id: 42 });
    b.inject({ type: MessageType.vote }); // no id: nobody to answer
    b.inject('garbage');
    await sleep(scheduler, 5);
    expect(b.sent).toEqual([
      {
        type: MessageType.response,
        id: 41,
        status: 'error',
        error: {
          code: 'PROTOCOL_ERROR',
          message: 'vote request.term must be a non-negative integer, got a string',
        },
      },
      {
        type: MessageType.response,
        id: 42,
        status: 'error',
        error: { code: 'PROTOCOL_ERROR', message: 'unknown message type 250' },
      },
    ]);
    expect(errors).toHaveLength(4);
    expect(errors.every((e) => e instanceof ProtocolError)).toBe(true);
    expect(b.closed).toBe(false);
    await a.close();
  });

  it('rejects a malformed response with ProtocolError', async () => {
    const [a, b] = pipe(scheduler);
    b.handler(MessageType.vote, () => ({ status: 'ok', term: 1, voted: true }));
    const pending = a.send(vote, { timeout: 1000 });
    a.inject({ type: MessageType.response, id: 1, status: 'ok', term: 1 }); // beats the real answer
    await expect(pending).rejects.toThrow(/vote response\.voted is missing/);
    await a.close();
  });

  it('refuses to send a malformed request, without sending anything', async () => {
    const [a] = pipe(scheduler);
    await expect(a.send({ ...vote, term: -3 })).rejects.toBeInstanceOf(ProtocolError);
    await expect(a.send({ type: 99 } as unknown as OutgoingRequest)).rejects.toThrow(
      /unknown message type 99/,
    );
    expect(a.sent).toEqual([]);
    await a.close();
  });

  it('fails pending requests in the order they were sent, on a close and on timeouts due together', async () => {
    for (const how of ['close', 'timeout'] as const) {
      const [a, b] = pipe(scheduler);
      b.handler(MessageType.vote, () => ({ status: 'ok', term: 1, voted: true }));
      // Ids 1..6 answered: the next ones (7, 8, 9) wrap around the table's first 8 slots.
      for (let i = 0; i < 6; i++) await a.send(vote);
      b.handler(MessageType.vote, () => new Promise<never>(() => {}));
      const failed: number[] = [];
      const options = how === 'timeout' ? { timeout: 0 } : {};
      const sent = [0, 1, 2].map((i) => a.send(vote, options).catch(() => void failed.push(i)));
      if (how === 'close') {
        await sleep(scheduler, 5);
        await a.close();
      }
      await Promise.all(sent);
      expect(failed).toEqual([0, 1, 2]);
      await a.close();
      await b.close();
    }
  });

  it('never throws from send: a bad timeout, or a scheduler that fails, rejects that request alone', async () => {
    const [a, b] = pipe(scheduler);
    b.handler(MessageType.vote, () => ({ status: 'ok', term: 1, voted: true }));
    for (const timeout of [Number.NaN, -1, Infinity, 2 ** 31]) {
      let sent: Promise<unknown> | undefined;
      expect(() => (sent = a.send(vote, { timeout }))).not.toThrow();
      await expect(sent).rejects.toThrow(ConfigurationError);
    }
    expect(a.pendingRequests).toBe(0);
    await a.close();
    await b.close();

    // A scheduler that cannot arm the timeout: the request fails, nothing is left pending, and a
    // later close rejects no promise that nobody listens to.
    let failing = true;
    const broken = {
      now: () => scheduler.now(),
      random: () => scheduler.random(),
      schedule: (delay: number, task: () => void) => {
        if (failing) throw new RangeError('no timers today');
        return scheduler.schedule(delay, task);
      },
      scheduleAtFixedRate: (delay: number, period: number, task: () => void) =>
        scheduler.scheduleAtFixedRate(delay, period, task),
    };
    const [c, d] = pipe(broken);
    d.handler(MessageType.vote, () => ({ status: 'ok', term: 1, voted: true }));
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => unhandled.push(reason);
    process.on('unhandledRejection', onUnhandled);
    try {
      await expect(c.send(vote)).rejects.toMatchObject({
        message: expect.stringContaining('no timers today'),
      });
      expect(c.pendingRequests).toBe(0);
      failing = false;
      expect(await c.send(vote)).toMatchObject({ status: 'ok' });
      await c.close();
      await sleep(scheduler, 20);
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
    expect(unhandled).toEqual([]);
    await d.close();
  });

  it('settles requests sent from inside the encoding of another, with others pending', async () => {
    for (const make of [pipe, inPlacePipe]) {
      for (const [inner, before] of [
        [1, 0],
        [7, 2],
        [9, 6],
        [40, 7],
      ] as const) {
        const [a, b] = make(scheduler);
        const held: (() => void)[] = [];
        b.handler(MessageType.vote, (request) =>
          request.term >= 5000
            ? new Promise((resolve) =>
                held.push(() => resolve({ status: 'ok', term: request.term, voted: true })),
              )
            : { status: 'ok', term: request.term, voted: true },
        );
        for (let i = 0; i < 5; i++) await a.send({ ...vote, term: 1000 + i });
        const hanging = Array.from({ length: before }, (_, i) => a.send({ ...vote, term: 5000 + i }));
        await sleep(scheduler, 5);
        const nested: Promise<VoteResponse>[] = [];
        const outer = {
          ...vote,
          term: 77,
          get candidate() {
            if (nested.length === 0) {
              for (let i = 0; i < inner; i++) nested.push(a.send({ ...vote, term: 100 + i }));
            }
            return 'c';
          },
        };
        const outerResponse = a.send(outer);
        const terms = (responses: VoteResponse[]) =>
          responses.map((response) => (response.status === 'ok' ? response.term : -1));
        expect(terms(await Promise.all(nested))).toEqual(nested.map((_, i) => 100 + i));
        expect(terms([await outerResponse])).toEqual([77]);
        held.forEach((release) => release());
        expect(terms(await Promise.all(hanging))).toEqual(hanging.map((_, i) => 5000 + i));
        expect(a.pendingRequests).toBe(0);
        await a.close();
        await b.close();
      }
    }
  });

  it('times out with TimeoutError and ignores the late response', async () => {
    const [a, b] = pipe(scheduler);
    b.handler(MessageType.vote, async () => {
      await sleep(scheduler, 60);
      return { status: 'ok', term: 1, voted: false };
    });
    const started = Date.now();
    await expect(a.send(vote, { timeout: 20 })).rejects.toBeInstanceOf(TimeoutError);
    expect(Date.now() - started).toBeLessThan(55);
    await sleep(scheduler, 60);
    expect(a.pendingRequests).toBe(0);
    expect(a.closed).toBe(false);
    await a.close();
  });

  it('hands requests to handlers in arrival order, and matches responses that come back in any order', async () => {
    const [a, b] = pipe(scheduler);
    const seen: number[] = [];
    b.handler(MessageType.append, async (request) => {
      seen.push(request.prevLogIndex);
      await sleep(scheduler, 30 - request.prevLogIndex * 3); // later requests answer first
      return { status: 'ok', term: request.term, succeeded: true, lastLogIndex: request.prevLogIndex };
    });
    const responses = await Promise.all(
      Array.from({ length: 10 }, (_, i) => a.send({ ...append, prevLogIndex: i })),
    );
    expect(seen).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(responses.map((r) => (r.status === 'ok' ? r.lastLogIndex : -1))).toEqual([
      0, 1, 2, 3, 4, 5, 6, 7, 8, 9,
    ]);
    await a.close();
  });

  it('replaces an oversized response with a FRAME_TOO_LARGE error response', async () => {
    const [a, b] = pipe(scheduler, 1024);
    b.handler(MessageType.command, () => ({
      ...SAMPLE_RESPONSES[MessageType.command],
      result: new Uint8Array(4096),
    }));
    expect(await a.send(SAMPLE_REQUESTS[MessageType.command])).toMatchObject({
      status: 'error',
      error: { code: 'FRAME_TOO_LARGE' },
    });
    await expect(a.send({ ...append, entries: new Uint8Array(4096) })).rejects.toMatchObject({
      code: 'FRAME_TOO_LARGE',
    });
    expect(a.closed).toBe(false);
    await a.close();
  });

  it('gives up every writer a transport lends for encoding in place, whatever becomes of the message', async () => {
    const [a, b] = inPlacePipe(scheduler, 2048);
    b.handler(MessageType.vote, (request) =>
      request.term === 2
        ? ({ status: 'ok', term: 'x' } as never)
        : { status: 'ok', term: request.term, voted: true },
    );
    b.handler(MessageType.command, () => ({
      ...SAMPLE_RESPONSES[MessageType.command],
      result: new Uint8Array(4096), // over the frame limit: answered with FRAME_TOO_LARGE
    }));
    b.handler(MessageType.append, (request) => ({
      status: 'ok',
      term: 1,
      succeeded: true,
      lastLogIndex: request.entries.length, // a request bigger than the room lent: moved out of it
    }));
    expect(await a.send(vote)).toMatchObject({ status: 'ok', voted: true });
    expect(await a.send({ ...vote, term: 2 })).toMatchObject({ error: { code: 'INTERNAL_ERROR' } });
    expect(await a.send(SAMPLE_REQUESTS[MessageType.command])).toMatchObject({
      error: { code: 'FRAME_TOO_LARGE' },
    });
    expect(await a.send({ ...append, entries: new Uint8Array(1500) })).toMatchObject({ lastLogIndex: 1500 });
    await expect(a.send({ ...vote, term: -1 })).rejects.toBeInstanceOf(ProtocolError);
    await expect(a.send({ ...append, entries: new Uint8Array(4096) })).rejects.toMatchObject({
      code: 'FRAME_TOO_LARGE',
    });
    expect([a.given, b.given]).toEqual([6, 5]); // b: the FRAME_TOO_LARGE answer is a second message
    expect([a.done, b.done]).toEqual([a.given, b.given]);
    await a.close();
  });

  it('close rejects pending requests with ClosedError; the peer sees ConnectionError; send after close is ClosedError', async () => {
    const [a, b] = pipe(scheduler);
    b.handler(MessageType.vote, () => new Promise(() => {}));
    a.handler(MessageType.publish, () => new Promise(() => {}));
    const closes: unknown[] = [];
    b.onClose((event) => closes.push(event.error));
    const fromA = a.send(vote);
    const fromB = b.send(SAMPLE_REQUESTS[MessageType.publish]);
    await sleep(scheduler, 5);
    await a.close();
    await expect(fromA).rejects.toBeInstanceOf(ClosedError);
    await expect(fromB).rejects.toBeInstanceOf(ConnectionError);
    expect(closes).toHaveLength(1);
    expect(closes[0]).toBeInstanceOf(ConnectionError);
    await expect(a.send(vote)).rejects.toBeInstanceOf(ClosedError);
    await a.close(); // idempotent
  });

  it('tells a listener added after the close, asynchronously', async () => {
    const [a] = pipe(scheduler);
    await a.close();
    let heard: unknown = 'nothing';
    a.onClose((event) => (heard = event.error));
    expect(heard).toBe('nothing');
    await sleep(scheduler, 5);
    expect(heard).toBeUndefined();
  });
});
