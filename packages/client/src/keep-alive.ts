import { type Cancellable, type Scheduler } from '@copycat/common';

export interface KeepAliveTimerOptions {
  readonly scheduler: Scheduler;
  /** Time to send a keep-alive (every third of the session timeout). */
  readonly tick: () => void;
  /** No keep-alive succeeded for a whole session timeout: the session may have expired. */
  readonly lapsed: () => void;
}

/**
 * The session's two clocks: keep-alives every `timeout / 3` (so two may be lost before the
 * session expires), and the watch that notices when none succeeded for a whole `timeout`.
 */
export class KeepAliveTimer {
  private periodic: Cancellable | undefined;
  private watch: Cancellable | undefined;
  private timeout = 0;

  constructor(private readonly options: KeepAliveTimerOptions) {}

  /** Starts both clocks for a session with `timeout` (ms), as if a keep-alive just succeeded. */
  start(timeout: number): void {
    this.stop();
    this.timeout = timeout;
    const period = timeout / 3;
    this.periodic = this.options.scheduler.scheduleAtFixedRate(period, period, this.options.tick);
    this.alive();
  }

  /** A keep-alive (or the registration) succeeded: the session timeout starts again. */
  alive(): void {
    if (this.periodic === undefined) return;
    this.watch?.cancel();
    this.watch = this.options.scheduler.schedule(this.timeout, () => {
      this.watch = undefined;
      this.options.lapsed();
    });
  }

  stop(): void {
    this.periodic?.cancel();
    this.watch?.cancel();
    this.periodic = undefined;
    this.watch = undefined;
  }
}
