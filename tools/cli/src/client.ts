/** A `RaftClient` over WebSocket for the CLI commands, with a bound on how long connecting may take. */
import { RaftClient, type RaftClientOptions } from '@copycat/client';
import { WebSocketTransport } from '@copycat/transport-ws';

export interface ConnectOptions extends Omit<RaftClientOptions, 'transport'> {
  /** Give up connecting after this many ms (the client itself retries forever). Default 10 000. */
  connectTimeout?: number;
}

/** Opens a session with the cluster at `members`; rejects if that takes over `connectTimeout`. */
export async function connectClient(
  members: readonly string[],
  options: ConnectOptions = {},
): Promise<RaftClient> {
  const { connectTimeout = 10_000, ...clientOptions } = options;
  const client = new RaftClient({ transport: new WebSocketTransport(), ...clientOptions });
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () =>
        reject(new Error(`could not open a session with ${members.join(',')} within ${connectTimeout} ms`)),
      connectTimeout,
    );
  });
  try {
    await Promise.race([client.connect(members), timedOut]);
    return client;
  } catch (error) {
    await client.close().catch(() => {});
    throw error;
  } finally {
    clearTimeout(timer);
  }
}
