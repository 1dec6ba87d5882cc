/**
 * `FaultSchedule`: a seeded, printable, replayable list of timed faults, and `apply()`, which
 * plays it against a `FaultTarget` on any `Scheduler`.
 */
import type { Cancellable, Scheduler } from '@copycat/common';
import { describeEvent, formatTime, type FaultEvent } from './events.js';
import {
  generateFaultEvents,
  resolveFaultOptions,
  type FaultScheduleOptions,
  type ResolvedFaultOptions,
} from './generate.js';
import type { FaultTarget } from './target.js';

export interface AppliedFault {
  /** The event's time in the schedule (relative to `apply`). */
  readonly at: number;
  /** The scheduler's time when it was applied. */
  readonly time: number;
  readonly event: FaultEvent;
  /** What happened, when not simply "done": whom `isolate-leader` isolated, a refused change. */
  readonly note?: string;
}

export interface ApplyOptions {
  /**
   * Called when a target method fails (throws, or its promise rejects). By default the error is
   * rethrown from a scheduler task (delay 0), so a simulated run fails loudly with its seed.
   */
  onError?: (error: unknown, event: FaultEvent | undefined) => void;
}

/** A schedule being played: its log, a promise for its end, and a way to stop it. */
export interface AppliedFaults {
  /** Events applied so far, in order. */
  readonly log: readonly AppliedFault[];
  /** Resolves when the last event has been applied. */
  readonly done: Promise<void>;
  /** Stops events not yet applied. */
  cancel(): void;
  /** The log, one line per applied event. */
  describe(): string;
}

export interface FaultScheduleJson {
  seed?: number;
  healedAt: number;
  events: FaultEvent[];
}

export class FaultSchedule {
  readonly events: readonly FaultEvent[];
  /** Time after which no fault is active: the liveness phase starts here. */
  readonly healedAt: number;
  /** The seed it was drawn from, if it was drawn. */
  readonly seed: number | undefined;
  /** The options it was drawn with, if it was drawn. */
  readonly options: ResolvedFaultOptions | undefined;

  constructor(
    events: readonly FaultEvent[],
    meta: { seed?: number; healedAt?: number; options?: ResolvedFaultOptions } = {},
  ) {
    for (const event of events) {
      if (!Number.isFinite(event.at) || event.at < 0)
        throw new RangeError(`fault event time must be >= 0, got ${event.at}`);
    }
    this.events = [...events].sort((a, b) => a.at - b.at);
    this.healedAt = meta.healedAt ?? this.events.at(-1)?.at ?? 0;
    this.seed = meta.seed;
    this.options = meta.options;
  }

  /**
   * Draws a schedule from a seed: faults start at exponentially distributed intervals during
   * [start, start + duration), each lasts a random time, and at `start + duration` everything
   * is healed, resumed and restarted. The same options always give the same schedule.
   */
  static generate(options: FaultScheduleOptions): FaultSchedule {
    const resolved = resolveFaultOptions(options);
    const { events, healedAt } = generateFaultEvents(options);
    return new FaultSchedule(events, { seed: resolved.seed, healedAt, options: resolved });
  }

  static fromJSON(json: FaultScheduleJson): FaultSchedule {
    return new FaultSchedule(
      json.events,
      json.seed === undefined ? { healedAt: json.healedAt } : { seed: json.seed, healedAt: json.healedAt },
    );
  }

  toJSON(): FaultScheduleJson {
    return this.seed === undefined
      ? { healedAt: this.healedAt, events: [...this.events] }
      : { seed: this.seed, healedAt: this.healedAt, events: [...this.events] };
  }

  /** A readable listing: a header, then one line per event with its time. */
  describe(): string {
    const header = [
      `fault schedule: ${this.events.length} events, healed at ${formatTime(this.healedAt).trim()}`,
      this.seed === undefined ? '' : `, seed ${this.seed}`,
      this.options === undefined
        ? ''
        : `, nodes ${this.options.nodes.join(' ')}, kinds ${this.options.kinds.join(' ')}`,
    ].join('');
    return [header, ...this.events.map((e) => `${formatTime(e.at)}  ${describeEvent(e)}`)].join('\n');
  }

  toString(): string {
    return this.describe();
  }

  /**
   * Schedules every event on `scheduler`, `at` ms from now. Events at the same instant run in
   * list order, and an event waits for the previous one's promise (a crash completes before
   * the restart), so the schedule's order is the order the target sees.
   */
  apply(target: FaultTarget, scheduler: Scheduler, options: ApplyOptions = {}): AppliedFaults {
    const log: AppliedFault[] = [];
    const timers: Cancellable[] = [];
    let cancelled = false;
    let remaining = 0;
    let resolveDone!: () => void;
    const done = new Promise<void>((resolve) => (resolveDone = resolve));
    const start = scheduler.now();

    // By default a failure is rethrown from a scheduler task: the run fails, with its seed.
    const onError =
      options.onError ??
      ((error: unknown) => {
        scheduler.schedule(0, () => {
          throw error;
        });
      });

    const record = (event: FaultEvent, note: string | undefined) =>
      log.push(
        note === undefined
          ? { at: event.at, time: scheduler.now(), event }
          : { at: event.at, time: scheduler.now(), event, note },
      );

    // Runs `events` in order; returns a promise only if one of them went async. Never throws.
    const runAll = (events: readonly FaultEvent[], from: number): Promise<void> | undefined => {
      for (let i = from; i < events.length; i++) {
        if (cancelled) return undefined;
        const event = events[i]!;
        let outcome: ReturnType<typeof applyEvent>;
        try {
          outcome = applyEvent(target, event);
        } catch (error) {
          record(event, `failed: ${describeError(error)}`);
          onError(error, event);
          continue;
        }
        if (outcome.promise === undefined) {
          record(event, outcome.note);
          continue;
        }
        return outcome.promise.then(
          () => {
            record(event, outcome.note);
            return runAll(events, i + 1);
          },
          (error: unknown) => {
            // A cluster may refuse a membership change (e.g. removing a non-member): not a failure.
            if (event.kind === 'membership') {
              record(event, `refused: ${describeError(error)}`);
            } else {
              record(event, `failed: ${describeError(error)}`);
              onError(error, event);
            }
            return runAll(events, i + 1);
          },
        );
      }
      return undefined;
    };

    const finishGroup = () => {
      if (--remaining === 0) resolveDone();
    };

    // The end of the chain of groups still waiting on a target promise; undefined when idle.
    let tail: Promise<void> | undefined;
    const track = (pending: Promise<void>) => {
      const chained = pending.then(finishGroup, (error: unknown) => {
        onError(error, undefined); // not expected: runAll catches target errors itself
        finishGroup();
      });
      tail = chained;
      void chained.then(() => {
        if (tail === chained) tail = undefined;
      });
    };
    const runGroup = (group: readonly FaultEvent[]) => {
      if (tail !== undefined) {
        track(tail.then(() => runAll(group, 0)));
        return;
      }
      const pending = runAll(group, 0);
      if (pending === undefined) finishGroup();
      else track(pending);
    };

    const groups = groupByTime(this.events);
    remaining = groups.length;
    if (remaining === 0) resolveDone();
    for (const group of groups) {
      const delay = Math.max(0, group[0]!.at - (scheduler.now() - start));
      timers.push(scheduler.schedule(delay, () => runGroup(group)));
    }

    return {
      log,
      done,
      cancel: () => {
        cancelled = true;
        for (const timer of timers) timer.cancel();
        resolveDone();
      },
      describe: () =>
        log
          .map(
            (entry) =>
              `${formatTime(entry.time)}  ${describeEvent(entry.event)}${entry.note === undefined ? '' : `  (${entry.note})`}`,
          )
          .join('\n'),
    };
  }
}

function applyEvent(target: FaultTarget, event: FaultEvent): { promise?: Promise<void>; note?: string } {
  const wrap = (value: void | Promise<void>) => (value instanceof Promise ? { promise: value } : {});
  switch (event.kind) {
    case 'partition':
      target.partition(...event.groups.map((g) => [...g]));
      return {};
    case 'cut':
      for (const [a, b] of event.links) target.disconnect(a, b);
      return {};
    case 'isolate-leader': {
      const leader = target.leader();
      if (leader === undefined) return { note: 'skipped: no leader' };
      target.partition(
        [leader],
        target.nodes().filter((n) => n !== leader),
      );
      return { note: `isolated ${leader}` };
    }
    case 'heal':
      target.heal();
      return {};
    case 'link-faults':
      if (event.link === undefined) target.setFaults({ ...event.faults });
      else target.setFaults({ ...event.faults }, { ...event.link });
      return {};
    case 'clear-faults':
      target.clearFaults();
      return {};
    case 'crash':
      return wrap(target.crash(event.node, { loseDisk: event.loseDisk }));
    case 'restart':
      return wrap(target.restart(event.node));
    case 'pause':
      target.pause(event.node);
      return {};
    case 'resume':
      target.resume(event.node);
      return {};
    case 'membership':
      if (target.membership === undefined) return { note: 'skipped: the target has no membership hook' };
      return wrap(target.membership({ ...event.change }));
  }
}

function groupByTime(events: readonly FaultEvent[]): FaultEvent[][] {
  const groups: FaultEvent[][] = [];
  for (const event of events) {
    const last = groups.at(-1);
    if (last !== undefined && last[0]!.at === event.at) last.push(event);
    else groups.push([event]);
  }
  return groups;
}

function describeError(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
