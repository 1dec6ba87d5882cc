// @copycat/client: the Raft client (README.md: layer 4). The public surface only.
export { RaftClient } from './client.js';
export { command, query } from './operations.js';
export type { CommandOptions, QueryOptions, ResultOf, SubmitOptions } from './operations.js';
export { CONNECTION_STRATEGIES, RECOVERY_STRATEGIES } from './options.js';
export type {
  ConnectionStrategy,
  RaftClientOptions,
  RecoveryStrategy,
  RetryBackoffOptions,
} from './options.js';
export type { SessionInfo, SessionState, SessionStateChange } from './session-state.js';
// The operation types `command` and `query` build, so users need no second import.
export type { Command, CompactionMode, ConsistencyLevel, Query } from '@copycat/protocol';
