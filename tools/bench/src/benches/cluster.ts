/**
 * `pnpm bench cluster [--runs 3] [--duration MS] [--concurrency 1,16,256] [--clients N] [--keep]`:
 * a real 3-replica cluster and clients, as TESTING.md describes it.
 *
 * Three replica processes (`copycat server` of tools/cli: WebSocket on 127.0.0.1, disk storage with
 * fsync in a temp dir, removed afterwards, the KV state machine), and this process as the client
 * side: `RaftClient`s over WebSocket with 1, 16 and 256 operations in flight in total (spread
 * over up to `--clients` sessions, default 4; each session pipelines its share). For each level:
 * - writes: `put` commands of a 16-byte value on 1,000 keys;
 * - reads: `get` queries at `linearizable`, `lease` and `sequential` consistency.
 * Each case runs `--duration` ms (default 2,000) after a 500 ms warm-up, `--runs` times (default
 * 3; the cases take turns, so a change in machine load hits all of them), and reports the median
 * over runs of ops/s and of the p50/p99/p999 latency of the operations completed in the window. Clients use the default
 * `prefer-leader` strategy, so every level is served by the leader (sequential reads then skip
 * only the read-index round). Everything shares one 2-core machine: compare rows of one run,
 * not figures across machines.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { ReplicaCluster, freePorts } from '@copycat/cli/replicas';
import { RaftClient, command, query, type ConsistencyLevel } from '@copycat/client';
import { WebSocketTransport } from '@copycat/transport-ws';
import { median, percentile, printTable, writeResults, type Row } from '../report.js';

const KEYS = 1000;
const VALUE = 'v'.repeat(16);
const WARMUP_MS = 500;

type Operation = { kind: 'write' } | { kind: 'read'; consistency: ConsistencyLevel };

const OPERATIONS: Operation[] = [
  { kind: 'write' },
  { kind: 'read', consistency: 'linearizable' },
  { kind: 'read', consistency: 'lease' },
  { kind: 'read', consistency: 'sequential' },
];

function option(args: string[], name: string): string | undefined {
  const at = args.findIndex((a) => a === `--${name}` || a.startsWith(`--${name}=`));
  if (at < 0) return undefined;
  const arg = args[at]!;
  return arg.includes('=') ? arg.slice(arg.indexOf('=') + 1) : args[at + 1];
}

function positive(args: string[], name: string, fallback: number): number {
  const raw = option(args, name);
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value <= 0)
    throw new Error(`--${name} needs a positive integer, got ${raw}`);
  return value;
}

/** Runs `operation` with `inFlight` lanes over `clients` for `duration` ms; latencies of those completed in the window. */
async function measure(
  clients: readonly RaftClient[],
  inFlight: number,
  operation: Operation,
  duration: number,
): Promise<{ opsPerSecond: number; latencies: number[]; errors: number }> {
  const latencies: number[] = [];
  let errors = 0;
  let next = 0;
  const started = performance.now();
  const windowStart = started + WARMUP_MS;
  const windowEnd = windowStart + duration;
  let completedInWindow = 0;
  const lane = async (client: RaftClient) => {
    while (performance.now() < windowEnd) {
      const key = `key-${next++ % KEYS}`;
      const begin = performance.now();
      try {
        if (operation.kind === 'write') await client.submit(command('put', { key, value: VALUE }));
        else await client.submit(query('get', { key }, { consistency: operation.consistency }));
      } catch {
        errors++;
        continue;
      }
      const end = performance.now();
      if (begin >= windowStart && end <= windowEnd) {
        latencies.push(end - begin);
      }
      if (end >= windowStart && end <= windowEnd) completedInWindow++;
    }
  };
  await Promise.all(Array.from({ length: inFlight }, (_, i) => lane(clients[i % clients.length]!)));
  return { opsPerSecond: completedInWindow / (duration / 1000), latencies, errors };
}

export async function run(args: string[]): Promise<void> {
  const duration = positive(args, 'duration', 2000);
  const runs = positive(args, 'runs', 3);
  const maxClients = positive(args, 'clients', 4);
  const levels = (option(args, 'concurrency') ?? '1,16,256').split(',').map((s) => {
    const value = Number(s);
    if (!Number.isInteger(value) || value <= 0)
      throw new Error(`--concurrency needs positive integers, got ${s}`);
    return value;
  });
  const dir = mkdtempSync(path.join(tmpdir(), 'copycat-bench-cluster-'));
  const members = (await freePorts(3)).map((port) => `127.0.0.1:${port}`);
  const cluster = new ReplicaCluster({ members, root: dir, output: 'pipe' });
  const clients: RaftClient[] = [];
  try {
    cluster.start();
    const { leader, elapsed } = await cluster.waitForLeader(30_000);
    console.log(
      `3 replicas on ${members.join(', ')} (disk in ${dir}); leader ${leader.address} after ${elapsed} ms`,
    );
    for (let i = 0; i < Math.max(maxClients, 1); i++) {
      const client = new RaftClient({ transport: new WebSocketTransport(), clientId: `bench-${i}` });
      clients.push(client);
      // connect() retries until it succeeds: bound it, so a broken cluster cannot hang the bench.
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        client.connect(members),
        new Promise((_, reject) => {
          timer = setTimeout(() => reject(new Error('no session within 30 s')), 30_000);
        }),
      ]).finally(() => clearTimeout(timer));
    }
    // Every key exists before reads are measured.
    await Promise.all(
      Array.from({ length: 64 }, async (_, lane) => {
        for (let k = lane; k < KEYS; k += 64)
          await clients[lane % clients.length]!.submit(command('put', { key: `key-${k}`, value: VALUE }));
      }),
    );

    const cases = levels.flatMap((inFlight) => OPERATIONS.map((operation) => ({ inFlight, operation })));
    const samples = cases.map(() => [] as { opsPerSecond: number; latencies: number[]; errors: number }[]);
    for (let r = 0; r < runs; r++) {
      for (const [i, { inFlight, operation }] of cases.entries()) {
        const sessions = clients.slice(0, Math.min(inFlight, clients.length));
        samples[i]!.push(await measure(sessions, inFlight, operation, duration));
      }
      console.log(`  run ${r + 1} of ${runs} done`);
    }
    const rows: Row[] = cases.map(({ inFlight, operation }, i) => {
      const runsOfCase = samples[i]!;
      const of = (p: number) => median(runsOfCase.map((sample) => percentile(sample.latencies, p)));
      return {
        'in flight': inFlight,
        sessions: Math.min(inFlight, clients.length),
        operation: operation.kind === 'write' ? 'write (put)' : `read ${operation.consistency}`,
        'ops/s': median(runsOfCase.map((sample) => sample.opsPerSecond)),
        'p50 ms': of(50),
        'p99 ms': of(99),
        'p999 ms': of(99.9),
        errors: runsOfCase.reduce((sum, sample) => sum + sample.errors, 0),
      };
    });
    printTable(
      `cluster: 3 replica processes, loopback WebSocket, disk (fsync); medians of ${runs} runs of ${duration} ms per case`,
      rows,
    );
    console.log(`results: ${writeResults('cluster', { runs, duration, members: 3, rows })}`);
  } finally {
    await Promise.all(clients.map((client) => client.close().catch(() => {})));
    await cluster.stop(5000);
    if (args.includes('--keep')) console.log(`kept ${dir}`);
    else rmSync(dir, { recursive: true, force: true });
  }
}
