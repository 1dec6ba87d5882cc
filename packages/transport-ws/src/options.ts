import { ConfigurationError, SystemScheduler, type Scheduler } from '@copycat/common';
import { DEFAULT_MAX_FRAME_SIZE } from '@copycat/protocol';

/** PEM text or bytes (a Node `Buffer` is fine), or a list of them. */
export type Pem = string | Uint8Array | readonly (string | Uint8Array)[];

export interface TlsOptions {
  /** Server: private key (PEM). */
  readonly key?: Pem;
  /** Server: certificate chain (PEM). */
  readonly cert?: Pem;
  /** Client: certificates to trust besides the system's (e.g. a self-signed server certificate). */
  readonly ca?: Pem;
  /** Client: refuse servers whose certificate does not verify. Default true. */
  readonly rejectUnauthorized?: boolean;
}

export interface WebSocketTransportOptions {
  /** Runs request, connect and drain timers. Default: `SystemScheduler`. */
  readonly scheduler?: Scheduler;
  /** Frames over this many bytes are refused with `FRAME_TOO_LARGE`, on both sides. Default 16 MiB. */
  readonly maxFrameSize?: number;
  /**
   * A shared secret. Servers refuse connections without it with `UNAUTHORIZED` before any message
   * is processed; clients present it (Node: `Authorization: Bearer` header; browsers, which cannot
   * set headers: the `token` query parameter).
   */
  readonly authToken?: string;
  /** Enables TLS (`wss`): servers need `key` and `cert`; clients may add `ca`. */
  readonly tls?: TlsOptions;
  /**
   * Bytes waiting to be written (the socket's `bufferedAmount` plus frames not yet flushed) above
   * which a request is not queued: `send` waits (`backpressure: 'wait'`) or fails with
   * `BackpressureError` (`'fail'`). Default 8 MiB.
   */
  readonly highWaterMark?: number;
  /** What `send` does above the high-water mark. Default `'wait'` (bounded by the request timeout). */
  readonly backpressure?: 'wait' | 'fail';
  /**
   * Responses are never held back; a peer that keeps sending requests without reading the
   * answers would make them pile up, so above this many buffered bytes the connection is closed
   * with `BACKPRESSURE`. Default max(64 MiB, 4 x maxFrameSize).
   */
  readonly maxBufferedAmount?: number;
  /** Default per-request timeout, ms. Default 5000. */
  readonly requestTimeout?: number;
  /** How long `connect` waits for the server's hello, ms. Default 5000. */
  readonly connectTimeout?: number;
}

/** Options with their defaults filled in and checked. */
export interface Settings {
  readonly scheduler: Scheduler;
  readonly maxFrameSize: number;
  readonly authToken: string | undefined;
  readonly tls: TlsOptions | undefined;
  readonly highWaterMark: number;
  readonly backpressure: 'wait' | 'fail';
  readonly maxBufferedAmount: number;
  readonly requestTimeout: number;
  readonly connectTimeout: number;
}

function positive(name: string, value: number): number {
  if (!(Number.isFinite(value) && value > 0))
    throw new ConfigurationError(`${name} must be a finite number > 0, got ${value}`);
  return value;
}

export function resolveOptions(options: WebSocketTransportOptions): Settings {
  const maxFrameSize = positive('maxFrameSize', options.maxFrameSize ?? DEFAULT_MAX_FRAME_SIZE);
  if (options.authToken !== undefined && options.authToken === '')
    throw new ConfigurationError('authToken must not be empty');
  const backpressure = options.backpressure ?? 'wait';
  if (backpressure !== 'wait' && backpressure !== 'fail') {
    throw new ConfigurationError(`backpressure must be 'wait' or 'fail', got ${String(backpressure)}`);
  }
  return {
    scheduler: options.scheduler ?? new SystemScheduler(),
    maxFrameSize,
    authToken: options.authToken,
    tls: options.tls,
    highWaterMark: positive('highWaterMark', options.highWaterMark ?? 8 * 1024 * 1024),
    backpressure,
    maxBufferedAmount: positive(
      'maxBufferedAmount',
      options.maxBufferedAmount ?? Math.max(64 * 1024 * 1024, 4 * maxFrameSize),
    ),
    requestTimeout: positive('requestTimeout', options.requestTimeout ?? 5000),
    connectTimeout: positive('connectTimeout', options.connectTimeout ?? 5000),
  };
}
