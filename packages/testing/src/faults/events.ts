/**
 * A fault schedule is data: timed events that print readably and replay exactly. Shapes that
 * depend on randomness (which nodes, which links) are resolved when the schedule is generated,
 * so the printed schedule is exactly what ran. Only `isolate-leader` is resolved when applied,
 * because the leader is known only then; the applied log records whom it isolated.
 */
import type { Link, LinkFaults, MembershipChange } from './target.js';

/** How a network split was drawn, for printing. */
export type PartitionShape = 'halves' | 'isolate-node';
/** How a set of cut links was drawn, for printing. */
export type CutShape = 'bridge' | 'ring' | 'random-cut';

export type FaultEvent =
  | { at: number; kind: 'partition'; shape: PartitionShape; groups: string[][] }
  | { at: number; kind: 'cut'; shape: CutShape; links: [string, string][] }
  | { at: number; kind: 'isolate-leader' }
  | { at: number; kind: 'heal' }
  | { at: number; kind: 'link-faults'; faults: LinkFaults; link?: Link }
  | { at: number; kind: 'clear-faults' }
  | { at: number; kind: 'crash'; node: string; loseDisk: boolean }
  | { at: number; kind: 'restart'; node: string }
  | { at: number; kind: 'pause'; node: string }
  | { at: number; kind: 'resume'; node: string }
  | { at: number; kind: 'membership'; change: MembershipChange };

export type FaultEventKind = FaultEvent['kind'];

/** One line describing an event, without its time. */
export function describeEvent(event: FaultEvent): string {
  switch (event.kind) {
    case 'partition':
      return `partition ${event.shape.padEnd(12)} ${event.groups.map((g) => `{${g.join(' ')}}`).join(' | ')}`;
    case 'cut':
      return `cut ${event.shape.padEnd(18)} ${event.links.map(([a, b]) => `${a}-x-${b}`).join(' ')}`;
    case 'isolate-leader':
      return 'isolate leader';
    case 'heal':
      return 'heal network';
    case 'link-faults':
      return `link faults ${describeFaults(event.faults)}${event.link === undefined ? ' on all links' : ` on ${event.link.from ?? '*'} -> ${event.link.to ?? '*'}`}`;
    case 'clear-faults':
      return 'clear link faults';
    case 'crash':
      return `crash ${event.node}${event.loseDisk ? ' (disk lost)' : ''}`;
    case 'restart':
      return `restart ${event.node}`;
    case 'pause':
      return `pause ${event.node}`;
    case 'resume':
      return `resume ${event.node}`;
    case 'membership':
      return `membership ${event.change.kind} ${event.change.node}`;
  }
}

export function describeFaults(faults: LinkFaults): string {
  const parts: string[] = [];
  if (faults.drop !== undefined) parts.push(`drop ${percent(faults.drop)}`);
  if (faults.delay !== undefined) parts.push(`delay ${faults.delay.min}-${faults.delay.max} ms`);
  if (faults.duplicate !== undefined) parts.push(`duplicate ${percent(faults.duplicate)}`);
  if (faults.reorder !== undefined) parts.push(`reorder ${percent(faults.reorder)}`);
  return parts.length === 0 ? 'none' : parts.join(', ');
}

function percent(p: number): string {
  return `${Math.round(p * 1000) / 10}%`;
}

/** Seconds with millisecond precision, right-aligned: "   12.345s". */
export function formatTime(ms: number): string {
  return `${(ms / 1000).toFixed(3)}s`.padStart(10);
}
