import { FrameTooLargeError } from '@copycat/common';
import {
  BaseConnection,
  MessageType,
  messageFrame,
  messageTypeName,
  type MessageTypeValue,
} from '@copycat/protocol';
import { type Fabric } from './fabric.js';
import { type Port } from './port.js';

/**
 * One end of an in-process connection. Every message is encoded through the protocol codec into
 * a frame (so serialization bugs show, the size limit applies, and the two ends never share an
 * object) and travels through the network's links.
 */
export class LocalConnection extends BaseConnection {
  /** The address of this end (the node that opened or accepted it). */
  readonly localAddress: string;
  /** The address of the other end. */
  readonly remoteAddress: string;
  private readonly port: Port;

  /** Made by the network (see `LocalTransport`); not meant to be called directly. */
  constructor(
    private readonly fabric: Fabric,
    local: string,
    remote: string,
    attach: (port: Port) => void,
  ) {
    super({ scheduler: fabric.scheduler, requestTimeout: fabric.requestTimeout });
    this.localAddress = local;
    this.remoteAddress = remote;
    this.port = {
      local,
      remote,
      isOpen: () => !this.closed,
      receive: (frame) => this.receive(frame),
      hangUp: (error) => this.terminate(error),
    };
    attach(this.port);
  }

  protected transmit(type: MessageTypeValue, _id: number, encoded: Uint8Array): void {
    const frame = messageFrame(encoded);
    if (frame.length > this.fabric.maxFrameSize) {
      const what = type === MessageType.response ? 'response' : `${messageTypeName(type)} request`;
      throw new FrameTooLargeError(
        `a ${what} of ${frame.length} bytes is over the frame size limit (${this.fabric.maxFrameSize} bytes)`,
      );
    }
    this.fabric.send(this.port, frame);
  }

  protected async closeTransport(): Promise<void> {
    this.fabric.close(this.port);
  }

  private receive(frame: Uint8Array): void {
    // Our own frames are checked when sent; this catches raw frames (fuzz tests).
    if (frame.length > this.fabric.maxFrameSize) {
      this.reportError(
        new FrameTooLargeError(
          `dropped a frame of ${frame.length} bytes: the limit is ${this.fabric.maxFrameSize}`,
        ),
      );
      return;
    }
    this.receiveFrame(frame);
  }
}
