import {
  ClosedError,
  Listeners,
  type CopycatError,
  type Listener,
  type ListenerRegistration,
} from '@copycat/common';
import { type Fabric } from './fabric.js';
import { type Port } from './port.js';

/**
 * A byte pipe to a listening server, for tests of the receiving side (fuzzing with garbage and
 * truncated frames). Frames go through the same links and faults as any connection's, and the
 * server's answers come back unparsed.
 */
export class RawConnection {
  private readonly frameListeners = new Listeners<Uint8Array>();
  private readonly closeListeners = new Listeners<CopycatError | undefined>();
  private open = true;
  private readonly port: Port;

  /** Made by `LocalNetwork.openRaw`. */
  constructor(
    private readonly fabric: Fabric,
    local: string,
    remote: string,
    attach: (port: Port) => void,
  ) {
    this.port = {
      local,
      remote,
      isOpen: () => this.open,
      receive: (frame) => this.frameListeners.emit(frame),
      hangUp: (error) => this.shutdown(error),
    };
    attach(this.port);
  }

  get closed(): boolean {
    return !this.open;
  }

  /** Sends `frame` as is (no encoding, no size check). */
  send(frame: Uint8Array): void {
    if (!this.open) throw new ClosedError('the raw connection is closed');
    this.fabric.send(this.port, frame);
  }

  onFrame(listener: Listener<Uint8Array>): ListenerRegistration {
    return this.frameListeners.add(listener);
  }

  /** Called with the reason when the other side closes; `undefined` after `close()`. */
  onClose(listener: Listener<CopycatError | undefined>): ListenerRegistration {
    return this.closeListeners.add(listener);
  }

  close(): void {
    if (!this.open) return;
    this.fabric.close(this.port);
    this.shutdown(undefined);
  }

  private shutdown(error: CopycatError | undefined): void {
    if (!this.open) return;
    this.open = false;
    this.closeListeners.emit(error);
    this.closeListeners.clear();
    this.frameListeners.clear();
  }
}
