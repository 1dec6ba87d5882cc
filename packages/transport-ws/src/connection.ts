import {
  BackpressureError,
  ClosedError,
  FrameTooLargeError,
  ProtocolError,
  type Cancellable,
  type CopycatError,
} from '@copycat/common';
import {
  BaseConnection,
  FrameBuilder,
  MessageType,
  messageFrameSize,
  messageTypeName,
  type MessageTypeValue,
} from '@copycat/protocol';
import { type MsgpackWriter } from '@copycat/io';
import { CloseCode, closeError } from './close-codes.js';
import { type Settings } from './options.js';
import { type FrameSocket } from './socket.js';

interface Blocked {
  readonly id: number;
  readonly bytes: Uint8Array;
  readonly resolve: () => void;
  readonly reject: (error: CopycatError) => void;
}

/** How often a blocked sender looks at the socket's buffer again, ms. */
const DRAIN_POLL_INTERVAL = 5;
/**
 * A batch this big leaves at once rather than at the end of the tick, so the peer can start on
 * it while this side is still producing the rest: coalescing saves system calls, but one huge
 * frame per tick would make the two sides take turns instead of working in parallel.
 */
const FLUSH_MESSAGES = 16;
const FLUSH_BYTES = 16 * 1024;
/** How long `close()` waits for the closing handshake before dropping the socket, ms. */
const CLOSE_GRACE = 1000;

// Coalescing is I/O batching, not a timer: flush after the current turn of the event loop, so
// the messages produced while handling one incoming frame (or in one synchronous burst of sends)
// leave together. `setImmediate` runs right after I/O callbacks on Node; browsers have no
// equivalent, so there a microtask does (it still gathers a synchronous burst).
const defer: (task: () => void) => void =
  typeof setImmediate === 'function' ? (task) => void setImmediate(task) : (task) => queueMicrotask(task);

// Ends a burst when the current job's microtasks run. A reaction on a settled promise rather than
// `queueMicrotask`, which Node wraps in an async resource and a bound function on every call.
const settled = Promise.resolve();

/**
 * A connection over one WebSocket. A message sent when nothing is queued is written at once
 * (latency); the ones that follow before the current job's microtasks are done are coalesced
 * into frames of up to 16 messages or 16 KiB (throughput: fewer system calls), written as they
 * fill up or after the current turn of the event loop. What is sent while a received frame is
 * handled (the answers of handlers that answer at once) leaves when the frame is done. Each
 * message is encoded once, straight into the frame it starts or copied once into the frame that
 * carries it (see `FrameBuilder`).
 * Requests respect the high-water mark of the send buffer; responses never wait, but a peer
 * that lets them pile up past `maxBufferedAmount` is disconnected.
 */
export class WebSocketConnection extends BaseConnection {
  /** The frame being gathered (its messages are "queued"). */
  private readonly queue = new FrameBuilder();
  private flushScheduled = false;
  private readonly blocked: Blocked[] = [];
  private drainTimer: Cancellable | undefined;
  private socketClosed: Promise<void>;
  private markSocketClosed!: () => void;
  private framesSent = 0;
  private readonly flushQueue = () => this.flush();
  /** A message was written at once in the current job: the next ones are gathered. */
  private burst = false;
  /** A received frame is being handled: what it makes this side send is gathered until it is done. */
  private handlingFrame = false;
  private readonly endBurst = () => void (this.burst = false);

  constructor(
    private readonly socket: FrameSocket,
    private readonly settings: Settings,
  ) {
    super({ scheduler: settings.scheduler, requestTimeout: settings.requestTimeout });
    this.socketClosed = new Promise((resolve) => (this.markSocketClosed = resolve));
    socket.attach({
      frame: (bytes) => this.onFrame(bytes),
      text: () =>
        this.reportError(new ProtocolError('a text message arrived: the protocol uses binary frames only')),
      closed: (code, reason, error) => {
        this.markSocketClosed();
        this.rejectBlocked(() => new ClosedError('the connection closed before the request could be sent'));
        this.terminate(error ?? closeError(code, reason));
      },
    });
  }

  /** Frames written to the socket so far (each may hold several messages). */
  get frames(): number {
    return this.framesSent;
  }

  /** Bytes waiting to be written: the socket's buffer plus messages not yet flushed. */
  get bufferedAmount(): number {
    return this.socket.bufferedAmount + this.queue.size;
  }

  protected transmit(type: MessageTypeValue, id: number, bytes: Uint8Array): void | Promise<void> {
    // `bytes` is the codec's scratch, or room of the frame being built (`encodeTarget`): added to
    // a frame (or kept as a copy) before returning.
    const size = messageFrameSize(bytes.length);
    if (size > this.settings.maxFrameSize) {
      const what = type === MessageType.response ? 'response' : `${messageTypeName(type)} request`;
      throw new FrameTooLargeError(
        `a ${what} of ${size} bytes is over the frame size limit (${this.settings.maxFrameSize} bytes)`,
      );
    }
    if (type === MessageType.response) {
      this.enqueue(bytes);
      if (this.bufferedAmount > this.settings.maxBufferedAmount) this.disconnectSlowReader();
      return undefined;
    }
    // Keep requests in order: once one waits, later ones wait behind it.
    if (this.blocked.length === 0 && this.bufferedAmount < this.settings.highWaterMark) {
      this.enqueue(bytes);
      return undefined;
    }
    if (this.settings.backpressure === 'fail') {
      throw new BackpressureError(
        `the send buffer holds ${this.bufferedAmount} bytes, over its high-water mark of ${this.settings.highWaterMark}: the request was not sent`,
      );
    }
    const copy = bytes.slice();
    return new Promise<void>((resolve, reject) => {
      this.blocked.push({ id, bytes: copy, resolve, reject });
      this.pollDrain();
    });
  }

  // Messages are encoded straight into the frame they start (when none is being gathered):
  // `enqueue` then sends the frame without copying the message into it.
  protected override encodeTarget(): MsgpackWriter | undefined {
    return this.queue.encoder();
  }

  protected override encoded(): void {
    this.queue.encoded();
  }

  protected override abandon(id: number): CopycatError | undefined {
    const index = this.blocked.findIndex((entry) => entry.id === id);
    if (index < 0) return undefined;
    this.blocked.splice(index, 1);
    return new BackpressureError(
      `the request was not sent: the send buffer stayed over its high-water mark (${this.settings.highWaterMark} bytes) until the request timed out`,
    );
  }

  protected async closeTransport(): Promise<void> {
    this.rejectBlocked(() => new ClosedError('the connection was closed before the request could be sent'));
    // What was accepted for sending still leaves, before the closing handshake: the answers a
    // handler gave before closing the connection, say.
    const gathered = this.queue.take();
    if (gathered !== undefined) this.write(gathered);
    this.socket.close(CloseCode.normal, 'closed');
    // Wait for the closing handshake, but not for a peer that never answers it.
    let grace: Cancellable | undefined;
    const gaveUp = new Promise<void>((resolve) => {
      grace = this.settings.scheduler.schedule(CLOSE_GRACE, () => {
        this.socket.terminate();
        resolve();
      });
    });
    await Promise.race([this.socketClosed, gaveUp]);
    grace?.cancel();
  }

  private onFrame(bytes: Uint8Array): void {
    // `ws` enforces the limit before reading the payload; a browser cannot, so check here too.
    if (bytes.length > this.settings.maxFrameSize) {
      this.socket.close(
        CloseCode.tooBig,
        `frame of ${bytes.length} bytes is over the limit of ${this.settings.maxFrameSize}`,
      );
      return;
    }
    // The answers (and any other message) the frame's handlers send before it is done leave
    // together when it is, as the first message of a burst would: at once, unless frames
    // received in the same job already started one (then with the flush, all in one frame).
    this.handlingFrame = true;
    try {
      this.receiveFrame(bytes);
    } finally {
      this.handlingFrame = false;
      if (!this.closed && this.queue.messages > 0) {
        if (!this.burst) {
          this.startBurst();
          this.write(this.queue.take()!);
        } else if (!this.flushScheduled) {
          this.flushScheduled = true;
          defer(this.flushQueue);
        }
      }
    }
  }

  /** Sends a message's encoding (see `transmit`): at once, or gathered into the next frame. */
  private enqueue(bytes: Uint8Array): void {
    const queue = this.queue;
    if (!this.burst && !this.handlingFrame && queue.messages === 0) {
      // The first message leaves at once: a lone request should not wait a turn of the event
      // loop. Whatever follows before the current job's microtasks are done (a burst of sends,
      // the answers to a frame of requests) is gathered for the flush.
      this.startBurst();
      queue.add(bytes);
      this.write(queue.take()!);
      return;
    }
    // Frames stay within the size limit: one that would go over leaves without this message.
    if (queue.messages > 0 && queue.sizeWith(bytes.length) > this.settings.maxFrameSize) {
      this.write(queue.take()!);
    }
    queue.add(bytes);
    if (queue.messages >= FLUSH_MESSAGES || queue.size >= FLUSH_BYTES) {
      this.write(queue.take()!);
    } else if (!this.flushScheduled && !this.handlingFrame) {
      this.flushScheduled = true;
      defer(this.flushQueue);
    }
  }

  /** A message leaves at once: the ones sent after it until the current job is done are gathered. */
  private startBurst(): void {
    this.burst = true;
    void settled.then(this.endBurst);
  }

  /** End of the tick: writes what was gathered. */
  private flush(): void {
    this.flushScheduled = false;
    if (this.closed) {
      this.queue.clear();
      return;
    }
    const frame = this.queue.take();
    if (frame !== undefined) this.write(frame);
  }

  private write(frame: Uint8Array): void {
    this.framesSent++;
    this.socket.send(frame);
  }

  private pollDrain(): void {
    if (this.drainTimer !== undefined) return;
    this.drainTimer = this.settings.scheduler.schedule(DRAIN_POLL_INTERVAL, () => {
      this.drainTimer = undefined;
      if (this.closed) return;
      while (this.blocked.length > 0 && this.bufferedAmount < this.settings.highWaterMark) {
        const entry = this.blocked.shift()!;
        this.enqueue(entry.bytes);
        entry.resolve();
      }
      if (this.blocked.length > 0) this.pollDrain();
    });
  }

  private rejectBlocked(error: () => CopycatError): void {
    this.drainTimer?.cancel();
    this.drainTimer = undefined;
    for (const entry of this.blocked.splice(0)) entry.reject(error());
  }

  private disconnectSlowReader(): void {
    const error = new BackpressureError(
      `closed the connection: ${this.bufferedAmount} bytes of responses piled up unread (limit ${this.settings.maxBufferedAmount})`,
    );
    this.reportError(error);
    this.socket.close(CloseCode.notReading, 'responses piled up unread');
    this.terminate(error);
    this.settings.scheduler.schedule(CLOSE_GRACE, () => this.socket.terminate());
  }
}
