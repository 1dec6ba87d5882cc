import { type ErrorCode } from '@copycat/common';

/**
 * What the client does when a request fails.
 * - `expired`: the session is gone (`UNKNOWN_SESSION`): apply the recovery strategy.
 * - `reconnect`: this server cannot help now (no leader, dead or slow connection): retry the
 *   same request elsewhere after a backoff.
 * - `holdoff`: the server is overloaded or hit a bug: retry the same request on the same
 *   connection after a backoff.
 * - `fail`: a definite answer (e.g. the state machine threw): the call fails with it.
 */
export type FailureAction = 'expired' | 'reconnect' | 'holdoff' | 'fail';

const ACTIONS: Partial<Record<ErrorCode, FailureAction>> = {
  UNKNOWN_SESSION: 'expired',
  NO_LEADER: 'reconnect',
  CONNECTION_ERROR: 'reconnect',
  CLOSED: 'reconnect',
  TIMEOUT: 'reconnect',
  BACKPRESSURE: 'holdoff',
  INTERNAL_ERROR: 'holdoff',
};

export function failureAction(code: ErrorCode): FailureAction {
  return ACTIONS[code] ?? 'fail';
}

/**
 * Errors that end the attempt to open a session instead of being retried on another server:
 * retrying cannot fix wrong credentials or a configuration the cluster refuses.
 */
export function isFatalForSession(code: ErrorCode): boolean {
  return code === 'UNAUTHORIZED' || code === 'CONFIGURATION_ERROR';
}
