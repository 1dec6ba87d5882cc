import { describe, expect, it } from 'vitest';
import { sleep, type Scheduler } from '@copycat/common';
import { SimulatedScheduler, SimulationError } from '@copycat/testing';

describe('SimulatedScheduler: virtual time', () => {
  it('runs timers in due-time order, and time moves only to a due timer', async () => {
    const sim = new SimulatedScheduler({ seed: 1 });
    const seen: [string, number][] = [];
    sim.schedule(30, () => seen.push(['c', sim.now()]));
    sim.schedule(10, () => seen.push(['a', sim.now()]));
    sim.schedule(20, () => {
      seen.push(['b', sim.now()]);
      sim.schedule(5, () => seen.push(['b+5', sim.now()]));
    });
    await sim.runUntilIdle();
    expect(seen).toEqual([
      ['a', 10],
      ['b', 20],
      ['b+5', 25],
      ['c', 30],
    ]);
    expect(sim.now()).toBe(30);
    expect(sim.steps).toBe(4);
  });

  it('never runs a task synchronously, even with delay 0', async () => {
    const sim = new SimulatedScheduler({ seed: 1 });
    let ran = false;
    sim.schedule(0, () => (ran = true));
    expect(ran).toBe(false);
    await sim.runFor(0);
    expect(ran).toBe(true);
    expect(sim.now()).toBe(0);
  });

  it('runFor advances the clock by exactly ms, and leaves later timers queued', async () => {
    const sim = new SimulatedScheduler({ seed: 1, startTime: 1000 });
    let ran = 0;
    sim.schedule(50, () => ran++);
    sim.schedule(150, () => ran++);
    await sim.runFor(100);
    expect(sim.now()).toBe(1100);
    expect(ran).toBe(1);
    await sim.runFor(50);
    expect(ran).toBe(2);
    await expect(sim.runUntil(10)).rejects.toThrow(RangeError);
  });

  it('orders timers due at the same instant by the seed: same seed, same order', async () => {
    const order = async (seed: number, tieBreak?: 'seeded' | 'fifo') => {
      const sim = new SimulatedScheduler(tieBreak === undefined ? { seed } : { seed, tieBreak });
      const seen: number[] = [];
      for (let i = 0; i < 20; i++) sim.schedule(5, () => seen.push(i));
      await sim.runUntilIdle();
      return seen;
    };
    expect(await order(7)).toEqual(await order(7));
    const orders = new Set<string>();
    for (let seed = 1; seed <= 5; seed++) orders.add((await order(seed)).join(','));
    expect(orders.size).toBeGreaterThan(1);
    expect(await order(7, 'fifo')).toEqual(Array.from({ length: 20 }, (_, i) => i));
  });

  it('cancel is idempotent, works before and after the timer ran, and cancelled timers never run', async () => {
    const sim = new SimulatedScheduler({ seed: 1 });
    let ran = 0;
    const a = sim.schedule(10, () => ran++);
    const b = sim.schedule(20, () => ran++);
    a.cancel();
    a.cancel();
    await sim.runUntilIdle();
    b.cancel();
    expect(ran).toBe(1);
  });

  it('stays correct when most queued timers are cancelled (heap compaction)', async () => {
    const sim = new SimulatedScheduler({ seed: 2 });
    const fired: number[] = [];
    const timers = Array.from({ length: 20_000 }, (_, i) => sim.schedule(1 + (i % 997), () => fired.push(i)));
    timers.forEach((t, i) => {
      if (i % 10 !== 0) t.cancel();
    });
    await sim.runUntilIdle({ maxSteps: 10_000 });
    expect(fired.length).toBe(2000);
    expect(fired.every((i) => i % 10 === 0)).toBe(true);
    // Still in due-time order after compaction.
    const due = fired.map((i) => 1 + (i % 997));
    expect(due).toEqual([...due].sort((x, y) => x - y));
  });

  it('scheduleAtFixedRate repeats at its period until cancelled, also from inside the task', async () => {
    const sim = new SimulatedScheduler({ seed: 1 });
    const times: number[] = [];
    const task = sim.scheduleAtFixedRate(5, 10, () => {
      times.push(sim.now());
      if (times.length === 4) task.cancel();
    });
    await sim.runFor(100);
    expect(times).toEqual([5, 15, 25, 35]);
    expect(() => sim.scheduleAtFixedRate(0, 0, () => {})).toThrow(RangeError);
    expect(() => sim.schedule(-1, () => {})).toThrow(RangeError);
    expect(() => sim.schedule(Number.NaN, () => {})).toThrow(RangeError);
  });

  it('runUntil(predicate) stops as soon as it holds', async () => {
    const sim = new SimulatedScheduler({ seed: 1 });
    let count = 0;
    sim.scheduleAtFixedRate(10, 10, () => count++);
    await sim.runUntil(() => count === 3);
    expect(count).toBe(3);
    expect(sim.now()).toBe(30);
  });

  it('runUntil(predicate) fails loudly, with the seed, when no timer is left or the timeout passes', async () => {
    const sim = new SimulatedScheduler({ seed: 99 });
    const stalled = await sim.runUntil(() => false).catch((e: unknown) => e);
    expect(stalled).toBeInstanceOf(SimulationError);
    expect((stalled as SimulationError).reason).toBe('stalled');
    expect((stalled as SimulationError).message).toContain('seed 99');

    sim.scheduleAtFixedRate(1, 1, () => {});
    const timeout = await sim.runUntil(() => false, { timeout: 50 }).catch((e: unknown) => e);
    expect((timeout as SimulationError).reason).toBe('timeout');
    expect(sim.now()).toBe(50);
  });

  it('fails loudly, with the seed, when one run exceeds the step limit (livelock guard)', async () => {
    const sim = new SimulatedScheduler({ seed: 5, maxSteps: 1000 });
    // A livelock: two tasks that keep rescheduling each other at the same instant.
    const ping = () => sim.schedule(0, pong);
    const pong = () => sim.schedule(0, ping);
    ping();
    const error = await sim.runFor(10).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SimulationError);
    expect((error as SimulationError).reason).toBe('step-limit');
    expect((error as SimulationError).message).toMatch(/step limit of 1000 exceeded.*seed 5/);
    expect(sim.now()).toBe(0);
    expect(() => sim.runSyncFor(10, { maxSteps: 10 })).toThrow(/step limit of 10/);
  });

  it('a task that throws fails the run with the seed, keeping the error as cause', async () => {
    const sim = new SimulatedScheduler({ seed: 8 });
    const bug = new Error('boom');
    sim.schedule(3, () => {
      throw bug;
    });
    const error = await sim.runFor(10).catch((e: unknown) => e);
    expect((error as SimulationError).reason).toBe('task-threw');
    expect((error as SimulationError).message).toContain('boom');
    expect((error as SimulationError).message).toContain('seed 8');
    expect((error as SimulationError).cause).toBe(bug);
  });

  it('refuses a run started while another is in progress', async () => {
    const sim = new SimulatedScheduler({ seed: 1 });
    sim.schedule(1, () => {});
    const first = sim.runFor(5);
    await expect(sim.runFor(5)).rejects.toThrow(/already running/);
    await first;
  });

  it('random streams: scheduler, forks and nodes are seeded and independent', () => {
    const draw = (sim: SimulatedScheduler) => [
      sim.random(),
      sim.randomInt(0, 1000),
      sim.fork('x').random(),
      sim.node('n1').random(),
    ];
    expect(draw(new SimulatedScheduler({ seed: 3 }))).toEqual(draw(new SimulatedScheduler({ seed: 3 })));
    const a = new SimulatedScheduler({ seed: 3 });
    const b = new SimulatedScheduler({ seed: 3 });
    b.node('n2').random(); // draws on another node do not shift n1's stream
    b.random();
    expect(a.node('n1').random()).toBe(b.node('n1').random());
  });
});

describe('SimulatedScheduler: microtasks are drained between steps', () => {
  for (const drain of ['always', 'auto'] as const) {
    it(`a promise chain started by a task completes before the next timer runs (drain: ${drain})`, async () => {
      const sim = new SimulatedScheduler({ seed: 1, drain });
      const log: string[] = [];
      sim.schedule(10, () => {
        void (async () => {
          for (let i = 0; i < 50; i++) await Promise.resolve();
          log.push('chain done');
          await Promise.resolve();
          log.push('chain really done');
        })();
      });
      sim.schedule(10, () => log.push('next timer'));
      sim.schedule(10, () => log.push('another timer'));
      await sim.runUntilIdle();
      // Whatever order the ties give, the chain is finished before any later timer runs.
      const first = log.indexOf('chain done');
      const timersAfter = log.slice(first + 1).filter((l) => l.includes('timer'));
      const timersBefore = log.slice(0, first).filter((l) => l.includes('timer'));
      expect(log).toContain('chain really done');
      expect(log.indexOf('chain really done')).toBe(first + 1);
      expect(timersBefore.length + timersAfter.length).toBe(2);
    });
  }

  it('an await on sleep(scheduler) resumes at the right virtual time, before the next step', async () => {
    const sim = new SimulatedScheduler({ seed: 1 });
    const log: string[] = [];
    const worker = async () => {
      await sleep(sim, 10);
      log.push(`woke at ${sim.now()}`);
      await sleep(sim, 5);
      log.push(`woke at ${sim.now()}`);
    };
    void worker();
    sim.schedule(12, () => log.push('timer at 12'));
    await sim.runUntilIdle();
    expect(log).toEqual(['woke at 10', 'timer at 12', 'woke at 15']);
  });

  it('runUntilSettled returns the value of a promise that simulated timers resolve', async () => {
    const sim = new SimulatedScheduler({ seed: 1 });
    const slowAdd = async (a: number, b: number) => {
      await sleep(sim, 100);
      return a + b;
    };
    expect(await sim.runUntilSettled(slowAdd(2, 3))).toBe(5);
    expect(sim.now()).toBe(100);
    const failing = (async () => {
      await sleep(sim, 1);
      throw new Error('nope');
    })();
    await expect(sim.runUntilSettled(failing)).rejects.toThrow('nope');
  });

  it('runSync refuses tasks that create or settle promises, since it cannot drain them', () => {
    const sim = new SimulatedScheduler({ seed: 4 });
    let plain = 0;
    sim.scheduleAtFixedRate(1, 1, () => plain++);
    sim.runSyncFor(100);
    expect(plain).toBe(100);
    sim.schedule(1, () => void Promise.resolve().then(() => {}));
    expect(() => sim.runSyncFor(10)).toThrow(/created or settled a promise/);
  });

  it('same seed, same trace: a cluster of async nodes with random delays replays exactly', async () => {
    // Each node sends "messages" (timers with random delays) to random peers; handlers are
    // async and await several times. The trace records every handler's start and end.
    const run = async (seed: number, drain: 'always' | 'auto') => {
      const sim = new SimulatedScheduler({ seed, drain });
      const trace: string[] = [];
      const ids = ['n1', 'n2', 'n3'];
      const nodes = ids.map((id) => sim.node(id, { drift: (ids.indexOf(id) - 1) * 0.01 }));
      const send = (from: Scheduler, to: number, hops: number) => {
        from.schedule(Math.floor(from.random() * 20), () => void handle(to, hops));
      };
      const handle = async (index: number, hops: number) => {
        const node = nodes[index]!;
        trace.push(`${sim.now().toFixed(3)} ${ids[index]} start ${hops}`);
        await Promise.resolve();
        await sleep(node, node.random() < 0.5 ? 0 : 3);
        trace.push(`${sim.now().toFixed(3)} ${ids[index]} end ${hops}`);
        if (hops > 0) {
          send(node, Math.floor(node.random() * 3), hops - 1);
          if (node.random() < 0.3) send(node, Math.floor(node.random() * 3), hops - 1);
        }
      };
      for (let i = 0; i < 3; i++) send(nodes[i]!, (i + 1) % 3, 12);
      await sim.runUntilIdle();
      return trace;
    };
    const a = await run(11, 'always');
    expect(a.length).toBeGreaterThan(50);
    expect(await run(11, 'always')).toEqual(a);
    expect(await run(11, 'auto')).toEqual(a);
    expect(await run(12, 'always')).not.toEqual(a);
  });
});

describe('SimulatedScheduler: per-node clocks', () => {
  it("a node's clock applies its drift and offset; a fast clock fires its timers early in global time", async () => {
    const sim = new SimulatedScheduler({ seed: 1 });
    const fast = sim.node('fast', { drift: 0.25, offset: 1000 });
    const slow = sim.node('slow', { drift: -0.5 });
    const fired: Record<string, number> = {};
    fast.schedule(100, () => (fired.fast = sim.now()));
    slow.schedule(100, () => (fired.slow = sim.now()));
    await sim.runFor(80);
    expect(fast.now()).toBe(1100);
    expect(slow.now()).toBe(40);
    await sim.runUntilIdle();
    expect(fired).toEqual({ fast: 80, slow: 200 });
    expect(() => sim.node('bad', { drift: -1 })).toThrow(RangeError);
    expect(() => sim.node('fast', { drift: 0 })).toThrow(/already exists/);
    expect(sim.node('fast')).toBe(fast);
  });

  it('setDrift changes the rate from now on without a jump', async () => {
    const sim = new SimulatedScheduler({ seed: 1 });
    const node = sim.node('n');
    await sim.runFor(100);
    node.setDrift(1);
    expect(node.now()).toBe(100);
    await sim.runFor(10);
    expect(node.now()).toBe(120);
    expect(node.drift).toBe(1);
  });

  it('periodic timers of a drifting node run at its local period', async () => {
    const sim = new SimulatedScheduler({ seed: 1 });
    const node = sim.node('n', { drift: 1 });
    const times: number[] = [];
    node.scheduleAtFixedRate(10, 10, () => times.push(sim.now()));
    await sim.runFor(20);
    expect(times).toEqual([5, 10, 15, 20]);
  });

  it("a paused node's timers are held and run after resume, in the order they came due; its clock keeps running", async () => {
    const sim = new SimulatedScheduler({ seed: 1 });
    const node = sim.node('n');
    const other = sim.node('m');
    const log: string[] = [];
    node.schedule(10, () => log.push(`a@${sim.now()}`));
    node.schedule(20, () => log.push(`b@${sim.now()}`));
    node.schedule(20, () => log.push(`c@${sim.now()}`));
    other.schedule(15, () => log.push(`other@${sim.now()}`));
    node.schedule(100, () => log.push(`late@${sim.now()}`));
    node.pause();
    expect(node.paused).toBe(true);
    await sim.runFor(50);
    expect(log).toEqual(['other@15']);
    expect(node.now()).toBe(50);
    const held = [...log];
    node.resume();
    await sim.runFor(0);
    // b and c came due at the same instant: their order is the seeded tie-break's, kept on resume.
    expect(log.slice(held.length, held.length + 1)).toEqual(['a@50']);
    expect(log.slice(held.length + 1).sort()).toEqual(['b@50', 'c@50']);
    const order = log.slice(1);
    await sim.runUntilIdle();
    expect(log.slice(1, 4)).toEqual(order);
    expect(log.at(-1)).toBe('late@100');
  });

  it('held timers keep the order of their due times, whatever their tie-breaks', async () => {
    for (let seed = 1; seed <= 20; seed++) {
      const sim = new SimulatedScheduler({ seed });
      const node = sim.node('n');
      const log: number[] = [];
      for (let i = 0; i < 10; i++) node.schedule(i, () => log.push(i));
      node.pause();
      await sim.runFor(20);
      node.resume();
      await sim.runUntilIdle();
      expect(log).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    }
  });

  it('cancelAll drops queued and held timers, as a crash does; the view stays usable', async () => {
    const sim = new SimulatedScheduler({ seed: 1 });
    const node = sim.node('n');
    const log: string[] = [];
    node.schedule(10, () => log.push('queued'));
    node.scheduleAtFixedRate(1, 1, () => log.push('periodic'));
    node.pause();
    await sim.runFor(5);
    node.cancelAll();
    node.resume();
    node.schedule(1, () => log.push('after restart'));
    await sim.runUntilIdle();
    expect(log).toEqual(['after restart']);
  });

  it('a cancelled held timer does not run after resume', async () => {
    const sim = new SimulatedScheduler({ seed: 1 });
    const node = sim.node('n');
    let ran = false;
    const timer = node.schedule(1, () => (ran = true));
    node.pause();
    await sim.runFor(5);
    timer.cancel();
    node.resume();
    await sim.runUntilIdle();
    expect(ran).toBe(false);
  });
});
