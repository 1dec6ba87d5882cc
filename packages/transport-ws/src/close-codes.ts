/**
 * WebSocket close codes this transport sends, and the errors a closed connection reports.
 * 4000-4999 are for applications (RFC 6455 §7.4.2); 4401 and 4002 echo HTTP 401 and a protocol
 * mismatch.
 */
import {
  BackpressureError,
  ConnectionError,
  FrameTooLargeError,
  ProtocolError,
  UnauthorizedError,
  type CopycatError,
} from '@copycat/common';

export const CloseCode = {
  normal: 1000,
  goingAway: 1001,
  protocolError: 1002,
  abnormal: 1006,
  /** RFC 6455: "message too big". */
  tooBig: 1009,
  unsupportedVersion: 4002,
  /** 1009 as a browser sends it (browsers may not send 1009). */
  tooBigFromBrowser: 4009,
  /** The peer does not read its responses (see `maxBufferedAmount`). */
  notReading: 4008,
  unauthorized: 4401,
} as const;

/** The error for pending requests when the connection closed with `code`. */
export function closeError(code: number, reason: string): CopycatError {
  const suffix = reason === '' ? '' : `: ${reason}`;
  switch (code) {
    case CloseCode.unauthorized:
      return new UnauthorizedError(reason === '' ? 'the server refused the auth token' : reason);
    case CloseCode.unsupportedVersion:
      return new ProtocolError(reason === '' ? 'unsupported protocol version' : reason);
    case CloseCode.tooBig:
    case CloseCode.tooBigFromBrowser:
      return new FrameTooLargeError(`the connection closed because a frame was over the size limit${suffix}`);
    case CloseCode.notReading:
      return new BackpressureError(`the connection closed because responses piled up unread${suffix}`);
    case CloseCode.abnormal:
      return new ConnectionError(`the connection was lost (code 1006)${suffix}`);
    default:
      return new ConnectionError(`the peer closed the connection (code ${code})${suffix}`);
  }
}

const encoder = new TextEncoder();

/** `reason` cut to the 123 bytes of UTF-8 a close frame allows (`ws` throws on longer ones). */
export function closeReason(reason: string): string {
  if (encoder.encode(reason).length <= 123) return reason;
  let cut = reason.slice(0, 123);
  while (encoder.encode(cut).length > 123) cut = cut.slice(0, -1);
  return cut;
}
