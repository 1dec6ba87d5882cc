import { ConfigurationError } from '@copycat/common';

/**
 * Timing and flow-control settings of a Raft server, with their defaults, validated in one
 * place (in the spirit of hashicorp/raft's config.go).
 */
export interface RaftTimingOptions {
  /** Base election timeout T in ms; each timeout is drawn from [T, 2T). Default 750. */
  electionTimeout?: number;
  /** Leader heartbeat interval in ms; must be well under the election timeout. Default 250. */
  heartbeatInterval?: number;
  /** Client session timeout in ms (sessions are expired in log time). Default 5000. */
  sessionTimeout?: number;
  /** Unacknowledged append batches per follower. Default 8. */
  maxInflightBatches?: number;
  /** Unacknowledged bytes per follower. Default 8 MiB. */
  maxInflightBytes?: number;
  /** Largest append batch in bytes (one batch is always allowed one entry). Default 1 MiB. */
  maxBatchBytes?: number;
  /** Bound on clock drift between members, as a fraction of the election timeout, for leases. Default 0.1. */
  clockDriftBound?: number;
  /** Consecutive failed heartbeats before the leader marks a member unavailable. Default 3. */
  unavailableAfterFailures?: number;
}

export type RaftTiming = Required<RaftTimingOptions>;

export const DEFAULT_TIMING: RaftTiming = {
  electionTimeout: 750,
  heartbeatInterval: 250,
  sessionTimeout: 5000,
  maxInflightBatches: 8,
  maxInflightBytes: 8 * 1024 * 1024,
  maxBatchBytes: 1024 * 1024,
  clockDriftBound: 0.1,
  unavailableAfterFailures: 3,
};

function positive(name: string, value: number, integer = false): void {
  if (
    typeof value !== 'number' ||
    !Number.isFinite(value) ||
    value <= 0 ||
    (integer && !Number.isInteger(value))
  ) {
    throw new ConfigurationError(
      `${name} must be a positive ${integer ? 'integer' : 'number'}, got ${String(value)}`,
    );
  }
}

/** Fills in defaults and rejects inconsistent settings with a ConfigurationError. */
export function resolveTiming(options: RaftTimingOptions = {}): RaftTiming {
  const timing: RaftTiming = { ...DEFAULT_TIMING };
  for (const [key, value] of Object.entries(options) as [keyof RaftTiming, number | undefined][]) {
    if (value !== undefined && key in timing) timing[key] = value;
  }
  positive('electionTimeout', timing.electionTimeout);
  positive('heartbeatInterval', timing.heartbeatInterval);
  positive('sessionTimeout', timing.sessionTimeout);
  positive('maxInflightBatches', timing.maxInflightBatches, true);
  positive('maxInflightBytes', timing.maxInflightBytes, true);
  positive('maxBatchBytes', timing.maxBatchBytes, true);
  positive('unavailableAfterFailures', timing.unavailableAfterFailures, true);
  if (!(timing.clockDriftBound >= 0 && timing.clockDriftBound < 1)) {
    throw new ConfigurationError(`clockDriftBound must be in [0, 1), got ${timing.clockDriftBound}`);
  }
  // A follower must hear several heartbeats per election timeout, or healthy leaders get deposed.
  if (timing.heartbeatInterval * 2 > timing.electionTimeout) {
    throw new ConfigurationError(
      `heartbeatInterval (${timing.heartbeatInterval}) must be at most half of electionTimeout (${timing.electionTimeout})`,
    );
  }
  if (timing.sessionTimeout < timing.electionTimeout) {
    throw new ConfigurationError(
      `sessionTimeout (${timing.sessionTimeout}) must be at least electionTimeout (${timing.electionTimeout}), or sessions expire during elections`,
    );
  }
  return timing;
}
