/**
 * The client process of a chaos run (forked by `scenario.ts`, config as JSON in argv[2]).
 *
 * Several `RaftClient`s over WebSocket, each with a few logical processes ("workers") that run
 * one operation at a time, as fast as they can, until the deadline:
 * - on the map, keys `k0..k2`: `put` (unique values; returns the previous one), linearizable or
 *   lease `get`, and `cas` from the value the worker saw last;
 * - on the counter: `incr` by 1 (recorded as `addAndGet`) and linearizable or lease `read`
 *   (recorded as `get`);
 * - sequential reads of the counter, not recorded in the histories (sequential is not
 *   linearizable) but checked: for one client they never go back, and never miss the client's
 *   own increments.
 * Every call goes through `History.record` with a `Date.now` clock; errors (timeouts, lost
 * connections) become `info`, and the worker continues as a new process id (Jepsen's rule: its
 * last operation may still take effect). At the end the histories are written as JSON lines.
 */
import { writeFileSync } from 'node:fs';
import { RaftClient, command, query, type ConsistencyLevel } from '@copycat/client';
import { History, defaultClassifier } from '@copycat/testing';
import { WebSocketTransport } from '@copycat/transport-ws';
import type { WorkloadConfig, WorkloadMessage, WorkloadStats } from './messages.js';

const KEYS = ['k0', 'k1', 'k2'];
const COUNTER = 'counter';

async function main(config: WorkloadConfig): Promise<void> {
  const kv = new History(Date.now);
  const counter = new History(Date.now);
  const stats: WorkloadStats = {
    clients: config.clients,
    workers: config.clients * config.workersPerClient,
    operations: 0,
    ok: 0,
    info: 0,
    fail: 0,
    sequentialReads: 0,
    sequentialViolations: [],
    sessionChanges: [],
    errors: {},
  };
  const send = (message: WorkloadMessage) => {
    if (process.connected) process.send?.(message);
  };

  const clients = await Promise.all(
    Array.from({ length: config.clients }, async (_, c) => {
      const client = new RaftClient({
        transport: new WebSocketTransport(),
        clientId: `chaos-client-${c}`,
        requestTimeout: config.requestTimeout,
        ...(config.unsafeReads === true ? { connectionStrategy: 'random' as const } : {}),
      });
      client.onSessionStateChange((change) =>
        stats.sessionChanges.push(`client ${c}: session ${change.id} ${change.previous} -> ${change.state}`),
      );
      await client.connect(config.members);
      return client;
    }),
  );
  stats.sessions = clients.map((client) => client.session.id);
  const deadline = Date.now() + config.durationMs;
  send({ type: 'ready', deadline });

  let stopped = false;
  process.on('message', (message: { type: string }) => {
    if (message.type === 'stop') stopped = true;
  });

  const random = (n: number) => Math.floor(Math.random() * n);
  const consistency = (): ConsistencyLevel =>
    config.unsafeReads === true ? 'sequential' : Math.random() < 0.5 ? 'linearizable' : 'lease';
  const options = { timeout: config.operationTimeout };

  const worker = async (
    client: RaftClient,
    c: number,
    w: number,
    shared: { ownIncrements: number; lastSequential: number },
  ) => {
    let generation = 0;
    let written = 0;
    const seen = new Map<string, unknown>();
    const process_ = () => `c${c}w${w}${generation === 0 ? '' : `.${generation}`}`;
    while (!stopped && Date.now() < deadline) {
      const roll = Math.random();
      const key = KEYS[random(KEYS.length)]!;
      const run = async <T>(
        history: History,
        op: Parameters<History['record']>[1],
        call: () => Promise<T>,
      ) => {
        stats.operations++;
        try {
          const value = await history.record(process_(), op, call);
          stats.ok++;
          return value;
        } catch (error) {
          const code = (error as { code?: string }).code ?? (error as Error).name;
          stats.errors[code] = (stats.errors[code] ?? 0) + 1;
          if (defaultClassifier(error) === 'fail') stats.fail++;
          else {
            stats.info++;
            generation++;
          }
          return undefined;
        }
      };
      if (roll < 0.3) {
        const value = `${c}.${w}.${++written}`;
        const previous = await run(kv, { name: 'put', key, input: value }, () =>
          client.submit(command<unknown>('put', { key, value }), options),
        );
        if (previous !== undefined) seen.set(key, value);
      } else if (roll < 0.55) {
        const value = await run(kv, { name: 'get', key }, () =>
          client.submit(query<unknown>('get', { key }, { consistency: consistency() }), options),
        );
        if (value !== undefined) seen.set(key, value);
      } else if (roll < 0.7) {
        const expect = seen.get(key) ?? null;
        const update = `${c}.${w}.${++written}`;
        const swapped = await run(kv, { name: 'cas', key, input: { expect, update } }, () =>
          client.submit(command<boolean>('cas', { key, expect, update }), options),
        );
        if (swapped === true) seen.set(key, update);
      } else if (roll < 0.85) {
        const value = await run(counter, { name: 'addAndGet', key: COUNTER, input: 1 }, () =>
          client.submit(command<number>('incr', { key: COUNTER, by: 1 }), options),
        );
        if (value !== undefined) shared.ownIncrements = Math.max(shared.ownIncrements, value);
      } else if (roll < 0.95) {
        await run(counter, { name: 'get', key: COUNTER }, () =>
          client.submit(query<number>('read', { key: COUNTER }, { consistency: consistency() }), options),
        );
      } else {
        // Sequential: never back in time for this client, never missing its own completed increments.
        const floor = Math.max(shared.ownIncrements, shared.lastSequential);
        try {
          const value = await client.submit(
            query<number>('read', { key: COUNTER }, { consistency: 'sequential' }),
            options,
          );
          stats.sequentialReads++;
          if (value < floor)
            stats.sequentialViolations.push(
              `client ${c}: sequential read ${value} after having seen ${floor}`,
            );
          shared.lastSequential = Math.max(shared.lastSequential, value);
        } catch {
          // An unanswered read tells nothing.
        }
      }
    }
  };

  await Promise.all(
    clients.flatMap((client, c) => {
      const shared = { ownIncrements: 0, lastSequential: 0 };
      return Array.from({ length: config.workersPerClient }, (_, w) => worker(client, c, w, shared));
    }),
  );
  writeFileSync(config.kvHistory, kv.toJsonLines());
  writeFileSync(config.counterHistory, counter.toJsonLines());
  stats.finalSessions = clients.map((client) => client.session.id);
  await Promise.race([
    Promise.all(clients.map((client) => client.close().catch(() => {}))),
    new Promise((resolve) => setTimeout(resolve, 5000)),
  ]);
  send({ type: 'done', stats });
}

const config = JSON.parse(process.argv[2] ?? '{}') as WorkloadConfig;
// Never outlive the orchestrator, nor the run by much.
process.on('disconnect', () => process.exit(1));
setTimeout(() => {
  console.error('workload: still running long after its deadline; giving up');
  process.exit(2);
}, config.durationMs + 60_000).unref();
main(config).then(
  () => process.exit(0),
  (error: unknown) => {
    console.error('workload failed:', error);
    process.exit(1);
  },
);
