/**
 * `runSimulation`: the usual setup in one call. A scheduler and a history clocked by it, a
 * fault schedule drawn from the same seed (on its own stream), all attached to the failure
 * report, and the body run under `withSeed`.
 */
import { FaultSchedule } from '../faults/schedule.js';
import type { FaultScheduleOptions } from '../faults/generate.js';
import { History } from '../history/history.js';
import type { Model } from '../models/model.js';
import { SimulatedScheduler, type SimulatedSchedulerOptions } from '../scheduler/simulated-scheduler.js';
import { withSeed, type SimulationReport, type WithSeedOptions } from './report.js';

export interface SimulationOptions extends WithSeedOptions {
  seed: number;
  /** Scheduler options other than the seed. */
  scheduler?: Omit<SimulatedSchedulerOptions, 'seed'>;
  /** Draws a fault schedule (not applied: the body applies it to its cluster harness). */
  faults?: Omit<FaultScheduleOptions, 'seed'>;
  /** The model the history is checked against when explaining a failure. */
  model?: Model<unknown>;
}

export interface Simulation {
  readonly seed: number;
  readonly scheduler: SimulatedScheduler;
  /** Clocked by the scheduler's virtual time. */
  readonly history: History;
  /** Drawn from the seed when `faults` was given. */
  readonly faults: FaultSchedule | undefined;
  readonly report: SimulationReport;
}

export function runSimulation<T>(
  options: SimulationOptions,
  body: (simulation: Simulation) => Promise<T> | T,
): Promise<T> {
  return withSeed(
    options.seed,
    (report) => {
      const scheduler = new SimulatedScheduler({ ...options.scheduler, seed: options.seed });
      const history = new History(scheduler.now);
      const faults =
        options.faults === undefined
          ? undefined
          : FaultSchedule.generate({ ...options.faults, seed: scheduler.fork('faults') });
      if (faults !== undefined) report.setFaults(faults);
      report.setHistory(history, options.model);
      return body({ seed: options.seed, scheduler, history, faults, report });
    },
    options,
  );
}
