export { RaftServer, type RaftServerOptions, type ServerState, type ClusterView } from './raft-server.js';
export {
  StateMachine,
  type Commit,
  type CommitHandler,
  type Operation,
  type OperationKind,
  type RegisterOptions,
  type SessionEventContext,
  type SnapshotReader,
  type SnapshotWriter,
  type StateMachineExecutor,
} from './state-machine/state-machine.js';
export { DEFAULT_TIMING, resolveTiming, type RaftTiming, type RaftTimingOptions } from './config.js';
export type { Configuration, Member, MemberStatus, MemberType } from './cluster/configuration.js';
export type { NodeStatus } from './raft/raft-node.js';
export type { RaftCounters, UnsafeRaftOptions } from './raft/context.js';
export type { RoleName } from './roles/index.js';
export type { Session, SessionState } from './session/server-session.js';
