import { describe, expect, it } from 'vitest';
import { SystemScheduler, randomInt, sleep } from '@copycat/common';

describe('SystemScheduler', () => {
  const scheduler = new SystemScheduler();

  it('runs a task after its delay, never synchronously', async () => {
    let ran = false;
    scheduler.schedule(0, () => (ran = true));
    expect(ran).toBe(false);
    await sleep(scheduler, 5);
    expect(ran).toBe(true);
  });

  it('cancel prevents the task and is idempotent', async () => {
    let ran = false;
    const task = scheduler.schedule(1, () => (ran = true));
    task.cancel();
    task.cancel();
    await sleep(scheduler, 10);
    expect(ran).toBe(false);
  });

  it('scheduleAtFixedRate repeats until cancelled', async () => {
    let count = 0;
    const task = scheduler.scheduleAtFixedRate(0, 2, () => count++);
    await sleep(scheduler, 40);
    task.cancel();
    const atCancel = count;
    expect(atCancel).toBeGreaterThanOrEqual(3);
    await sleep(scheduler, 20);
    expect(count).toBe(atCancel);
  });

  it('rejects negative or non-finite delays', () => {
    expect(() => scheduler.schedule(-1, () => {})).toThrow(RangeError);
    expect(() => scheduler.scheduleAtFixedRate(0, 0, () => {})).toThrow(RangeError);
    expect(() => scheduler.schedule(Number.NaN, () => {})).toThrow(RangeError);
  });

  it('randomInt stays in [min, max)', () => {
    for (let i = 0; i < 1000; i++) {
      const n = randomInt(scheduler, 150, 300);
      expect(n).toBeGreaterThanOrEqual(150);
      expect(n).toBeLessThan(300);
      expect(Number.isInteger(n)).toBe(true);
    }
  });

  it('now() is wall-clock milliseconds, and never goes backwards', () => {
    const now = scheduler.now();
    expect(Math.abs(now - Date.now())).toBeLessThan(1000);
    let previous = now;
    for (let i = 0; i < 1000; i++) {
      const next = scheduler.now();
      expect(next).toBeGreaterThanOrEqual(previous);
      previous = next;
    }
  });
});
