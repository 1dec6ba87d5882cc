import { Role } from './role.js';

/** Not a member of the cluster (yet, or any more): refuses every Raft request. */
export class InactiveRole extends Role {
  readonly name = 'inactive';
}
