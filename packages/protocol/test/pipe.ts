/** A minimal transport for testing `BaseConnection`: two connected ends, frames delivered by the scheduler. */
import { ConnectionError, FrameTooLargeError, type Scheduler } from '@copycat/common';
import { MsgpackWriter, Serializer } from '@copycat/io';
import { BaseConnection, messageFrame, type Message } from '@copycat/protocol';

const serializer = new Serializer();

export class PipeEnd extends BaseConnection {
  peer: PipeEnd | undefined;
  readonly sent: Message[] = [];

  constructor(
    scheduler: Scheduler,
    private readonly maxFrameSize = Number.POSITIVE_INFINITY,
  ) {
    super({ scheduler, requestTimeout: 1000 });
  }

  protected transmit(_type: number, _id: number, encoded: Uint8Array): void {
    const frame = messageFrame(encoded);
    if (frame.length > this.maxFrameSize) throw new FrameTooLargeError(`frame of ${frame.length} bytes`);
    this.sent.push(serializer.decode<Message>(encoded)); // as it goes on the wire
    const peer = this.peer;
    this.scheduler.schedule(0, () => peer?.deliver(frame));
  }

  protected async closeTransport(): Promise<void> {
    const peer = this.peer;
    this.scheduler.schedule(0, () => peer?.drop());
  }

  deliver(frame: Uint8Array): void {
    this.receiveFrame(frame);
  }

  /** Hands a decoded value to the connection as if it came off the wire. */
  inject(value: unknown): void {
    this.receiveMessage(value);
  }

  drop(): void {
    this.terminate(new ConnectionError('the peer closed the connection'));
  }
}

/**
 * A `PipeEnd` that has messages encoded in place (`encodeTarget`), into room of its own much
 * smaller than some messages, and counts the writers it gave and the `encoded()` calls.
 */
export class InPlaceEnd extends PipeEnd {
  given = 0;
  done = 0;
  private open = false;
  private readonly room = new Uint8Array(4096);
  private readonly writer = new MsgpackWriter(0);

  protected override encodeTarget(): MsgpackWriter | undefined {
    if (this.open) return undefined;
    this.open = true;
    this.given++;
    this.writer.writeInto(this.room, 16, 1024);
    return this.writer;
  }

  protected override encoded(): void {
    this.open = false;
    this.done++;
  }
}

export function pipe(scheduler: Scheduler, maxFrameSize?: number): [PipeEnd, PipeEnd] {
  return link(new PipeEnd(scheduler, maxFrameSize), new PipeEnd(scheduler, maxFrameSize));
}

/** Two `InPlaceEnd`s connected. */
export function inPlacePipe(scheduler: Scheduler, maxFrameSize?: number): [InPlaceEnd, InPlaceEnd] {
  return link(new InPlaceEnd(scheduler, maxFrameSize), new InPlaceEnd(scheduler, maxFrameSize));
}

function link<T extends PipeEnd>(a: T, b: T): [T, T] {
  a.peer = b;
  b.peer = a;
  return [a, b];
}
