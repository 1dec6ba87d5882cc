import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  DEFAULT_FAULT_KINDS,
  FaultSchedule,
  SimulatedScheduler,
  SimulationError,
  type FaultEvent,
  type FaultTarget,
  type LinkFaults,
  type MembershipChange,
} from '@copycat/testing';

const NODES = ['n1', 'n2', 'n3', 'n4', 'n5'];

/** A fake cluster that records every call, with the virtual time. */
class RecordingTarget implements FaultTarget {
  readonly calls: string[] = [];
  currentLeader: string | undefined = 'n2';
  constructor(
    private readonly sim: SimulatedScheduler,
    private readonly members: readonly string[] = NODES,
  ) {}
  private log(text: string) {
    this.calls.push(`${this.sim.now()} ${text}`);
  }
  nodes() {
    return this.members;
  }
  leader() {
    return this.currentLeader;
  }
  partition(...groups: string[][]) {
    this.log(`partition ${groups.map((g) => g.join(',')).join(' | ')}`);
  }
  disconnect(a: string, b: string) {
    this.log(`disconnect ${a} ${b}`);
  }
  heal() {
    this.log('heal');
  }
  setFaults(faults: LinkFaults, link?: { from?: string; to?: string }) {
    this.log(`faults ${JSON.stringify(faults)}${link === undefined ? '' : ` ${link.from}->${link.to}`}`);
  }
  clearFaults() {
    this.log('clear');
  }
  async crash(node: string, options: { loseDisk: boolean }) {
    this.log(`crash ${node} start${options.loseDisk ? ' lose-disk' : ''}`);
    await new Promise<void>((resolve) => this.sim.schedule(0, resolve));
    await Promise.resolve();
    this.log(`crash ${node} done`);
  }
  // A property, so tests can swap in a failing (async) restart.
  restart: (node: string) => void | Promise<void> = (node) => {
    this.log(`restart ${node}`);
  };
  pause(node: string) {
    this.log(`pause ${node}`);
  }
  resume(node: string) {
    this.log(`resume ${node}`);
  }
  async membership(change: MembershipChange) {
    this.log(`membership ${change.kind} ${change.node}`);
    if (change.kind === 'leave') throw new Error('not a member');
  }
}

/** Replays a schedule's events on a model of the cluster and checks its invariants. */
function simulateEvents(events: readonly FaultEvent[], nodes: readonly string[], maxDown: number) {
  const crashed = new Set<string>();
  const paused = new Set<string>();
  let networkFaulty = false;
  let linkFaulty = false;
  let maxSeenDown = 0;
  for (const event of events) {
    switch (event.kind) {
      case 'partition':
      case 'cut':
      case 'isolate-leader':
        networkFaulty = true;
        break;
      case 'heal':
        networkFaulty = false;
        break;
      case 'link-faults':
        linkFaulty = true;
        break;
      case 'clear-faults':
        linkFaulty = false;
        break;
      case 'crash':
        expect(crashed.has(event.node) || paused.has(event.node)).toBe(false);
        crashed.add(event.node);
        break;
      case 'restart':
        expect(crashed.delete(event.node)).toBe(true);
        break;
      case 'pause':
        expect(crashed.has(event.node) || paused.has(event.node)).toBe(false);
        paused.add(event.node);
        break;
      case 'resume':
        expect(paused.delete(event.node)).toBe(true);
        break;
      case 'membership':
        break;
    }
    expect(nodes).toEqual(expect.arrayContaining([...crashed, ...paused]));
    maxSeenDown = Math.max(maxSeenDown, crashed.size + paused.size);
  }
  expect(maxSeenDown).toBeLessThanOrEqual(maxDown);
  return { crashed, paused, networkFaulty, linkFaulty };
}

describe('FaultSchedule.generate', () => {
  it('is a function of its seed and options: same seed, same schedule', () => {
    const make = (seed: number) => FaultSchedule.generate({ seed, nodes: NODES, duration: 30_000 });
    expect(make(1).toJSON()).toEqual(make(1).toJSON());
    expect(make(1).describe()).toEqual(make(1).describe());
    expect(make(1).toJSON()).not.toEqual(make(2).toJSON());
    expect(make(1).events.length).toBeGreaterThan(5);
  });

  it('every schedule ends healed, never has more than maxDown nodes down, and never crashes a down node', () => {
    fc.assert(
      fc.property(
        fc.nat({ max: 1_000_000 }),
        fc.integer({ min: 1, max: 7 }),
        fc.integer({ min: 0, max: 60_000 }),
        fc.subarray([...DEFAULT_FAULT_KINDS, 'membership' as const], { minLength: 0 }),
        (seed, n, duration, kinds) => {
          const nodes = Array.from({ length: n }, (_, i) => `s${i}`);
          const schedule = FaultSchedule.generate({ seed, nodes, duration, kinds, start: 100 });
          const maxDown = Math.floor((n - 1) / 2);
          const end = simulateEvents(schedule.events, nodes, maxDown);
          expect(end.crashed.size + end.paused.size).toBe(0);
          expect(end.networkFaulty).toBe(false);
          expect(end.linkFaulty).toBe(false);
          expect(schedule.healedAt).toBe(100 + duration);
          expect(schedule.events.every((e) => e.at <= schedule.healedAt)).toBe(true);
          expect(schedule.events.filter((e) => e.at < 100).length).toBe(0);
          for (let i = 1; i < schedule.events.length; i++)
            expect(schedule.events[i]!.at).toBeGreaterThanOrEqual(schedule.events[i - 1]!.at);
          const drawn = new Set(schedule.events.filter((e) => e.at < schedule.healedAt).map((e) => e.kind));
          if (!kinds.includes('crash')) expect(drawn.has('crash')).toBe(false);
          if (!kinds.includes('pause')) expect(drawn.has('pause')).toBe(false);
          if (!kinds.includes('membership')) expect(drawn.has('membership')).toBe(false);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('maxDown can allow a majority down, e.g. to test that the cluster stays safe', () => {
    const schedule = FaultSchedule.generate({
      seed: 3,
      nodes: NODES,
      duration: 60_000,
      kinds: ['crash'],
      maxDown: 4,
      meanInterval: 500,
      faultDuration: { min: 5000, max: 20_000 },
    });
    let down = 0;
    let most = 0;
    for (const event of schedule.events) {
      if (event.kind === 'crash') down++;
      if (event.kind === 'restart') down--;
      most = Math.max(most, down);
    }
    expect(most).toBeGreaterThan(2);
    expect(most).toBeLessThanOrEqual(4);
  });

  it('draws each network shape as its definition says', () => {
    const shapes = FaultSchedule.generate({
      seed: 9,
      nodes: NODES,
      duration: 200_000,
      kinds: ['partition-halves', 'isolate-node', 'bridge', 'ring', 'random-cut'],
      meanInterval: 1000,
      faultDuration: { min: 100, max: 500 },
    }).events;
    const pairs = (links: [string, string][]) => new Set(links.map(([a, b]) => [a, b].sort().join('-')));
    let seen = 0;
    for (const event of shapes) {
      if (event.kind === 'partition') {
        seen++;
        expect(event.groups.flat().sort()).toEqual(NODES);
        if (event.shape === 'halves') expect(event.groups.map((g) => g.length).sort()).toEqual([2, 3]);
        if (event.shape === 'isolate-node') expect(event.groups[0]!.length).toBe(1);
      }
      if (event.kind === 'cut') {
        seen++;
        const cut = pairs(event.links);
        if (event.shape === 'bridge') {
          // One node (the bridge) keeps all its links; the others split into two sides of two.
          const bridge = NODES.filter((n) => event.links.every(([a, b]) => a !== n && b !== n));
          expect(bridge.length).toBe(1);
          expect(cut.size).toBe(4);
        }
        if (event.shape === 'ring') {
          // Each node keeps exactly its two ring neighbours.
          for (const node of NODES) {
            const kept = NODES.filter((other) => other !== node && !cut.has([node, other].sort().join('-')));
            expect(kept.length).toBe(2);
          }
        }
        if (event.shape === 'random-cut') expect(cut.size).toBeGreaterThan(0);
      }
    }
    expect(seen).toBeGreaterThan(50);
    expect(new Set(shapes.map((e) => ('shape' in e ? e.shape : e.kind)))).toEqual(
      new Set(['halves', 'isolate-node', 'bridge', 'ring', 'random-cut', 'heal', 'clear-faults']),
    );
  });

  it('rejects options it cannot honour', () => {
    expect(() => FaultSchedule.generate({ seed: 1, nodes: [], duration: 10 })).toThrow(RangeError);
    expect(() => FaultSchedule.generate({ seed: 1, nodes: NODES, duration: -1 })).toThrow(RangeError);
    expect(() => FaultSchedule.generate({ seed: 1, nodes: NODES, duration: 10, intensity: 2 })).toThrow(
      RangeError,
    );
    expect(() =>
      FaultSchedule.generate({ seed: 1, nodes: NODES, duration: 10, faultDuration: { min: 5, max: 1 } }),
    ).toThrow(RangeError);
  });

  it('prints readably and round-trips through JSON', () => {
    const schedule = FaultSchedule.generate({
      seed: 4,
      nodes: NODES,
      duration: 20_000,
      loseDiskProbability: 1,
    });
    const text = schedule.describe();
    expect(text.split('\n')[0]).toMatch(
      /^fault schedule: \d+ events, healed at 20\.000s, seed 4, nodes n1 n2 n3 n4 n5/,
    );
    expect(text.split('\n').length).toBe(schedule.events.length + 1);
    expect(text).toMatch(/ {3,}\d+\.\d{3}s {2}heal network/);
    if (schedule.events.some((e) => e.kind === 'crash')) expect(text).toContain('(disk lost)');
    expect(String(schedule)).toBe(text);
    const copy = FaultSchedule.fromJSON(JSON.parse(JSON.stringify(schedule.toJSON())));
    expect(copy.events).toEqual(schedule.events);
    expect(copy.healedAt).toBe(schedule.healedAt);
    expect(copy.seed).toBe(4);
  });
});

describe('FaultSchedule.apply', () => {
  it('calls the target at the scheduled times, in schedule order, waiting for async methods', async () => {
    const sim = new SimulatedScheduler({ seed: 1 });
    const target = new RecordingTarget(sim);
    const schedule = new FaultSchedule([
      {
        at: 10,
        kind: 'partition',
        shape: 'halves',
        groups: [
          ['n1', 'n2'],
          ['n3', 'n4', 'n5'],
        ],
      },
      { at: 20, kind: 'crash', node: 'n1', loseDisk: false },
      { at: 20, kind: 'restart', node: 'n1' },
      { at: 20, kind: 'heal' },
      { at: 30, kind: 'link-faults', faults: { drop: 0.5 }, link: { from: 'n1', to: 'n2' } },
      { at: 35, kind: 'cut', shape: 'random-cut', links: [['n1', 'n3']] },
      { at: 40, kind: 'clear-faults' },
      { at: 50, kind: 'pause', node: 'n3' },
      { at: 60, kind: 'resume', node: 'n3' },
    ]);
    const applied = schedule.apply(target, sim);
    let done = false;
    void applied.done.then(() => (done = true));
    await sim.runUntilIdle();
    expect(done).toBe(true);
    expect(target.calls).toEqual([
      '10 partition n1,n2 | n3,n4,n5',
      '20 crash n1 start',
      '20 crash n1 done',
      '20 restart n1',
      '20 heal',
      '30 faults {"drop":0.5} n1->n2',
      '35 disconnect n1 n3',
      '40 clear',
      '50 pause n3',
      '60 resume n3',
    ]);
    expect(applied.log.map((entry) => entry.event.kind)).toEqual(schedule.events.map((e) => e.kind));
    expect(applied.describe()).toContain('crash n1');
  });

  it('isolates the leader known when the event runs, and records whom', async () => {
    const sim = new SimulatedScheduler({ seed: 1 });
    const target = new RecordingTarget(sim);
    const applied = new FaultSchedule([
      { at: 5, kind: 'isolate-leader' },
      { at: 10, kind: 'heal' },
      { at: 15, kind: 'isolate-leader' },
    ]).apply(target, sim);
    sim.schedule(12, () => (target.currentLeader = undefined));
    await sim.runUntilIdle();
    expect(target.calls).toEqual(['5 partition n2 | n1,n3,n4,n5', '10 heal']);
    expect(applied.log.map((e) => e.note)).toEqual(['isolated n2', undefined, 'skipped: no leader']);
  });

  it('logs refused membership changes instead of failing, and skips them without a hook', async () => {
    const sim = new SimulatedScheduler({ seed: 1 });
    const target = new RecordingTarget(sim);
    const events: FaultEvent[] = [
      { at: 1, kind: 'membership', change: { kind: 'join', node: 'n6' } },
      { at: 2, kind: 'membership', change: { kind: 'leave', node: 'n9' } },
    ];
    const applied = new FaultSchedule(events).apply(target, sim);
    await sim.runUntilIdle();
    expect(applied.log.map((e) => e.note)).toEqual([undefined, 'refused: not a member']);

    const plain: FaultTarget = {
      nodes: () => NODES,
      leader: () => undefined,
      partition() {},
      disconnect() {},
      heal() {},
      setFaults() {},
      clearFaults() {},
      crash() {},
      restart() {},
      pause() {},
      resume() {},
    };
    const skipped = new FaultSchedule(events).apply(plain, sim);
    await sim.runUntilIdle();
    expect(skipped.log.every((e) => e.note === 'skipped: the target has no membership hook')).toBe(true);
  });

  it('a failing target method fails the simulated run loudly, with the seed', async () => {
    const sim = new SimulatedScheduler({ seed: 77 });
    const target = new RecordingTarget(sim);
    target.pause = () => {
      throw new Error('cannot pause');
    };
    new FaultSchedule([{ at: 5, kind: 'pause', node: 'n1' }]).apply(target, sim);
    const error = await sim.runUntilIdle().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SimulationError);
    expect((error as Error).message).toMatch(/cannot pause.*seed 77/);
  });

  it('reports failures to onError when given, and keeps going', async () => {
    const sim = new SimulatedScheduler({ seed: 1 });
    const target = new RecordingTarget(sim);
    target.restart = () => Promise.reject(new Error('disk gone'));
    const errors: string[] = [];
    const applied = new FaultSchedule([
      { at: 1, kind: 'restart', node: 'n1' },
      { at: 1, kind: 'heal' },
    ]).apply(target, sim, {
      onError: (error, event) => errors.push(`${event?.kind}: ${(error as Error).message}`),
    });
    await sim.runUntilIdle();
    expect(errors).toEqual(['restart: disk gone']);
    expect(target.calls).toEqual(['1 heal']);
    expect(applied.log[0]!.note).toBe('failed: disk gone');
  });

  it('cancel stops the events not yet applied', async () => {
    const sim = new SimulatedScheduler({ seed: 1 });
    const target = new RecordingTarget(sim);
    const applied = new FaultSchedule([
      { at: 1, kind: 'heal' },
      { at: 10, kind: 'clear-faults' },
    ]).apply(target, sim);
    await sim.runFor(5);
    applied.cancel();
    await sim.runUntilIdle();
    await applied.done;
    expect(target.calls).toEqual(['1 heal']);
  });

  it('replays: the same seed drives the same calls on the same target', async () => {
    const run = async (seed: number) => {
      const sim = new SimulatedScheduler({ seed });
      const target = new RecordingTarget(sim);
      FaultSchedule.generate({
        seed: sim.fork('faults'),
        nodes: NODES,
        duration: 10_000,
        kinds: [...DEFAULT_FAULT_KINDS, 'membership'],
      }).apply(target, sim);
      await sim.runUntilIdle();
      return target.calls;
    };
    const a = await run(5);
    expect(a.length).toBeGreaterThan(5);
    expect(await run(5)).toEqual(a);
    expect(await run(6)).not.toEqual(a);
  });
});
