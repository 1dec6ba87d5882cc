/**
 * Messages between a replica process (`copycat server`, when started with an IPC channel) and
 * the process that started it (`copycat cluster`, the chaos test, the cluster benchmark). Only
 * state goes up: clients talk to the cluster through `RaftClient`, like any user.
 */
export type ParentMessage = { type: 'status' };

export interface ReplicaStateMessage {
  type: 'state';
  address: string;
  state: string;
  term: number;
  leader: string | undefined;
  commitIndex: number;
}

export type ChildMessage = ReplicaStateMessage;
