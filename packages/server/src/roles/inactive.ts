import type { ConfigureRequest, ConfigureResponse } from '../raft/messages.js';
import { Role } from './role.js';

/**
 * Not a member of the cluster (yet, or any more): refuses Raft requests, but accepts the
 * configuration a leader pushes after adding it (that is how a joining server starts).
 */
export class InactiveRole extends Role {
  readonly name = 'inactive';

  override onConfigure(request: ConfigureRequest): ConfigureResponse {
    return this.adoptConfiguration(request);
  }
}
