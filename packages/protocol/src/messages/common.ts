import { type ErrorCode } from '@copycat/common';
import { type MessageType } from '../message-type.js';

/** An error as it travels on the wire: the stable code and a human-readable message. */
export interface WireError {
  readonly code: ErrorCode;
  readonly message: string;
}

/** What every response starts with: its type and the id of the request it answers. */
export interface ResponseEnvelope {
  readonly type: typeof MessageType.response;
  readonly id: number;
}

/**
 * The answer of a request that failed. Any request may get one. Besides the error it carries
 * the responder's hints where it has them, so a client can retry at the right place:
 * `leader` (address of the leader it knows, e.g. with `NO_LEADER`), `term` (its current term),
 * and for `command`/`query` sequence gaps `lastSequence` (the last sequence it has for the
 * session: the client resends everything after it).
 */
export interface ErrorResponse extends ResponseEnvelope {
  readonly status: 'error';
  readonly error: WireError;
  readonly leader?: string;
  readonly term?: number;
  readonly lastSequence?: number;
}

/** A successful answer with the fields `F` of that response kind. */
export type OkResponse<F> = ResponseEnvelope & { readonly status: 'ok' } & { readonly [K in keyof F]: F[K] };

/** Either an ok answer with fields `F` or an `ErrorResponse`. */
export type ResponseOf<F> = OkResponse<F> | ErrorResponse;

/** Fields with nothing in them: for responses that only say "done". */
export type NoFields = Record<never, never>;
