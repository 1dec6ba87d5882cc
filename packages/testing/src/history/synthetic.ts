/**
 * Histories that are linearizable by construction, for testing the checker and benchmarking it:
 * operations run against a real sequential implementation, each taking effect at one instant
 * between its invocation and its completion, under a seeded random interleaving of processes.
 * Operations with unknown outcome (`info`) take effect before or after their `info` event, or
 * never; those that `fail` never take effect.
 */
import { Prng } from '../prng.js';
import { History } from './history.js';
import type { OperationCall, ProcessId } from './types.js';

export interface SynthesizeOptions {
  seed: number;
  /** Number of operations to invoke. */
  operations: number;
  /** Number of concurrent processes. */
  processes: number;
  /** Fraction of operations whose outcome is recorded as `info`. Default 0. */
  infoRate?: number;
  /** Fraction of operations that fail (and never take effect). Default 0. */
  failRate?: number;
  /** Fraction of `info` operations that never take effect. Default 0.5. */
  lostRate?: number;
  /** Draws the next operation for a process. */
  next(random: Prng, process: ProcessId): OperationCall;
  /** The sequential implementation: applies an operation, returns its output. */
  apply(op: OperationCall & { readonly process: ProcessId }): unknown;
}

interface InFlight {
  id: number;
  process: ProcessId;
  op: OperationCall;
  fate: 'ok' | 'fail' | 'info';
  applied: boolean;
  output: unknown;
}

export function synthesizeHistory(options: SynthesizeOptions): History {
  const random = new Prng(options.seed).fork('synthetic-history');
  const infoRate = options.infoRate ?? 0;
  const failRate = options.failRate ?? 0;
  const lostRate = options.lostRate ?? 0.5;
  let time = 0;
  const history = new History(() => time);
  // After an `info`, a process is retired and replaced by a fresh one, as Jepsen does: its old
  // operation may still be in flight.
  const ids: ProcessId[] = Array.from({ length: options.processes }, (_, i) => i);
  let nextProcessId = options.processes;
  const busy: (InFlight | undefined)[] = new Array<InFlight | undefined>(options.processes);
  const lost: InFlight[] = [];
  let invoked = 0;
  let active = 0;

  const apply = (f: InFlight) => {
    f.output = options.apply({ ...f.op, process: f.process });
    f.applied = true;
  };

  while (invoked < options.operations || active > 0 || lost.length > 0) {
    time++;
    if (lost.length > 0 && (random.chance(0.1) || (invoked >= options.operations && active === 0))) {
      const f = lost.splice(random.randomInt(0, lost.length), 1)[0]!;
      if (!random.chance(lostRate)) apply(f);
      continue;
    }
    const slot = random.randomInt(0, options.processes);
    const f = busy[slot];
    if (f === undefined) {
      if (invoked >= options.operations) continue;
      const process = ids[slot]!;
      const op = options.next(random, process);
      const roll = random.random();
      const fate = roll < failRate ? 'fail' : roll < failRate + infoRate ? 'info' : 'ok';
      busy[slot] = { id: history.invoke(process, op), process, op, fate, applied: false, output: undefined };
      invoked++;
      active++;
      continue;
    }
    if (f.fate === 'fail') {
      history.fail(f.id, 'synthetic failure');
    } else if (!f.applied && (f.fate === 'ok' || random.chance(0.5))) {
      apply(f);
      continue;
    } else if (f.fate === 'ok') {
      history.ok(f.id, f.output);
    } else {
      history.info(f.id, 'synthetic timeout');
      if (!f.applied) lost.push(f);
      ids[slot] = nextProcessId++;
    }
    busy[slot] = undefined;
    active--;
  }
  return history;
}
