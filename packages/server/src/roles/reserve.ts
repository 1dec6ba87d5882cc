import type { ConfigureRequest, ConfigureResponse } from '../raft/messages.js';
import { Role } from './role.js';

/**
 * A reserve member stores no log: it only follows configuration changes pushed by the leader,
 * so that it can be promoted to passive or active when an active member fails.
 */
export class ReserveRole extends Role {
  readonly name = 'reserve';

  override onConfigure(request: ConfigureRequest): ConfigureResponse {
    return this.adoptConfiguration(request);
  }
}
