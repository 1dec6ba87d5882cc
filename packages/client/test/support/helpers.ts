import { type Logger } from '@copycat/common';
import { type RaftClient, type RaftClientOptions, type SessionStateChange } from '@copycat/client';
import { FakeCluster, type FakeClusterOptions } from './fake-cluster.js';

/** A started fake cluster and a client connected to it, with the session state changes it saw. */
export async function connected(
  options: Partial<RaftClientOptions> = {},
  clusterOptions: FakeClusterOptions = {},
): Promise<{ cluster: FakeCluster; client: RaftClient; changes: SessionStateChange[] }> {
  const cluster = await FakeCluster.start(clusterOptions);
  const client = cluster.client(options);
  const changes: SessionStateChange[] = [];
  client.onSessionStateChange((change) => changes.push(change));
  await cluster.run(client.connect(cluster.addresses));
  return { cluster, client, changes };
}

/** A logger that keeps what was logged at `error` and `warn`. */
export function recordingLogger(): Logger & { lines: { level: string; message: string }[] } {
  const lines: { level: string; message: string }[] = [];
  const logger = {
    lines,
    debug: () => {},
    info: () => {},
    warn: (message: string) => void lines.push({ level: 'warn', message }),
    error: (message: string) => void lines.push({ level: 'error', message }),
    child: () => logger,
  };
  return logger;
}

/** Resolves with `promise`'s outcome as a value, so a test can run the scheduler meanwhile. */
export function outcome<T>(promise: Promise<T>): {
  readonly value?: T;
  readonly error?: Error;
  settled: boolean;
} {
  const state: { value?: T; error?: Error; settled: boolean } = { settled: false };
  promise.then(
    (value) => Object.assign(state, { value, settled: true }),
    (error: Error) => Object.assign(state, { error, settled: true }),
  );
  return state;
}
