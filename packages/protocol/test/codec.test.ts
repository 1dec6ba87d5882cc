import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ProtocolError } from '@copycat/common';
import { Serializer } from '@copycat/io';
import {
  FrameBuilder,
  MessageType,
  PROTOCOL_VERSION,
  decodeFrame,
  encodeFrame,
  encodeMessage,
  encodeMessageFrame,
  encodeRequestWithId,
  mergeFrames,
  mergedFrameSize,
  messageFrameSize,
  validateRequest,
  type CommandRequest,
  type Message,
} from '@copycat/protocol';
import { readEnvelope } from '../src/validate.js';
import { SAMPLE_REQUESTS, anyRequest } from './fixtures.js';

const vote = (id: number): Message => ({ ...SAMPLE_REQUESTS[MessageType.vote], id });

/** A step of the FrameBuilder properties: which of three builders, a payload size, whether to take the frame. */
const stepFields = (maxSize: number) => ({
  builder: fc.nat({ max: 2 }),
  size: fc.oneof(fc.nat({ max: 200 }), fc.nat({ max: maxSize })),
  take: fc.boolean(),
});

/**
 * Three builders used at once (as connections gathering frames in the same tick), and the frames
 * taken from them with the messages each must hold.
 */
function threeBuilders() {
  const builders = [new FrameBuilder(), new FrameBuilder(), new FrameBuilder()];
  const added: Message[][] = [[], [], []];
  const frames: { frame: Uint8Array; messages: Message[] }[] = [];
  const take = (i: number) => {
    const expectedSize = builders[i]!.size;
    const frame = builders[i]!.take();
    if (frame === undefined) return expect(added[i]).toEqual([]);
    expect(frame.length).toBe(expectedSize);
    frames.push({ frame, messages: added[i]! });
    added[i] = [];
  };
  /** Takes what is left, then checks that every frame is intact: none was written over. */
  const finish = () => {
    for (let i = 0; i < builders.length; i++) take(i);
    // Compared as Buffers: toEqual walks large typed arrays element by element (slow).
    for (const { frame, messages } of frames)
      expect(Buffer.from(frame).equals(Buffer.from(encodeFrame(messages)))).toBe(true);
  };
  return { builders, added, take, finish };
}

describe('frames', () => {
  it('are one msgpack array: the protocol version, then the messages', () => {
    const frame = encodeFrame([vote(1)]);
    expect([...frame.subarray(0, 2)]).toEqual([0x92, PROTOCOL_VERSION]);
    expect(new Serializer().decode(frame)).toEqual([PROTOCOL_VERSION, vote(1)]);
    expect(encodeMessageFrame(vote(1))).toEqual(frame);
  });

  it('carry several coalesced messages, in order', () => {
    fc.assert(
      fc.property(fc.array(anyRequest, { minLength: 1, maxLength: 20 }), (requests) => {
        const messages: Message[] = requests.map((request, i) => ({ ...request, id: i + 1 }));
        const decoded = decodeFrame(encodeFrame(messages));
        expect(decoded.errors).toEqual([]);
        expect(decoded.messages.map(validateRequest)).toEqual(messages);
      }),
      { numRuns: 100 },
    );
  });

  it('merging one-message frames gives the frame of all their messages, for any count', () => {
    for (const count of [1, 2, 14, 15, 16, 17, 300, 70_000]) {
      const messages = Array.from({ length: count }, (_, i) => vote(i + 1));
      const singles = messages.map(encodeMessageFrame);
      const merged = mergeFrames(singles);
      expect(merged.length, `${count}`).toBe(
        mergedFrameSize(
          count,
          singles.reduce((sum, f) => sum + f.length, 0),
        ),
      );
      // Compared as Buffers: toEqual walks large typed arrays element by element (slow).
      expect(Buffer.from(merged).equals(Buffer.from(encodeFrame(messages))), `${count}`).toBe(true);
    }
  });

  it('a FrameBuilder builds the frame of the messages added, with one copy of each', () => {
    fc.assert(
      fc.property(
        // Several builders at once, with messages from a few bytes to over a slab (64 KiB), taken
        // at random points.
        fc.array(fc.record(stepFields(100_000)), { minLength: 1, maxLength: 60 }),
        (steps) => {
          const { builders, added, take, finish } = threeBuilders();
          steps.forEach(({ builder, size, take: takeNow }, n) => {
            const message: Message = {
              type: MessageType.command,
              id: n + 1,
              session: 1,
              sequence: n,
              operation: new Uint8Array(size).fill(n % 256),
              compaction: 'release',
            };
            // A view of the codec's scratch: added before anything else is encoded.
            const bytes = encodeMessage(message);
            const length = bytes.length;
            const sizeWith = builders[builder]!.sizeWith(length);
            builders[builder]!.add(bytes);
            expect(builders[builder]!.size).toBe(sizeWith);
            expect(messageFrameSize(length)).toBe(encodeMessageFrame(message).length);
            added[builder]!.push(message);
            if (takeNow) take(builder);
          });
          finish();
        },
      ),
      { numRuns: 200 },
    );
  });

  it('a FrameBuilder takes a message encoded in place (encoder) without copying it', () => {
    const builder = new FrameBuilder();
    const writer = builder.encoder()!;
    expect(builder.encoder()).toBeUndefined(); // one at a time
    const bytes = encodeRequestWithId(7, SAMPLE_REQUESTS[MessageType.vote], writer);
    builder.add(bytes);
    builder.encoded();
    expect(builder.encoder()).toBeUndefined(); // messages are gathered: the next ones are copied
    const frame = builder.take()!;
    expect(frame.buffer === bytes.buffer).toBe(true);
    expect(frame.byteOffset + frame.length).toBe(bytes.byteOffset + bytes.length);
    expect(decodeFrame(frame).messages).toEqual([{ ...SAMPLE_REQUESTS[MessageType.vote], id: 7 }]);
    // Room held for a message given up is free again, for any builder: many give-ups, with
    // frames of another builder in between, take no new slab.
    // (Each give-up held 8 KiB: kept, 100 of them would fill a dozen 64 KiB slabs.)
    const other = new FrameBuilder();
    const slabs = new Set<ArrayBufferLike>();
    for (let i = 0; i < 100; i++) {
      encodeRequestWithId(1, SAMPLE_REQUESTS[MessageType.vote], builder.encoder());
      builder.encoded();
      other.add(encodeMessage(vote(8)));
      slabs.add(other.take()!.buffer);
    }
    expect(slabs.size).toBeLessThanOrEqual(2);
  });

  it('room lent for encoding in place is not kept by frames that gather more, nor by odd messages', () => {
    const connect = (client: string) => ({ type: MessageType.connect, client }) as const;
    const slabs = new Set<ArrayBufferLike>();
    // Two connections gathering in the same tick: each frame starts in place, then gathers.
    const [a, b] = [new FrameBuilder(), new FrameBuilder()];
    for (let i = 0; i < 100; i++) {
      for (const builder of [a, b, a, b]) {
        const writer = builder.encoder();
        builder.add(encodeRequestWithId(i + 1, connect('plain'), writer));
        if (writer !== undefined) builder.encoded();
      }
      slabs.add(a.take()!.buffer);
      slabs.add(b.take()!.buffer);
    }
    // ~100 KiB of frames (gathered frames move to room of their own as they grow): a few slabs.
    // Were the 8 KiB lent kept until the frame is taken, 100 rounds would fill 15.
    expect(slabs.size).toBeLessThanOrEqual(4);
    // A message only the generic path writes (a lone surrogate) is still written in place.
    slabs.clear();
    for (let i = 0; i < 100; i++) {
      const bytes = encodeRequestWithId(i + 1, connect('x\ud800'), a.encoder());
      a.add(bytes);
      a.encoded();
      const frame = a.take()!;
      expect(frame.buffer === bytes.buffer).toBe(true);
      expect(decodeFrame(frame).messages).toEqual([{ ...connect('x\ud800'), id: i + 1 }]);
      slabs.add(frame.buffer);
    }
    expect(slabs.size).toBeLessThanOrEqual(2);
  });

  it('a FrameBuilder keeps frames intact whatever is encoded in place, given up, outgrows its room or is sent meanwhile', () => {
    type Mode = 'copy' | 'in place' | 'given up' | 'nested';
    fc.assert(
      fc.property(
        fc.array(
          fc.record({
            ...stepFields(20_000),
            mode: fc.constantFrom<Mode>('copy', 'in place', 'given up', 'nested'),
          }),
          { minLength: 1, maxLength: 60 },
        ),
        (steps) => {
          const { builders, added, take, finish } = threeBuilders();
          let id = 0;
          const command = (size: number): CommandRequest => ({
            type: MessageType.command,
            id: ++id,
            session: 1,
            sequence: id,
            operation: new Uint8Array(size).fill(id % 256),
            compaction: 'release',
          });
          steps.forEach(({ builder: i, size, mode, take: takeNow }) => {
            const builder = builders[i]!;
            const message = command(size);
            if (mode === 'copy') {
              builder.add(encodeMessage(message));
              added[i]!.push(message);
            } else {
              const writer = builder.encoder();
              let request: CommandRequest = message;
              if (mode === 'nested') {
                // A getter read halfway through the encoding sends another message meanwhile,
                // on the same builder (and takes its frame when asked).
                const other = command(size);
                request = {
                  ...message,
                  get session() {
                    builder.add(encodeMessage(other));
                    added[i]!.push(other);
                    if (takeNow) take(i);
                    return 1;
                  },
                };
              }
              const bytes = encodeRequestWithId(message.id, request, writer);
              if (mode !== 'given up') {
                builder.add(bytes);
                added[i]!.push(message);
              }
              if (writer !== undefined) builder.encoded();
            }
            if (takeNow) take(i);
          });
          finish();
        },
      ),
      { numRuns: 300 },
    );
  });

  it('a FrameBuilder forgets what clear() drops, and holds many messages', () => {
    const builder = new FrameBuilder();
    builder.add(encodeMessage(vote(1)));
    builder.clear();
    expect(builder.messages).toBe(0);
    expect(builder.take()).toBeUndefined();
    const messages = Array.from({ length: 70_000 }, (_, i) => vote(i + 1));
    for (const message of messages) builder.add(encodeMessage(message));
    expect(builder.messages).toBe(70_000);
    expect(Buffer.from(builder.take()!).equals(Buffer.from(encodeFrame(messages)))).toBe(true);
  });

  it('a frame of only the version carries no message (a hello)', () => {
    expect(decodeFrame(encodeFrame([]))).toEqual({ messages: [], errors: [] });
    expect([...encodeFrame([])]).toEqual([0x91, PROTOCOL_VERSION]);
  });

  it('a truncated frame is refused with a ProtocolError', () => {
    const frame = encodeFrame([vote(1), vote(2)]);
    for (let cut = frame.length - 1; cut >= 0; cut--) {
      const { messages, errors } = decodeFrame(frame.subarray(0, cut));
      expect(messages).toEqual([]);
      expect(errors).toHaveLength(1);
      expect(errors[0]).toBeInstanceOf(ProtocolError);
    }
  });

  it('a frame of another protocol version is refused clearly', () => {
    const serializer = new Serializer();
    const { messages, errors } = decodeFrame(serializer.encode([2, vote(1)]));
    expect(messages).toEqual([]);
    expect(errors[0]!.message).toMatch(/unsupported protocol version 2 \(this side speaks 1\)/);
    expect(decodeFrame(serializer.encode(vote(1))).errors[0]!.message).toMatch(
      /must be an array \[version, \.\.\.messages\]/,
    );
    expect(decodeFrame(serializer.encode([])).errors).toHaveLength(1);
  });

  it('random bytes never throw: they decode to errors or to values the envelope check refuses', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), fc.boolean(), (bytes, withVersion) => {
        const frame = withVersion ? new Uint8Array([0x92, PROTOCOL_VERSION, ...bytes]) : bytes;
        const { messages, errors } = decodeFrame(frame);
        expect(errors.every((e) => e instanceof ProtocolError)).toBe(true);
        for (const message of messages) {
          const envelope = readEnvelope(message);
          if (envelope.kind === 'request') {
            try {
              validateRequest(message);
            } catch (error) {
              expect(error).toBeInstanceOf(ProtocolError);
            }
          }
        }
      }),
      { numRuns: 500 },
    );
  });

  it('random valid-looking messages (msgpack of arbitrary values) never throw anything but ProtocolError', () => {
    fc.assert(
      fc.property(fc.anything(), fc.constantFrom(...Object.values(MessageType)), (value, type) => {
        const candidate = typeof value === 'object' && value !== null ? { ...value, type, id: 1 } : value;
        let frame: Uint8Array;
        try {
          frame = encodeFrame([candidate as Message]);
        } catch {
          return; // not encodable (e.g. a class instance fast-check made up): nothing to send
        }
        for (const message of decodeFrame(frame).messages) {
          try {
            validateRequest(message);
          } catch (error) {
            expect(error).toBeInstanceOf(ProtocolError);
          }
        }
      }),
      { numRuns: 300 },
    );
  });
});

describe('readEnvelope', () => {
  it('classifies requests, responses and the rest', () => {
    expect(readEnvelope(vote(4))).toEqual({ kind: 'request', type: MessageType.vote, id: 4 });
    expect(readEnvelope({ type: MessageType.response, id: 4 })).toEqual({ kind: 'response', id: 4 });
    expect(readEnvelope({ type: 77, id: 4 })).toEqual({
      kind: 'unknown',
      problem: 'unknown message type 77',
      id: 4,
    });
    expect(readEnvelope({ type: MessageType.vote })).toMatchObject({ kind: 'unknown', id: undefined });
    expect(readEnvelope([1, 2])).toMatchObject({ kind: 'unknown', problem: 'a message must be an object' });
  });
});
