import { describe, expect, it } from 'vitest';
import { Prng } from '@copycat/testing';

describe('Prng (xoshiro128**)', () => {
  it('matches the reference implementation for state (1, 2, 3, 4)', () => {
    const prng = Prng.fromState([1, 2, 3, 4]);
    const outputs = Array.from({ length: 6 }, () => prng.nextUint32());
    // First outputs of Blackman & Vigna's xoshiro128starstar.c from this state.
    expect(outputs).toEqual([11520, 0, 5927040, 70819200, 2031721883, 1637235492]);
  });

  it('replays: the same seed gives the same stream', () => {
    const a = new Prng(42);
    const b = new Prng(42);
    const drawsA = Array.from({ length: 100 }, () => a.nextUint32());
    expect(Array.from({ length: 100 }, () => b.nextUint32())).toEqual(drawsA);
    expect(Array.from({ length: 100 }, () => new Prng(43).nextUint32())).not.toEqual(drawsA);
  });

  it('uses every bit of a large seed', () => {
    const low = new Prng(5).nextUint32();
    expect(new Prng(5 + 2 ** 32).nextUint32()).not.toBe(low);
    expect(new Prng(Number.MAX_SAFE_INTEGER).nextUint32()).not.toBe(
      new Prng(Number.MAX_SAFE_INTEGER - 1).nextUint32(),
    );
  });

  it('forks depend on the seed and label only, not on draws already made', () => {
    const root = new Prng(7);
    const before = root.fork('faults').nextUint32();
    for (let i = 0; i < 10; i++) root.nextUint32();
    expect(root.fork('faults').nextUint32()).toBe(before);
    expect(root.fork('node:n1').nextUint32()).not.toBe(before);
    expect(root.fork('a').fork('b').label).toBe('a/b');
  });

  it('random() is in [0, 1) and roughly uniform', () => {
    const prng = new Prng(1);
    const buckets = new Array<number>(10).fill(0);
    let outside = 0;
    for (let i = 0; i < 100_000; i++) {
      const x = prng.random();
      if (!(x >= 0 && x < 1)) outside++;
      else buckets[Math.floor(x * 10)]!++;
    }
    expect(outside).toBe(0);
    for (const count of buckets) expect(Math.abs(count - 10_000)).toBeLessThan(500);
  });

  it('randomInt, pick and shuffle stay in range and keep every element', () => {
    const prng = new Prng(3);
    for (let i = 0; i < 1000; i++) {
      const n = prng.randomInt(-3, 4);
      expect(Number.isInteger(n) && n >= -3 && n < 4).toBe(true);
    }
    expect(['a', 'b', 'c']).toContain(prng.pick(['a', 'b', 'c']));
    expect(prng.shuffle([1, 2, 3, 4, 5]).sort()).toEqual([1, 2, 3, 4, 5]);
    expect(() => prng.randomInt(2, 2)).toThrow(RangeError);
    expect(() => prng.pick([])).toThrow(RangeError);
  });

  it('rejects seeds that would not replay exactly', () => {
    expect(() => new Prng(-1)).toThrow(RangeError);
    expect(() => new Prng(1.5)).toThrow(RangeError);
    expect(() => new Prng(2 ** 53)).toThrow(RangeError);
    expect(() => Prng.fromState([0, 0, 0, 0])).toThrow(RangeError);
  });
});
