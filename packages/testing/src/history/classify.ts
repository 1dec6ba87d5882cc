/**
 * Deciding what an error means for the history. Misreading an unknown outcome as `fail` makes
 * the checker report violations that did not happen (the operation did take effect); misreading
 * a definite failure as `info` only makes the check weaker. So the default is conservative:
 * an error is `info` unless it is known to mean "not done".
 */
import { isCopycatError, type ErrorCode } from '@copycat/common';

export type ErrorClassifier = (error: unknown) => 'fail' | 'info';

/**
 * Error codes raised before a request leaves the client, so the operation cannot have happened:
 * bad configuration, a value that cannot be encoded, a frame over the size limit, a failed
 * authentication handshake.
 */
export const DEFINITE_FAILURE_CODES: readonly ErrorCode[] = [
  'CONFIGURATION_ERROR',
  'SERIALIZATION_ERROR',
  'FRAME_TOO_LARGE',
  'UNAUTHORIZED',
];

/**
 * The default classifier: `fail` for errors whose `definite` property is `true` and for
 * `CopycatError`s with a code in `DEFINITE_FAILURE_CODES`; `info` for everything else
 * (`TIMEOUT`, `CONNECTION_ERROR`, `CLOSED`, `NO_LEADER`, unknown errors, ...).
 */
export const defaultClassifier: ErrorClassifier = (error) => {
  if (typeof error === 'object' && error !== null && (error as { definite?: unknown }).definite === true)
    return 'fail';
  if (isCopycatError(error) && DEFINITE_FAILURE_CODES.includes(error.code)) return 'fail';
  return 'info';
};

/** A classifier that also treats the given codes as definite failures. */
export function classifyDefinite(...codes: ErrorCode[]): ErrorClassifier {
  return (error) => (isCopycatError(error) && codes.includes(error.code) ? 'fail' : defaultClassifier(error));
}
