/** A minimal transport for testing `BaseConnection`: two connected ends, frames delivered by the scheduler. */
import { ConnectionError, FrameTooLargeError, type Scheduler } from '@copycat/common';
import { Serializer } from '@copycat/io';
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

export function pipe(scheduler: Scheduler, maxFrameSize?: number): [PipeEnd, PipeEnd] {
  const a = new PipeEnd(scheduler, maxFrameSize);
  const b = new PipeEnd(scheduler, maxFrameSize);
  a.peer = b;
  b.peer = a;
  return [a, b];
}
