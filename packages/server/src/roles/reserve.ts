import type { ConfigureRequest, ConfigureResponse } from '../raft/messages.js';
import { Role } from './role.js';

/**
 * A reserve member stores no log: it only follows configuration changes, so that it can be
 * promoted to passive or active when an active member fails.
 */
export class ReserveRole extends Role {
  readonly name = 'reserve';

  override onConfigure(request: ConfigureRequest): ConfigureResponse {
    const raft = this.raft;
    if (request.term < raft.term) return { term: raft.term };
    raft.advanceTerm(request.term);
    raft.heardFromLeader(request.leader);
    if (request.index > raft.committed.index) {
      raft.setCommittedConfiguration({
        index: request.index,
        term: request.term,
        time: request.time,
        members: request.members,
      });
      const resting = raft.restingRole();
      if (resting !== 'reserve') raft.transition(resting);
    }
    return { term: raft.term };
  }
}
