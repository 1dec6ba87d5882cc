import { type CopycatError } from '@copycat/common';

/**
 * One end of a local connection as the network sees it. Kept apart from the connection object so
 * that the hooks the network calls are not public methods of `LocalConnection`.
 */
export interface Port {
  /** The address this end belongs to. */
  readonly local: string;
  /** The address of the other end. */
  readonly remote: string;
  /** Whether this end is still open. */
  isOpen(): boolean;
  /** A frame arrived from the other end. */
  receive(frame: Uint8Array): void;
  /** The other end went away (closed, reset or crashed), or this node crashed. */
  hangUp(error: CopycatError): void;
}
