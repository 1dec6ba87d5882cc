/**
 * What a transport's tests provide to run the conformance suite: a way to make nodes (a transport
 * plus an address its server may listen at) and raw byte connections for fuzzing.
 */
import { type Transport } from '@copycat/protocol';

export interface ConformanceNode {
  readonly transport: Transport;
  /** A fresh address the node's server may listen at. */
  readonly address: string;
}

/** A connection that sends and receives frames as bytes, bypassing the codec. */
export interface RawPeer {
  send(frame: Uint8Array): void;
  /** Frames received so far, in order. */
  readonly frames: Uint8Array[];
  readonly closed: boolean;
  close(): Promise<void>;
}

export interface ConformanceHarness {
  node(): Promise<ConformanceNode>;
  /** Opens a raw connection from `from` to the server at `address`. */
  raw(from: ConformanceNode, address: string): Promise<RawPeer>;
  /** Releases whatever the harness holds (servers and clients are closed by the tests). */
  close(): Promise<void>;
}

export interface HarnessOptions {
  /** Frame size limit of every node. */
  readonly maxFrameSize?: number;
  /** Default request timeout of every node, ms. */
  readonly requestTimeout?: number;
}

export interface ConformanceOptions {
  /** Makes a harness whose nodes all use `options`. */
  readonly setup: (options: HarnessOptions) => Promise<ConformanceHarness>;
  /**
   * For transports with an auth token checked at the handshake: a harness whose servers require
   * `server` and whose clients present `client` (none when undefined).
   */
  readonly auth?: (tokens: {
    readonly server: string;
    readonly client: string | undefined;
  }) => Promise<ConformanceHarness>;
  /** For transports with TLS: a harness whose nodes talk TLS with a self-signed certificate made in the test. */
  readonly tls?: () => Promise<ConformanceHarness>;
}
