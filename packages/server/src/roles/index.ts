import type { RaftContext } from '../raft/context.js';
import { CandidateRole } from './candidate.js';
import { FollowerRole } from './follower.js';
import { InactiveRole } from './inactive.js';
import { LeaderRole } from './leader.js';
import { PassiveRole } from './passive.js';
import { ReserveRole } from './reserve.js';
import type { Role, RoleName } from './role.js';

export function createRole(name: RoleName, context: RaftContext): Role {
  switch (name) {
    case 'inactive':
      return new InactiveRole(context);
    case 'reserve':
      return new ReserveRole(context);
    case 'passive':
      return new PassiveRole(context);
    case 'follower':
      return new FollowerRole(context);
    case 'candidate':
      return new CandidateRole(context);
    case 'leader':
      return new LeaderRole(context);
  }
}

export { LeaderRole, type Role, type RoleName };
