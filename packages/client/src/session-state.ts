import { Listeners, type Listener, type ListenerRegistration, type Logger } from '@copycat/common';

/**
 * The client's view of its session.
 * - `open`: registered, and keep-alives succeed.
 * - `suspended`: no keep-alive succeeded for longer than the session timeout; the cluster may
 *   have expired the session. The client keeps trying; the next success makes it `open` again.
 * - `expired`: the cluster said the session is unknown (it expired).
 * - `closed`: no session: before `connect()`, and after `close()` or a fatal error.
 */
export type SessionState = 'open' | 'suspended' | 'expired' | 'closed';

export interface SessionInfo {
  /** The session id (the index of its `register` entry); 0 before the first registration. */
  readonly id: number;
  readonly state: SessionState;
}

/** What `onSessionStateChange` listeners receive. */
export interface SessionStateChange extends SessionInfo {
  readonly previous: SessionState;
}

/** The session's id and state, and the listeners that hear of changes. */
export class SessionTracker {
  private current: SessionInfo = { id: 0, state: 'closed' };
  private readonly listeners: Listeners<SessionStateChange>;

  constructor(logger: Logger) {
    this.listeners = new Listeners((error) =>
      logger.error('a session state listener threw', { error: error as Error }),
    );
  }

  get info(): SessionInfo {
    return this.current;
  }

  get id(): number {
    return this.current.id;
  }

  get state(): SessionState {
    return this.current.state;
  }

  /** Moves to `state` (with a new `id` when given); listeners hear of it if anything changed. */
  transition(state: SessionState, id: number = this.current.id): void {
    const previous = this.current;
    if (previous.state === state && previous.id === id) return;
    this.current = Object.freeze({ id, state });
    this.listeners.emit(Object.freeze({ id, state, previous: previous.state }));
  }

  onChange(listener: Listener<SessionStateChange>): ListenerRegistration {
    return this.listeners.add(listener);
  }
}
