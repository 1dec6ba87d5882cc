import type { AppendRequest, AppendResponse, ConfigureRequest, ConfigureResponse } from '../raft/messages.js';
import { handleAppend } from './handlers.js';
import { Role } from './role.js';

/**
 * A passive member keeps a full copy of the committed log without voting: it is sent only
 * committed entries, so it can be promoted to active quickly without affecting quorums.
 */
export class PassiveRole extends Role {
  readonly name = 'passive';

  override onAppend(request: AppendRequest): AppendResponse {
    return handleAppend(this.raft, request);
  }

  override onConfigure(request: ConfigureRequest): ConfigureResponse {
    return this.adoptConfiguration(request);
  }
}
