/**
 * Real sequential implementations, written independently of the checker's models, and random
 * operation generators for them: the raw material of histories linearizable by construction.
 */
import type { OperationCall, Prng, ProcessId } from '@copycat/testing';

export interface Reference {
  next(random: Prng, process: ProcessId): OperationCall;
  apply(op: OperationCall & { readonly process: ProcessId }): unknown;
}

let unique = 0;
const fresh = () => `v${unique++}`;

export function kvReference(keys: number): Reference {
  const map = new Map<string, unknown>();
  return {
    next(random) {
      const key = `k${random.randomInt(0, keys)}`;
      const roll = random.random();
      if (roll < 0.4) return { name: 'get', key };
      if (roll < 0.7) return { name: 'put', key, input: fresh() };
      if (roll < 0.8) return { name: 'remove', key };
      const expect = random.chance(0.6) ? (map.get(key) ?? null) : fresh();
      return { name: 'cas', key, input: { expect, update: fresh() } };
    },
    apply(op) {
      const key = op.key!;
      switch (op.name) {
        case 'get':
          return map.has(key) ? map.get(key) : null;
        case 'put':
          map.set(key, op.input);
          return undefined;
        case 'remove':
          map.delete(key);
          return undefined;
        default: {
          const { expect, update } = op.input as { expect: unknown; update: unknown };
          if ((map.get(key) ?? null) !== expect) return false;
          map.set(key, update);
          return true;
        }
      }
    },
  };
}

export function registerReference(): Reference {
  let value: unknown = null;
  return {
    next(random) {
      const roll = random.random();
      if (roll < 0.45) return { name: 'read' };
      if (roll < 0.8) return { name: 'write', input: fresh() };
      return { name: 'cas', input: { expect: random.chance(0.6) ? value : fresh(), update: fresh() } };
    },
    apply(op) {
      if (op.name === 'read') return value;
      if (op.name === 'write') {
        value = op.input;
        return undefined;
      }
      const { expect, update } = op.input as { expect: unknown; update: unknown };
      if (value !== expect) return false;
      value = update;
      return true;
    },
  };
}

export function counterReference(): Reference {
  let value = 0;
  return {
    next(random) {
      const roll = random.random();
      if (roll < 0.3) return { name: 'get' };
      if (roll < 0.5) return { name: 'incrementAndGet' };
      if (roll < 0.7) return { name: 'getAndAdd', input: random.randomInt(1, 5) };
      if (roll < 0.85) return { name: 'add', input: random.randomInt(1, 5) };
      return {
        name: 'compareAndSet',
        input: { expect: random.chance(0.5) ? value : value + 1, update: value + random.randomInt(1, 5) },
      };
    },
    apply(op) {
      switch (op.name) {
        case 'get':
          return value;
        case 'incrementAndGet':
          return ++value;
        case 'getAndAdd': {
          const old = value;
          value += op.input as number;
          return old;
        }
        case 'add':
          value += op.input as number;
          return undefined;
        default: {
          const { expect, update } = op.input as { expect: number; update: number };
          if (value !== expect) return false;
          value = update;
          return true;
        }
      }
    },
  };
}

export function setReference(elements: number, withReads: boolean): Reference {
  const set = new Set<string>();
  return {
    next(random) {
      const element = `e${random.randomInt(0, elements)}`;
      const roll = random.random();
      if (withReads && roll < 0.15) return { name: 'read' };
      if (roll < 0.45) return { name: 'add', input: element };
      if (roll < 0.65) return { name: 'remove', input: element };
      return { name: 'contains', input: element };
    },
    apply(op) {
      const element = op.input as string;
      switch (op.name) {
        case 'read':
          return [...set];
        case 'add': {
          const added = !set.has(element);
          set.add(element);
          return added;
        }
        case 'remove':
          return set.delete(element);
        default:
          return set.has(element);
      }
    },
  };
}

export function queueReference(): Reference {
  const items: unknown[] = [];
  return {
    next(random) {
      return random.chance(0.5) ? { name: 'enqueue', input: fresh() } : { name: 'dequeue' };
    },
    apply(op) {
      if (op.name === 'enqueue') {
        items.push(op.input);
        return undefined;
      }
      return items.length === 0 ? null : items.shift();
    },
  };
}

export function lockReference(): Reference {
  let holder: ProcessId | null = null;
  let epoch = 0;
  return {
    next(random) {
      return random.chance(0.5) ? { name: 'tryAcquire' } : { name: 'release' };
    },
    apply(op) {
      if (op.name === 'tryAcquire') {
        if (holder !== null) return false;
        holder = op.process;
        epoch += 1 + (epoch % 3); // increasing, not consecutive: like Raft indexes
        return epoch;
      }
      if (holder !== op.process) return false;
      holder = null;
      return true;
    },
  };
}
