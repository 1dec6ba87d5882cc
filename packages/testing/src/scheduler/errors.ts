/** Why a simulated run stopped with an error. */
export type SimulationErrorReason =
  /** More steps than `maxSteps` in one run call: a livelock, or a limit set too low. */
  | 'step-limit'
  /** `runUntil(predicate)` found no timer left while the predicate was still false. */
  | 'stalled'
  /** `runUntil(predicate, { timeout })` reached the virtual deadline first. */
  | 'timeout'
  /** A timer task threw. */
  | 'task-threw'
  /** A task run by `runSync*` created or settled a promise, which only async runs drain. */
  | 'promise-in-sync-run'
  /** A run method was called while another run of the same scheduler was in progress. */
  | 'reentrant-run';

/**
 * A simulated run failed. The message always carries the seed and the virtual time so the run
 * can be replayed (`SEED=<seed>`), and `cause` holds a task's own error.
 */
export class SimulationError extends Error {
  constructor(
    readonly reason: SimulationErrorReason,
    readonly seed: number,
    readonly time: number,
    readonly steps: number,
    detail: string,
    options: { cause?: unknown } = {},
  ) {
    super(
      `${detail} (seed ${seed}, virtual time ${time} ms, step ${steps})`,
      options.cause === undefined ? undefined : { cause: options.cause },
    );
    this.name = 'SimulationError';
  }
}
