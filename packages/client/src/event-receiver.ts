import { Listeners, type Listener, type ListenerRegistration, type Logger } from '@copycat/common';
import { type Serializer } from '@copycat/io';
import { type PublishRequest } from '@copycat/protocol';

export interface EventReceiverOptions {
  readonly serializer: Serializer;
  readonly logger: Logger;
  /** A batch arrived after a gap: ask the server to resend from `index` (the last accepted batch). */
  readonly requestResend: (index: number) => void;
  /** A batch was accepted: held responses may now complete. */
  readonly delivered: () => void;
}

/**
 * Accepts the session's event batches in order, exactly once (INTERNALS.md: Session events):
 * a batch is accepted only if its `previousIndex` is the last accepted `eventIndex`; a batch at or
 * below it is a duplicate; one above it means a batch was lost, and the server is asked to resend.
 */
export class EventReceiver {
  private readonly listeners = new Map<string, Listeners<unknown>>();
  private last = 0;

  constructor(private readonly options: EventReceiverOptions) {}

  /** The `eventIndex` of the last batch accepted (0 before any, and for a new session). */
  get lastEventIndex(): number {
    return this.last;
  }

  on(name: string, listener: Listener<unknown>): ListenerRegistration {
    let listeners = this.listeners.get(name);
    if (listeners === undefined) {
      listeners = new Listeners((error) =>
        this.options.logger.error('an event listener threw', { event: name, error: error as Error }),
      );
      this.listeners.set(name, listeners);
    }
    return listeners.add(listener);
  }

  /** Handles one `publish` batch of the current session; returns the index to acknowledge. */
  receive(batch: PublishRequest): number {
    if (batch.eventIndex <= this.last) return this.last; // a duplicate: already delivered
    if (batch.previousIndex !== this.last) {
      // A batch in between is missing: deliver nothing out of order, ask for the rest again.
      this.options.logger.debug('event gap: asking for a resend', {
        lastEventIndex: this.last,
        previousIndex: batch.previousIndex,
        eventIndex: batch.eventIndex,
      });
      this.options.requestResend(this.last);
      return this.last;
    }
    for (const event of batch.events) this.deliver(event.name, event.message);
    this.last = batch.eventIndex;
    this.options.delivered();
    return this.last;
  }

  /** A new session starts its events from scratch. */
  reset(): void {
    this.last = 0;
  }

  private deliver(name: string, bytes: Uint8Array): void {
    const listeners = this.listeners.get(name);
    if (listeners === undefined || listeners.size === 0) return;
    let message: unknown;
    try {
      message = this.options.serializer.decode(bytes);
    } catch (error) {
      // The same bytes would come again on a resend: skip this event rather than stall the rest.
      this.options.logger.error('an event message could not be decoded', {
        event: name,
        error: error as Error,
      });
      return;
    }
    listeners.emit(message);
  }
}
