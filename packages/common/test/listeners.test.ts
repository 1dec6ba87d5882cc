import { describe, expect, it } from 'vitest';
import { Listeners } from '@copycat/common';

describe('Listeners', () => {
  it('delivers to listeners in the order they were added', () => {
    const seen: string[] = [];
    const listeners = new Listeners<number>();
    listeners.add((n) => seen.push(`a${n}`));
    listeners.add((n) => seen.push(`b${n}`));
    listeners.emit(1);
    listeners.emit(2);
    expect(seen).toEqual(['a1', 'b1', 'a2', 'b2']);
  });

  it('a throwing listener does not stop the others and is reported', () => {
    const errors: unknown[] = [];
    const seen: number[] = [];
    const listeners = new Listeners<number>((error) => errors.push(error));
    listeners.add(() => {
      throw new Error('boom');
    });
    listeners.add((n) => seen.push(n));
    listeners.emit(7);
    expect(seen).toEqual([7]);
    expect(errors).toHaveLength(1);
    expect((errors[0] as Error).message).toBe('boom');
  });

  it('close removes exactly one registration, idempotently', () => {
    const seen: number[] = [];
    const listeners = new Listeners<number>();
    const listener = (n: number) => seen.push(n);
    const first = listeners.add(listener);
    listeners.add(listener);
    first.close();
    first.close();
    listeners.emit(1);
    expect(seen).toEqual([1]);
    expect(listeners.size).toBe(1);
  });

  it('a listener added during emit is not called for that emit', () => {
    const seen: string[] = [];
    const listeners = new Listeners<number>();
    listeners.add(() => {
      seen.push('outer');
      listeners.add(() => seen.push('inner'));
    });
    listeners.emit(1);
    expect(seen).toEqual(['outer']);
  });
});
