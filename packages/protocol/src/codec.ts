/**
 * Frames: what a transport sends as one unit (one WebSocket message, one local delivery).
 *
 * A frame is one msgpack array: `[version, message, message, ...]`. The leading version lets a
 * peer of another protocol version be refused clearly rather than misread; several messages let
 * a transport coalesce the messages queued in one tick. A frame of only the version carries no
 * message (the WebSocket transport uses it as its hello).
 *
 * The layout is chosen so that messages need no re-encoding to be framed: a one-message frame
 * is exactly what the encoder produces for `[version, message]`, and a frame of n messages is an
 * array header, the version and the n encodings one after the other. `FrameBuilder` (what the
 * WebSocket transport sends with) appends each message's encoding to the frame it is building,
 * once, and writes the header when the frame is taken; `mergeFrames` does the same for frames
 * that were encoded one by one.
 */
import { ProtocolError } from '@copycat/common';
import { MsgpackWriter, Serializer, copyInto, viewOf } from '@copycat/io';
import { isPlainObject, show } from './schema.js';
import { type Message } from './messages/index.js';

export const PROTOCOL_VERSION = 1;
/** The default limit on a frame's size: 16 MiB. */
export const DEFAULT_MAX_FRAME_SIZE = 16 * 1024 * 1024;

// Protocol messages hold only plain data (numbers, strings, booleans, arrays, objects, bytes):
// user values are already bytes inside them, encoded by the user's serializer.
const serializer = new Serializer();

/** Bytes before the message in a one-message frame: msgpack "array of 2" and the version. */
const SINGLE_PREFIX = 2;

/** A frame holding the given messages (none: a hello). */
export function encodeFrame(messages: readonly Message[]): Uint8Array {
  return serializer.encode([PROTOCOL_VERSION, ...messages]);
}

/** A frame holding one message: the unit transports queue, and what `mergeFrames` combines. */
export function encodeMessageFrame(message: Message): Uint8Array {
  return serializer.encode([PROTOCOL_VERSION, message]);
}

/**
 * The msgpack encoding of one message (not a frame), as a view of the codec's scratch buffer:
 * valid only until the next encoding by this module, so copy it at once (`FrameBuilder.add`, or
 * `slice()` to keep it). Saves allocating an array per message, which costs more than encoding
 * a small one.
 */
export function encodeMessage(message: Message): Uint8Array {
  return serializer.encodeShared(message);
}

/** The frame holding only the message whose encoding is `encoded` (copied into it). */
export function messageFrame(encoded: Uint8Array): Uint8Array {
  const frame = allocate(SINGLE_PREFIX + encoded.length);
  frame[0] = 0x92; // msgpack: an array of 2
  frame[1] = PROTOCOL_VERSION;
  frame.set(encoded, SINGLE_PREFIX);
  return frame;
}

/** The size of the frame holding only a message whose encoding (`encodeMessage`) has `length` bytes. */
export function messageFrameSize(length: number): number {
  return SINGLE_PREFIX + length;
}

/** The size of a frame of `count` messages whose encodings total `bodyBytes`. */
function frameSize(count: number, bodyBytes: number): number {
  return arrayHeaderSize(count + 1) + 1 + bodyBytes;
}

/** Bytes of msgpack's array header for `count` items. */
function arrayHeaderSize(count: number): number {
  return count < 16 ? 1 : count < 0x10000 ? 3 : 5;
}

/** The size of the frame `mergeFrames` makes of one-message frames of these sizes in total. */
export function mergedFrameSize(frames: number, totalBytes: number): number {
  if (frames === 1) return totalBytes;
  return frameSize(frames, totalBytes - frames * SINGLE_PREFIX);
}

/** One frame with the messages of several one-message frames (from `encodeMessageFrame`), in order. */
export function mergeFrames(frames: readonly Uint8Array[]): Uint8Array {
  if (frames.length === 1) return frames[0]!;
  let total = 0;
  for (const frame of frames) total += frame.length;
  const merged = allocate(mergedFrameSize(frames.length, total));
  let offset = writeArrayHeader(merged, 0, frames.length + 1);
  merged[offset++] = PROTOCOL_VERSION;
  for (const frame of frames) {
    merged.set(frame.subarray(SINGLE_PREFIX), offset);
    offset += frame.length - SINGLE_PREFIX;
  }
  return merged;
}

/** Writes msgpack's header for an array of `count` items at `offset`; returns the offset after it. */
function writeArrayHeader(bytes: Uint8Array, offset: number, count: number): number {
  if (count < 16) {
    bytes[offset++] = 0x90 | count;
  } else if (count < 0x10000) {
    bytes[offset++] = 0xdc;
    bytes[offset++] = count >>> 8;
    bytes[offset++] = count & 0xff;
  } else {
    bytes[offset++] = 0xdd;
    bytes[offset++] = count >>> 24;
    bytes[offset++] = (count >>> 16) & 0xff;
    bytes[offset++] = (count >>> 8) & 0xff;
    bytes[offset++] = count & 0xff;
  }
  return offset;
}

/** Room left before the version byte of a frame being built: the longest array header. */
const HEADER_ROOM = 5;
/** Size of the slabs `FrameBuilder`s carve frames from. */
const SLAB_SIZE = 64 * 1024;
const EMPTY: Uint8Array = new Uint8Array(0);
/** Room held for a message encoded in place (`FrameBuilder.encoder`); a bigger one moves out. */
const ENCODE_ROOM = 8 * 1024;

/**
 * The slab frames are carved from, shared by every `FrameBuilder` of the process: bump
 * allocation, no bookkeeping. A slab is garbage once the frames cut from it are (once written
 * to the socket), and a new one starts when the current one is full.
 */
const pool: { slab: Uint8Array; used: number } = { slab: EMPTY, used: 0 };

/**
 * Builds outgoing frames with one copy per message and no allocation per frame: each message's
 * encoding (from `encodeMessage`) is copied once into the frame being built, in a slab shared by
 * every builder, and `take()` writes the array header in front and returns a view of the slab.
 *
 * The frame being built grows in place while nobody else carves from the slab after it; when
 * another builder does (two connections gathering frames in the same tick), it moves to fresh
 * room with space to spare, so it moves a few times per frame at most.
 *
 * A taken frame is never written to again, but it shares its slab with other frames: hand it to
 * something that writes it out (a socket), not to something that keeps it for long.
 */
export class FrameBuilder {
  private slab = EMPTY;
  /** Where the frame being built starts: `HEADER_ROOM` bytes, then the version, then messages. */
  private start = 0;
  /** End of the last message added. */
  private end = 0;
  /** End of the room this builder holds in its slab. */
  private limit = 0;
  private count = 0;
  /** Encodes messages in place (see `encoder`). */
  private readonly writer = new MsgpackWriter(0);
  /** Where the message being encoded in place starts in `slab`, or -1 when none is. */
  private encodingAt = -1;

  /** Messages in the frame being built. */
  get messages(): number {
    return this.count;
  }

  /** Size of the frame `take()` would return (0 if there are no messages). */
  get size(): number {
    return this.count === 0 ? 0 : frameSize(this.count, this.bodyBytes);
  }

  /** Size of the frame with one more message whose encoding has `length` bytes. */
  sizeWith(length: number): number {
    return frameSize(this.count + 1, this.bodyBytes + length);
  }

  /**
   * A writer that encodes the next message straight into the frame this builder would start
   * with it, so that `add`, given what it wrote, takes it without copying it; `undefined` when
   * that cannot be (messages are gathered already, or one is being encoded in place). Each
   * writer given is followed by `encoded()` once its message was added or given up.
   */
  encoder(): MsgpackWriter | undefined {
    if (this.count > 0 || this.encodingAt >= 0) return undefined;
    this.hold(HEADER_ROOM + 1 + ENCODE_ROOM, 0);
    this.encodingAt = this.start + HEADER_ROOM + 1;
    this.writer.writeInto(this.slab, this.encodingAt, this.limit);
    return this.writer;
  }

  /** The message of `encoder()` was added or given up: room held for nothing is free again. */
  encoded(): void {
    if (this.encodingAt < 0) return;
    this.encodingAt = -1;
    if (this.count === 0) this.release();
  }

  /**
   * Appends a message's encoding: copied (`message` may be reused afterwards), unless it is what
   * the writer of `encoder()` wrote in place.
   */
  add(message: Uint8Array): void {
    const length = message.length;
    if (this.encodingAt >= 0 && this.count === 0) {
      const at = this.encodingAt;
      if (this.writer.isLastWritten(message) && this.writer.buffer === this.slab) {
        // Written in place (and within the room: a bigger one moves out of it): only the
        // version goes in front.
        this.end = at - 1;
        this.slab[this.end++] = PROTOCOL_VERSION;
        this.end += length;
        this.count = 1;
        // The frame may gather more messages before it is taken: the room it did not use goes
        // back now (unless someone carved after it), and it grows on demand like any other.
        if (this.slab === pool.slab && this.limit === pool.used) pool.used = this.limit = this.end;
        return;
      }
      // Another message, sent while the one in place is being encoded (by a getter of it): it
      // must not land where that one is still being written. The room stays carved, unused.
      if (this.writer.buffer === this.slab) this.detach();
    }
    if (this.count === 0) {
      this.hold(HEADER_ROOM + 1 + length, 0);
      this.end = this.start + HEADER_ROOM;
      this.slab[this.end++] = PROTOCOL_VERSION;
    } else if (this.end + length > this.limit) {
      const used = this.end - this.start;
      this.hold(used + length, used);
    }
    copyInto(this.slab, message, this.end);
    this.end += length;
    this.count++;
  }

  /** The frame of the messages added since the last `take()`, or `undefined` if there are none. */
  take(): Uint8Array | undefined {
    if (this.count === 0) return undefined;
    const versionAt = this.start + HEADER_ROOM;
    const count = this.count + 1;
    const from = versionAt - arrayHeaderSize(count);
    writeArrayHeader(this.slab, from, count);
    const frame = viewOf(this.slab, from, this.end);
    this.release();
    return frame;
  }

  /** Lets go of the room held without giving it back to the slab. */
  private detach(): void {
    this.slab = EMPTY;
    this.start = this.end = this.limit = 0;
  }

  /** Drops the messages added since the last `take()`. */
  clear(): void {
    if (this.count > 0) this.release();
  }

  /** Bytes of the messages added since the last `take()`. */
  private get bodyBytes(): number {
    return this.count === 0 ? 0 : this.end - this.start - HEADER_ROOM - 1;
  }

  /**
   * Makes the room held at least `size` bytes from `start`, keeping its first `keep` bytes: in
   * place if nobody carved from the slab since, else in fresh room, with space to spare if the
   * frame grows (a new slab if the pool's is full; a slab of its own for a frame too big to
   * share one).
   */
  private hold(size: number, keep: number): void {
    const slab = this.slab;
    const start = this.start;
    if (slab === pool.slab && this.limit === pool.used && start + size <= slab.length) {
      pool.used = this.limit = start + size;
      return;
    }
    // A frame that grew past its room may grow again: double it (amortized linear copying).
    if (keep > 0) size = Math.max(2 * size, 1024);
    let target: Uint8Array;
    let at: number;
    if (size > SLAB_SIZE / 4) {
      target = allocate(size);
      at = 0;
    } else {
      if (pool.used + size > pool.slab.length) {
        pool.slab = allocate(SLAB_SIZE);
        pool.used = 0;
      }
      target = pool.slab;
      at = pool.used;
      pool.used += size;
    }
    if (keep > 0) target.set(slab.subarray(start, start + keep), at);
    this.slab = target;
    this.start = at;
    this.end = at + keep;
    this.limit = at + size;
  }

  /** Forgets the frame being built, giving its unused room back if nobody carved after it. */
  private release(): void {
    if (this.slab === pool.slab && this.limit === pool.used) pool.used = this.end;
    this.slab = EMPTY;
    this.start = this.end = this.limit = this.count = 0;
  }
}

// Every byte of a merged frame is written, so it need not be zeroed first: on Node,
// `Buffer.allocUnsafe` (pooled) is several times faster than `new Uint8Array` for small frames.
// The result is a plain `Uint8Array` view either way, so decoded byte fields never turn out to be
// `Buffer`s. Browsers have no `Buffer` and take the portable path.
// Read once: `Buffer` has too many properties for V8 to make a fast load of each use.
const allocUnsafe = (globalThis as { Buffer?: { allocUnsafe: (this: void, size: number) => Uint8Array } })
  .Buffer?.allocUnsafe;
function allocate(size: number): Uint8Array {
  if (allocUnsafe === undefined) return new Uint8Array(size);
  const buffer = allocUnsafe(size);
  return new Uint8Array(buffer.buffer, buffer.byteOffset, size);
}

/** What a frame held: the messages (still unchecked: see `readEnvelope`/`validateRequest`), or why not. */
export interface DecodedFrame {
  readonly messages: unknown[];
  /** Empty, or the one reason the frame was refused. */
  readonly errors: ProtocolError[];
}

/**
 * Splits a frame into decoded messages. Never throws: garbage yields an error. Decoded byte
 * fields are views into `frame` (no copy).
 */
export function decodeFrame(frame: Uint8Array): DecodedFrame {
  const values = readFrame(frame);
  if (values instanceof ProtocolError) return { messages: [], errors: [values] };
  return { messages: values.slice(1), errors: [] };
}

/**
 * What `decodeFrame` does, without copying the messages out: the decoded array with the version
 * at index 0 and the (unchecked) messages after it, or why the frame was refused.
 */
export function readFrame(frame: Uint8Array): unknown[] | ProtocolError {
  let value: unknown;
  try {
    value = serializer.decode(frame);
  } catch (error) {
    return new ProtocolError(`undecodable frame of ${frame.length} bytes: ${(error as Error).message}`, {
      cause: error,
    });
  }
  if (!Array.isArray(value) || value.length === 0) {
    return new ProtocolError(
      `a frame must be an array [version, ...messages], got ${isPlainObject(value) ? 'an object' : typeof value}`,
    );
  }
  const values = value as unknown[];
  const version = values[0];
  if (version !== PROTOCOL_VERSION) {
    return new ProtocolError(
      `unsupported protocol version ${show(version)} (this side speaks ${PROTOCOL_VERSION})`,
    );
  }
  return values;
}
