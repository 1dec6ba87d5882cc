import { ApplicationError, ConfigurationError, PriorityQueue, type Cancellable } from '@copycat/common';
import type {
  Commit,
  CommitHandler,
  OperationKind,
  RegisterOptions,
  StateMachineExecutor,
} from './state-machine.js';

interface LogTimer {
  deadline: number;
  sequence: number;
  period: number | undefined;
  callback: () => void;
  cancelled: boolean;
}

/**
 * Holds a state machine's operation handlers and runs its timers on log time. The clock only
 * moves when the apply loop calls `advance(entryTime)`, and moves to `max(clock, entryTime)`,
 * so it is monotonic and the same on every replica (INTERNALS.md, Entry time).
 */
export class LogTimeExecutor implements StateMachineExecutor {
  private readonly handlers = new Map<string, { handler: CommitHandler; kind: OperationKind }>();
  private readonly timers = new PriorityQueue<LogTimer>(
    (a, b) => a.deadline - b.deadline || a.sequence - b.sequence,
  );
  private nextSequence = 0;
  private clock = 0;

  /** Called when a timer callback throws: the error must not stop the apply loop. */
  constructor(private readonly onTimerError: (error: unknown) => void = () => {}) {}

  get time(): number {
    return this.clock;
  }

  register<T = unknown, R = unknown>(
    name: string,
    handler: CommitHandler<T, R>,
    options: RegisterOptions = {},
  ): void {
    if (typeof name !== 'string' || name === '')
      throw new ConfigurationError('operation name must be a non-empty string');
    if (this.handlers.has(name)) throw new ConfigurationError(`operation '${name}' is already registered`);
    const kind = options.kind ?? 'any';
    if (kind !== 'command' && kind !== 'query' && kind !== 'any')
      throw new ConfigurationError(`operation kind must be 'command', 'query' or 'any', got ${String(kind)}`);
    this.handlers.set(name, { handler: handler as CommitHandler, kind });
  }

  has(name: string): boolean {
    return this.handlers.has(name);
  }

  schedule(delay: number, callback: () => void): Cancellable {
    return this.add(delay, undefined, callback);
  }

  scheduleAtFixedRate(initialDelay: number, period: number, callback: () => void): Cancellable {
    if (!(period > 0)) throw new RangeError('period must be > 0');
    return this.add(initialDelay, period, callback);
  }

  private add(delay: number, period: number | undefined, callback: () => void): Cancellable {
    if (!Number.isFinite(delay) || delay < 0)
      throw new RangeError(`delay must be a finite number >= 0, got ${delay}`);
    const timer: LogTimer = {
      deadline: this.clock + delay,
      sequence: this.nextSequence++,
      period,
      callback,
      cancelled: false,
    };
    this.timers.push(timer);
    return { cancel: () => void (timer.cancelled = true) };
  }

  /**
   * Moves log time forward to `time` (never backward) and runs every timer due by then, in
   * deadline order. Called before each entry is applied.
   */
  advance(time: number): void {
    if (time > this.clock) this.clock = time;
    for (
      let timer = this.timers.peek();
      timer !== undefined && timer.deadline <= this.clock;
      timer = this.timers.peek()
    ) {
      this.timers.pop();
      if (timer.cancelled) continue;
      if (timer.period !== undefined) {
        timer.deadline += timer.period;
        timer.sequence = this.nextSequence++;
        this.timers.push(timer);
      }
      try {
        timer.callback();
      } catch (error) {
        this.onTimerError(error);
      }
    }
  }

  /**
   * Applies one commit (`as: 'command'`) or evaluates a query (`as: 'query'`) with its
   * registered handler. An unknown name, or a handler declared for the other kind, is an
   * ApplicationError (the same on every replica, so state stays identical).
   */
  apply(commit: Commit, as: 'command' | 'query' = 'command'): unknown {
    const name = commit.operation.name;
    const registered = this.handlers.get(name);
    if (registered === undefined) throw new ApplicationError(`unknown operation '${name}'`);
    if (registered.kind !== 'any' && registered.kind !== as)
      throw new ApplicationError(`'${name}' is a ${registered.kind}; it cannot be submitted as a ${as}`);
    const result = registered.handler(commit);
    if (result instanceof Promise) {
      // Never leave a rejected promise unhandled; the contract is broken either way.
      result.catch(() => {});
      throw new ApplicationError(
        `handler for '${commit.operation.name}' returned a Promise: handlers must be synchronous`,
      );
    }
    return result;
  }
}
