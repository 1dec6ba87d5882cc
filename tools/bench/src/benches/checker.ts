/**
 * `pnpm bench checker`: how long the linearizability checker (@copycat/testing) takes to decide
 * histories of the size our simulations produce. TESTING.md asks that a 10,000-operation
 * key-value history of 50 processes over 20 keys with 5% unknown (`info`) outcomes be decided in
 * under 10 s. Histories are linearizable by construction (a real map under a seeded random
 * interleaving); the "refuted" rows change one read to a value never written.
 */
import { performance } from 'node:perf_hooks';
import {
  History,
  checkLinearizable,
  counterModel,
  kvModel,
  queueModel,
  synthesizeHistory,
  type HistoryEvent,
  type Model,
  type OperationCall,
  type Prng,
} from '@copycat/testing';
import { formatNumber, median, printTable, writeResults, type Row } from '../report.js';

const LIMIT_MS = 10_000;

function kvHistory(
  seed: number,
  operations: number,
  processes: number,
  keys: number,
  infoRate: number,
): History {
  const map = new Map<string, unknown>();
  let unique = 0;
  return synthesizeHistory({
    seed,
    operations,
    processes,
    infoRate,
    next: (random: Prng): OperationCall => {
      const key = `k${random.randomInt(0, keys)}`;
      const roll = random.random();
      if (roll < 0.5) return { name: 'get', key };
      if (roll < 0.8) return { name: 'put', key, input: unique++ };
      const expect = random.chance(0.7) ? (map.get(key) ?? null) : -1;
      return { name: 'cas', key, input: { expect, update: unique++ } };
    },
    apply: (op) => {
      const key = op.key!;
      if (op.name === 'get') return map.get(key) ?? null;
      if (op.name === 'put') {
        map.set(key, op.input);
        return undefined;
      }
      const { expect, update } = op.input as { expect: unknown; update: unknown };
      if ((map.get(key) ?? null) !== expect) return false;
      map.set(key, update);
      return true;
    },
  });
}

function counterHistory(seed: number, operations: number, processes: number, infoRate: number): History {
  let value = 0;
  return synthesizeHistory({
    seed,
    operations,
    processes,
    infoRate,
    next: (random: Prng): OperationCall =>
      random.chance(0.5) ? { name: 'get' } : { name: 'incrementAndGet' },
    apply: (op) => (op.name === 'get' ? value : ++value),
  });
}

/** A FIFO queue of unique elements, half enqueues and half dequeues. */
function queueHistory(seed: number, operations: number, processes: number, infoRate: number): History {
  const items: number[] = [];
  let unique = 0;
  return synthesizeHistory({
    seed,
    operations,
    processes,
    infoRate,
    next: (random: Prng): OperationCall =>
      random.chance(0.5) ? { name: 'enqueue', input: unique++ } : { name: 'dequeue' },
    apply: (op) => {
      if (op.name === 'enqueue') {
        items.push(op.input as number);
        return undefined;
      }
      return items.shift() ?? null;
    },
  });
}

/** One completed read (by `isRead`) in the second half gets an output no write produced. */
function withBadRead(history: History, isRead: (name: string) => boolean, bad: unknown): History {
  const names = new Map<number, string>();
  for (const e of history.events) if (e.type === 'invoke') names.set(e.id, e.op.name);
  const events: HistoryEvent[] = [...history.events];
  const index = events.findIndex(
    (e, i) => i > events.length / 2 && e.type === 'ok' && isRead(names.get(e.id)!),
  );
  events[index] = { ...(events[index] as HistoryEvent & { type: 'ok' }), output: bad };
  return History.fromEvents(events);
}

function measure<S>(
  name: string,
  seeds: number[],
  make: (seed: number) => History,
  model: () => Model<S>,
): Row {
  const times: number[] = [];
  const verdicts = new Set<string>();
  let info = 0;
  let ops = 0;
  let partitions = 0;
  for (const seed of seeds) {
    const history = make(seed);
    const operations = history.operations();
    ops = operations.length;
    info = Math.max(info, operations.filter((op) => op.outcome === 'info').length);
    const start = performance.now();
    const result = checkLinearizable(history, model(), { timeoutMs: 30_000 });
    times.push(performance.now() - start);
    verdicts.add(result.result);
    partitions = result.partitions;
  }
  return {
    history: name,
    operations: ops,
    'info (max)': info,
    partitions,
    verdict: [...verdicts].join('/'),
    'median ms': median(times),
    'max ms': Math.max(...times),
  };
}

export async function run(args: string[]): Promise<void> {
  const quick = args.includes('--quick');
  const seeds = quick ? [1, 2, 3] : [1, 2, 3, 4, 5, 6, 7];
  const rows: Row[] = [];

  const target = measure(
    'kv: 10,000 ops, 50 processes, 20 keys, 5% info',
    seeds,
    (s) => kvHistory(s, 10_000, 50, 20, 0.05),
    () => kvModel(),
  );
  rows.push(target);
  rows.push(
    measure(
      '  same, one read of a value never written',
      seeds,
      (s) => withBadRead(kvHistory(s, 10_000, 50, 20, 0.05), (n) => n === 'get', 'never written'),
      () => kvModel(),
    ),
  );
  rows.push(
    measure(
      'kv: 10,000 ops, 50 processes, 5 keys, 5% info',
      seeds,
      (s) => kvHistory(s, 10_000, 50, 5, 0.05),
      () => kvModel(),
    ),
  );
  rows.push(
    measure(
      'kv: 50,000 ops, 50 processes, 20 keys, 5% info',
      seeds.slice(0, 3),
      (s) => kvHistory(s, 50_000, 50, 20, 0.05),
      () => kvModel(),
    ),
  );
  rows.push(
    measure(
      'counter: 2,000 ops, 10 processes, 5% info (one object)',
      seeds,
      (s) => counterHistory(s, 2000, 10, 0.05),
      () => counterModel(),
    ),
  );
  rows.push(
    measure(
      '  same, one get of a value never reached',
      seeds,
      (s) => withBadRead(counterHistory(s, 2000, 10, 0.05), (n) => n === 'get', -1),
      () => counterModel(),
    ),
  );

  for (const [operations, processes, infoRate] of [
    [200, 4, 0.05],
    [200, 8, 0.05],
    [1000, 4, 0.05],
  ] as const) {
    rows.push(
      measure(
        `queue: ${formatNumber(operations)} ops, ${processes} processes, ${infoRate * 100}% info (one queue)`,
        seeds,
        (s) => queueHistory(s, operations, processes, infoRate),
        () => queueModel(),
      ),
    );
  }
  rows.push(
    measure(
      '  200 ops, 4 processes, one dequeue of an element never enqueued',
      seeds,
      (s) => withBadRead(queueHistory(s, 200, 4, 0.05), (n) => n === 'dequeue', -1),
      () => queueModel(),
    ),
  );

  printTable('Linearizability checker (Wing & Gong / Lowe search, memoised, per-key partitions)', rows);
  const worst = target['max ms'] as number;
  console.log(
    `\nrequirement: 10,000-op kv history decided in < ${formatNumber(LIMIT_MS)} ms: ${worst < LIMIT_MS && target.verdict === 'ok' ? 'met' : 'NOT met'} ` +
      `(median ${formatNumber(target['median ms'] as number)} ms, worst of ${seeds.length} seeds ${formatNumber(worst)} ms)`,
  );
  const file = writeResults('checker', { rows, limitMs: LIMIT_MS });
  console.log(`results: ${file}`);
}
