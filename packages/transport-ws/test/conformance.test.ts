import { describe } from 'vitest';
import { WebSocket } from 'ws';
import { WebSocketTransport, type WebSocketTransportOptions } from '@copycat/transport-ws';
import { runConformanceSuite } from '../../protocol/test/conformance/suite.js';
import {
  type ConformanceHarness,
  type HarnessOptions,
  type RawPeer,
} from '../../protocol/test/conformance/harness.js';
import { selfSignedCertificate } from './certificate.js';
import { freeAddress } from './ports.js';

/** A raw `ws` client: waits for the server's hello, then sends and collects binary frames as they are. */
export function rawPeer(url: string, headers: Record<string, string> = {}, ca?: string): Promise<RawPeer> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { headers, ...(ca === undefined ? {} : { ca }) });
    const frames: Uint8Array[] = [];
    let hello = false;
    let closed = false;
    ws.on('error', reject);
    ws.on('close', () => (closed = true));
    ws.on('message', (data: Buffer) => {
      if (!hello) {
        hello = true;
        resolve({
          frames,
          send: (frame) => ws.send(frame),
          get closed() {
            return closed;
          },
          close: async () => {
            if (closed) return;
            const done = new Promise((r) => ws.once('close', r));
            ws.close();
            await done;
          },
        });
        return;
      }
      frames.push(new Uint8Array(data));
    });
  });
}

function harness(
  options: WebSocketTransportOptions,
  client: WebSocketTransportOptions = options,
  ca?: string,
): ConformanceHarness {
  return {
    node: async () => ({
      address: await freeAddress(),
      transport: new WebSocketTransport(client === options ? options : client),
    }),
    raw: (_from, address) =>
      rawPeer(
        `${options.tls ? 'wss' : 'ws'}://${address}/?v=1`,
        options.authToken ? { authorization: `Bearer ${options.authToken}` } : {},
        ca,
      ),
    close: async () => {},
  };
}

describe('WebSocketTransport conformance', () => {
  runConformanceSuite({
    setup: async (options: HarnessOptions) => harness({ ...options }),
    auth: async ({ server, client }) => {
      // Servers of this harness require `server`; every node's client presents `client`.
      let nodes = 0;
      return {
        node: async () => {
          const address = await freeAddress();
          const transport =
            nodes++ === 0
              ? new WebSocketTransport({ authToken: server })
              : new WebSocketTransport(client === undefined ? {} : { authToken: client });
          return { address, transport };
        },
        raw: (_from, address) => rawPeer(`ws://${address}/?v=1`, { authorization: `Bearer ${server}` }),
        close: async () => {},
      };
    },
    tls: async () => {
      const { key, cert } = selfSignedCertificate();
      return harness({ tls: { key, cert, ca: cert } }, { tls: { key, cert, ca: cert } }, cert);
    },
  });
});
