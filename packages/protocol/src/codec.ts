/**
 * Frames: what a transport sends as one unit (one WebSocket message, one local delivery).
 *
 * A frame is one msgpack array: `[version, message, message, ...]`. The leading version lets a
 * peer of another protocol version be refused clearly rather than misread; several messages let
 * a transport coalesce the messages queued in one tick. A frame of only the version carries no
 * message (the WebSocket transport uses it as its hello).
 *
 * The layout is chosen so that the common case costs one encoding and no copy: a one-message
 * frame is exactly what the encoder produces for `[version, message]`, and since its first two
 * bytes are always the same (`0x92` "array of 2", `0x01` the version), several such frames merge
 * into one by writing a new array header and concatenating the messages' bytes.
 */
import { ProtocolError } from '@copycat/common';
import { Serializer } from '@copycat/io';
import { isPlainObject } from './schema.js';
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

/** Bytes of msgpack's array header for `count` items. */
function arrayHeaderSize(count: number): number {
  return count < 16 ? 1 : count < 0x10000 ? 3 : 5;
}

/** The size of the frame `mergeFrames` makes of one-message frames of these sizes in total. */
export function mergedFrameSize(frames: number, totalBytes: number): number {
  if (frames === 1) return totalBytes;
  return arrayHeaderSize(frames + 1) + 1 + totalBytes - frames * SINGLE_PREFIX;
}

/** One frame with the messages of several one-message frames (from `encodeMessageFrame`), in order. */
export function mergeFrames(frames: readonly Uint8Array[]): Uint8Array {
  if (frames.length === 1) return frames[0]!;
  let total = 0;
  for (const frame of frames) total += frame.length;
  const merged = allocate(mergedFrameSize(frames.length, total));
  const count = frames.length + 1;
  let offset = 0;
  if (count < 16) {
    merged[offset++] = 0x90 | count;
  } else if (count < 0x10000) {
    merged[offset++] = 0xdc;
    merged[offset++] = count >>> 8;
    merged[offset++] = count & 0xff;
  } else {
    merged[offset++] = 0xdd;
    merged[offset++] = count >>> 24;
    merged[offset++] = (count >>> 16) & 0xff;
    merged[offset++] = (count >>> 8) & 0xff;
    merged[offset++] = count & 0xff;
  }
  merged[offset++] = PROTOCOL_VERSION;
  for (const frame of frames) {
    merged.set(frame.subarray(SINGLE_PREFIX), offset);
    offset += frame.length - SINGLE_PREFIX;
  }
  return merged;
}

// Every byte of a merged frame is written, so it need not be zeroed first: on Node,
// `Buffer.allocUnsafe` (pooled) is several times faster than `new Uint8Array` for small frames.
// The result is a plain `Uint8Array` view either way, so decoded byte fields never turn out to be
// `Buffer`s. Browsers have no `Buffer` and take the portable path.
const NodeBuffer = (globalThis as { Buffer?: { allocUnsafe(size: number): Uint8Array } }).Buffer;
function allocate(size: number): Uint8Array {
  if (NodeBuffer === undefined) return new Uint8Array(size);
  const buffer = NodeBuffer.allocUnsafe(size);
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
  let value: unknown;
  try {
    value = serializer.decode(frame);
  } catch (error) {
    return refused(`undecodable frame of ${frame.length} bytes: ${(error as Error).message}`, error);
  }
  if (!Array.isArray(value) || value.length === 0) {
    return refused(
      `a frame must be an array [version, ...messages], got ${isPlainObject(value) ? 'an object' : typeof value}`,
    );
  }
  const version: unknown = value[0];
  if (version !== PROTOCOL_VERSION) {
    return refused(`unsupported protocol version ${String(version)} (this side speaks ${PROTOCOL_VERSION})`);
  }
  return { messages: value.slice(1), errors: [] };
}

function refused(message: string, cause?: unknown): DecodedFrame {
  return { messages: [], errors: [new ProtocolError(message, cause === undefined ? {} : { cause })] };
}
