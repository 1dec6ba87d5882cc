/**
 * An ordered set of listeners. Listeners run in the order they were added; a listener that
 * throws is reported to `onError` and does not stop the others.
 */
export type Listener<T> = (value: T) => void;

/** Returned by `add`: call `close()` to remove the listener. Idempotent. */
export interface ListenerRegistration {
  close(): void;
}

export class Listeners<T> {
  private readonly listeners = new Set<Listener<T>>();

  constructor(private readonly onError: (error: unknown) => void = defaultListenerErrorHandler) {}

  get size(): number {
    return this.listeners.size;
  }

  add(listener: Listener<T>): ListenerRegistration {
    // Wrap so that adding the same function twice gives two independent registrations.
    const entry: Listener<T> = (value) => listener(value);
    this.listeners.add(entry);
    return { close: () => void this.listeners.delete(entry) };
  }

  /** Calls every listener registered when `emit` starts, in order. */
  emit(value: T): void {
    for (const listener of [...this.listeners]) {
      try {
        listener(value);
      } catch (error) {
        this.onError(error);
      }
    }
  }

  clear(): void {
    this.listeners.clear();
  }
}

function defaultListenerErrorHandler(error: unknown): void {
  // A listener's bug must not break the emitter; surface it where Node reports unhandled errors.
  queueMicrotask(() => {
    throw error;
  });
}
