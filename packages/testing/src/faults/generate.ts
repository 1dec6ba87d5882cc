/**
 * Draws a fault schedule from a seed. The faulty phase lasts `duration` ms; at its end every
 * fault is undone (heal, clear link faults, resume, restart) so a test can then check liveness:
 * the cluster must recover once the faults stop. Safety is checked throughout.
 */
import { Prng } from '../prng.js';
import type { CutShape, FaultEvent, PartitionShape } from './events.js';
import type { LinkFaults, MembershipChangeKind } from './target.js';

export type FaultKind =
  | 'partition-halves'
  | 'isolate-node'
  | 'isolate-leader'
  | 'bridge'
  | 'ring'
  | 'random-cut'
  | 'drop'
  | 'delay'
  | 'duplicate'
  | 'reorder'
  | 'crash'
  | 'pause'
  | 'membership';

/** Every kind but `membership`, which needs a harness hook. */
export const DEFAULT_FAULT_KINDS: readonly FaultKind[] = [
  'partition-halves',
  'isolate-node',
  'isolate-leader',
  'bridge',
  'ring',
  'random-cut',
  'drop',
  'delay',
  'duplicate',
  'reorder',
  'crash',
  'pause',
];

export interface FaultScheduleOptions {
  /** The seed, or a stream (e.g. `scheduler.fork('faults')`). */
  seed: number | Prng;
  /** The cluster's nodes. */
  nodes: readonly string[];
  /** Length of the faulty phase in ms; everything is healed at `start + duration`. */
  duration: number;
  /** When the first fault may start (e.g. after the first election). Default 0. */
  start?: number;
  /** Which faults to draw from. Default `DEFAULT_FAULT_KINDS`. */
  kinds?: readonly FaultKind[];
  /** Mean time between fault starts, in ms (exponentially distributed). Default duration / 8. */
  meanInterval?: number;
  /** How long one fault lasts, drawn uniformly. Default duration / 20 to duration / 4. */
  faultDuration?: { min: number; max: number };
  /** Scales message fault probabilities, in (0, 1]. Default 0.3. */
  intensity?: number;
  /** Largest extra message delay of a `delay` fault, in ms. Default 100. */
  maxDelay?: number;
  /**
   * At most this many nodes crashed or paused at once. Default: a minority, floor((n - 1) / 2),
   * so a quorum stays up and liveness is expected between faults too.
   */
  maxDown?: number;
  /** Probability that a crash also loses the node's disk. Default 0 (see README: unsafe for Raft). */
  loseDiskProbability?: number;
  /** Nodes that membership changes may name. Default `nodes`. */
  membershipNodes?: readonly string[];
  /** Membership change kinds to draw. Default all four. */
  membershipChanges?: readonly MembershipChangeKind[];
}

/** The normalised options a schedule was drawn with (printed with it). */
export interface ResolvedFaultOptions {
  seed: number;
  nodes: readonly string[];
  start: number;
  duration: number;
  kinds: readonly FaultKind[];
  meanInterval: number;
  faultDuration: { min: number; max: number };
  intensity: number;
  maxDelay: number;
  maxDown: number;
  loseDiskProbability: number;
}

export function resolveFaultOptions(options: FaultScheduleOptions): ResolvedFaultOptions {
  const duration = options.duration;
  if (!Number.isFinite(duration) || duration < 0)
    throw new RangeError(`duration must be >= 0, got ${duration}`);
  if (options.nodes.length === 0) throw new RangeError('nodes must not be empty');
  const n = options.nodes.length;
  const faultDuration = options.faultDuration ?? {
    min: Math.max(1, duration / 20),
    max: Math.max(1, duration / 4),
  };
  if (!(faultDuration.min >= 0 && faultDuration.max >= faultDuration.min)) {
    throw new RangeError(
      `faultDuration must satisfy 0 <= min <= max, got ${faultDuration.min}..${faultDuration.max}`,
    );
  }
  const intensity = options.intensity ?? 0.3;
  if (!(intensity > 0 && intensity <= 1))
    throw new RangeError(`intensity must be in (0, 1], got ${intensity}`);
  return {
    seed: typeof options.seed === 'number' ? options.seed : options.seed.seed,
    nodes: [...options.nodes],
    start: options.start ?? 0,
    duration,
    kinds: options.kinds ?? DEFAULT_FAULT_KINDS,
    meanInterval: options.meanInterval ?? Math.max(1, duration / 8),
    faultDuration,
    intensity,
    maxDelay: options.maxDelay ?? 100,
    maxDown: options.maxDown ?? Math.floor((n - 1) / 2),
    loseDiskProbability: options.loseDiskProbability ?? 0,
  };
}

/** Draws the events of a schedule; see `FaultSchedule.generate`. */
export function generateFaultEvents(options: FaultScheduleOptions): {
  events: FaultEvent[];
  healedAt: number;
} {
  const o = resolveFaultOptions(options);
  const random = typeof options.seed === 'number' ? new Prng(options.seed).fork('faults') : options.seed;
  const nodes = o.nodes;
  const membershipNodes = options.membershipNodes ?? nodes;
  const membershipChanges = options.membershipChanges ?? (['join', 'leave', 'promote', 'demote'] as const);
  const healAt = o.start + o.duration;
  const events: FaultEvent[] = [];
  const round = (ms: number) => Math.round(ms);

  let networkUntil = -Infinity;
  let linkUntil = -Infinity;
  /** Crashed or paused nodes and when they come back (Infinity: at the final heal). */
  const down = new Map<string, { until: number; kind: 'crash' | 'pause' }>();

  const interval = () => -o.meanInterval * Math.log(1 - random.random());
  const length = () => o.faultDuration.min + random.random() * (o.faultDuration.max - o.faultDuration.min);

  if (o.kinds.length > 0) {
    for (let t = round(o.start + interval()); t < healAt; t = round(t + Math.max(1, interval()))) {
      const kind = random.pick(o.kinds);
      const end = round(t + length());
      const recovers = end < healAt; // otherwise the final heal undoes it
      for (const [node, state] of down) if (state.until <= t) down.delete(node);

      switch (kind) {
        case 'partition-halves':
        case 'isolate-node':
        case 'isolate-leader':
        case 'bridge':
        case 'ring':
        case 'random-cut': {
          if (t < networkUntil) break;
          const event = networkFault(kind, t, nodes, random);
          if (event === undefined) break;
          events.push(event);
          networkUntil = end;
          if (recovers) events.push({ at: end, kind: 'heal' });
          break;
        }
        case 'drop':
        case 'delay':
        case 'duplicate':
        case 'reorder': {
          if (t < linkUntil || nodes.length < 2) break;
          const faults = linkFaults(kind, o.intensity, o.maxDelay, random);
          if (random.chance(0.3)) {
            const [from, to] = random.shuffle(nodes);
            events.push({ at: t, kind: 'link-faults', faults, link: { from: from!, to: to! } });
          } else {
            events.push({ at: t, kind: 'link-faults', faults });
          }
          linkUntil = end;
          if (recovers) events.push({ at: end, kind: 'clear-faults' });
          break;
        }
        case 'crash':
        case 'pause': {
          if (down.size >= o.maxDown) break;
          const up = nodes.filter((node) => !down.has(node));
          if (up.length === 0) break;
          const node = random.pick(up);
          if (kind === 'crash') {
            events.push({ at: t, kind: 'crash', node, loseDisk: random.chance(o.loseDiskProbability) });
            if (recovers) events.push({ at: end, kind: 'restart', node });
          } else {
            events.push({ at: t, kind: 'pause', node });
            if (recovers) events.push({ at: end, kind: 'resume', node });
          }
          down.set(node, { until: recovers ? end : Infinity, kind });
          break;
        }
        case 'membership': {
          if (membershipNodes.length === 0 || membershipChanges.length === 0) break;
          events.push({
            at: t,
            kind: 'membership',
            change: { kind: random.pick(membershipChanges), node: random.pick(membershipNodes) },
          });
          break;
        }
      }
    }
  }

  // The final heal phase: everything the faulty phase left broken comes back.
  events.push({ at: healAt, kind: 'heal' }, { at: healAt, kind: 'clear-faults' });
  for (const [node, state] of down) {
    if (state.until !== Infinity) continue; // it came back during the faulty phase
    events.push(
      state.kind === 'crash' ? { at: healAt, kind: 'restart', node } : { at: healAt, kind: 'resume', node },
    );
  }
  // Stable: events at the same instant keep the order they were drawn in (a heal drawn for a
  // fault's end comes before a fault drawn to start at that same instant).
  events.sort((a, b) => a.at - b.at);
  return { events, healedAt: healAt };
}

function networkFault(
  kind: 'partition-halves' | 'isolate-node' | 'isolate-leader' | 'bridge' | 'ring' | 'random-cut',
  at: number,
  nodes: readonly string[],
  random: Prng,
): FaultEvent | undefined {
  const n = nodes.length;
  if (n < 2) return undefined;
  const shuffled = random.shuffle(nodes);
  const partition = (shape: PartitionShape, groups: string[][]): FaultEvent => ({
    at,
    kind: 'partition',
    shape,
    groups,
  });
  const cut = (shape: CutShape, links: [string, string][]): FaultEvent | undefined =>
    links.length === 0 ? undefined : { at, kind: 'cut', shape, links };
  switch (kind) {
    case 'partition-halves': {
      const half = Math.floor(n / 2);
      return partition('halves', [shuffled.slice(0, half), shuffled.slice(half)]);
    }
    case 'isolate-node':
      return partition('isolate-node', [shuffled.slice(0, 1), shuffled.slice(1)]);
    case 'isolate-leader':
      return { at, kind: 'isolate-leader' };
    case 'bridge': {
      // Two sides that each hold a majority with the bridge node, which sees both (Jepsen).
      if (n < 3) return undefined;
      const half = Math.floor(n / 2);
      const left = shuffled.slice(0, half);
      const right = shuffled.slice(half + 1);
      return cut(
        'bridge',
        left.flatMap((a) => right.map((b): [string, string] => [a, b])),
      );
    }
    case 'ring': {
      // Each node talks only to its two ring neighbours: every node sees a majority for n = 5,
      // but no two of them see the same one.
      if (n < 4) return networkFault('random-cut', at, nodes, random);
      const links: [string, string][] = [];
      for (let i = 0; i < n; i++) {
        for (let j = i + 1; j < n; j++) {
          const adjacent = j === i + 1 || (i === 0 && j === n - 1);
          if (!adjacent) links.push([shuffled[i]!, shuffled[j]!]);
        }
      }
      return cut('ring', links);
    }
    case 'random-cut': {
      const links: [string, string][] = [];
      for (let i = 0; i < n; i++) {
        for (let j = i + 1; j < n; j++) if (random.chance(0.4)) links.push([shuffled[i]!, shuffled[j]!]);
      }
      if (links.length === 0) links.push([shuffled[0]!, shuffled[1]!]);
      return cut('random-cut', links);
    }
  }
}

function linkFaults(
  kind: 'drop' | 'delay' | 'duplicate' | 'reorder',
  intensity: number,
  maxDelay: number,
  random: Prng,
): LinkFaults {
  const probability = () => Math.round(intensity * (0.2 + 0.8 * random.random()) * 100) / 100;
  switch (kind) {
    case 'drop':
      return { drop: probability() };
    case 'delay': {
      const max = random.randomInt(1, Math.max(2, Math.round(maxDelay)) + 1);
      return { delay: { min: random.randomInt(0, max), max } };
    }
    case 'duplicate':
      return { duplicate: probability() };
    case 'reorder':
      return { reorder: probability() };
  }
}
