/** Conversions between thrown errors and error responses. */
import { CopycatError, InternalError, errorFromCode } from '@copycat/common';
import { type ErrorResponse } from './messages/common.js';
import { type ErrorResponseBody } from './messages/index.js';

/** Hints an error response may carry (see `ErrorResponse`). */
export interface ErrorHints {
  readonly leader?: string;
  readonly term?: number;
  readonly lastSequence?: number;
}

/** The body of an error response for `error`; a handler returns it (or throws `error`). */
export function errorResponse(error: CopycatError, hints: ErrorHints = {}): ErrorResponseBody {
  return { status: 'error', error: { code: error.code, message: error.message }, ...hints };
}

/** The `CopycatError` subclass an error response stands for, rebuilt from its code. */
export function responseError(response: Pick<ErrorResponse, 'error'>): CopycatError {
  return errorFromCode(response.error.code, response.error.message);
}

/** `error` if it is a `CopycatError`, else an `InternalError` wrapping it (a bug, not a protocol answer). */
export function asCopycatError(error: unknown): CopycatError {
  if (error instanceof CopycatError) return error;
  const message = error instanceof Error ? error.message : String(error);
  return new InternalError(message, { cause: error });
}
