import { SystemScheduler, sleep } from '@copycat/common';
import { type IncomingMessage } from 'node:http';
import { WebSocketServer, type WebSocket } from 'ws';
import { freePort } from './ports.js';

export const clock = new SystemScheduler();

/** Polls `condition` every few ms, at most `timeout` ms. */
export async function until(condition: () => boolean, timeout = 5000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + timeout;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(clock, 2);
  }
}

/** The reason `promise` rejects with (attach at once, so the rejection counts as handled). */
export function failure(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    (value) => {
      throw new Error(`expected a rejection, got ${JSON.stringify(value)}`);
    },
    (error: unknown) => error,
  );
}

/** A bare `ws` server standing in for a peer that behaves in some special way. */
export async function bareServer(
  onConnection: (ws: WebSocket, request: IncomingMessage) => void,
): Promise<{ address: string; close(): Promise<void> }> {
  const port = await freePort();
  const server = new WebSocketServer({ host: '127.0.0.1', port });
  server.on('connection', (ws, request) => {
    ws.on('error', () => {});
    onConnection(ws, request);
  });
  await new Promise<void>((resolve) => server.once('listening', () => resolve()));
  return {
    address: `127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        for (const client of server.clients) client.terminate();
        server.close(() => resolve());
      }),
  };
}
