/**
 * The browser build must not pull in `ws` or any `node:` module: bundle the package as a browser
 * bundler would (esbuild, platform "browser", through the package's `exports`) and look at what
 * went in. Then run that bundle against a real server with a browser-like `WebSocket`.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build, type Metafile } from 'esbuild';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket as NodeWebSocket } from 'ws';
import { ConfigurationError } from '@copycat/common';
import { MessageType, type Transport } from '@copycat/protocol';
import { WebSocketTransport } from '@copycat/transport-ws';
import { freeAddress } from './ports.js';

const packageDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

async function bundle(platform: 'browser' | 'node'): Promise<{ code: string; inputs: string[] }> {
  const result = await build({
    stdin: {
      contents: "export { WebSocketTransport } from '@copycat/transport-ws';",
      resolveDir: packageDir,
      loader: 'ts',
    },
    bundle: true,
    write: false,
    metafile: true,
    platform,
    format: 'iife',
    globalName: 'CopycatTransportWs',
    // Resolve workspace packages to their sources, as the tests do (no build needed).
    conditions: ['@copycat/source'],
    logLevel: 'silent',
  });
  const metafile: Metafile = result.metafile;
  return { code: result.outputFiles[0]!.text, inputs: Object.keys(metafile.inputs) };
}

const pullsInWs = (input: string) =>
  /(^|\/)node_modules\/(\.pnpm\/ws@[^/]+\/node_modules\/)?ws\//.test(input);

describe('browser build', () => {
  it('contains neither ws nor any node: module', async () => {
    const { code, inputs } = await bundle('browser');
    expect(inputs.some((input) => input.endsWith('src/browser.ts'))).toBe(true);
    expect(inputs.filter(pullsInWs)).toEqual([]);
    expect(inputs.filter((input) => input.startsWith('node:') || input.includes('/src/node/'))).toEqual([]);
    expect(code).not.toMatch(/require\(["'](node:|ws["'])/);
    expect(code).not.toMatch(/from ["']node:/);
  });

  it('the check would catch it: the Node build does pull in ws', async () => {
    const { inputs } = await bundle('node');
    expect(inputs.some(pullsInWs)).toBe(true);
  });

  describe('running the bundle with a browser-like WebSocket', () => {
    const saved = (globalThis as { WebSocket?: unknown }).WebSocket;
    afterEach(() => {
      (globalThis as { WebSocket?: unknown }).WebSocket = saved;
    });

    it('round-trips requests, with the auth token in the URL', async () => {
      const { code } = await bundle('browser');
      // eslint-disable-next-line @typescript-eslint/no-implied-eval -- evaluating the bundle under test
      const exports = new Function(`${code}; return CopycatTransportWs;`)() as {
        WebSocketTransport: new (options?: { authToken?: string }) => Transport;
      };
      const urls: string[] = [];
      // What a browser offers: new WebSocket(url), no options, so no headers.
      (globalThis as { WebSocket?: unknown }).WebSocket = class extends NodeWebSocket {
        constructor(url: string) {
          urls.push(url);
          super(url);
        }
      };
      const address = await freeAddress();
      const server = new WebSocketTransport({ authToken: 'browser-token' }).server();
      await server.listen(address, (connection) =>
        connection.handler(MessageType.vote, (request) => ({
          status: 'ok',
          term: request.term,
          voted: true,
        })),
      );
      try {
        const browserClient = new exports.WebSocketTransport({ authToken: 'browser-token' }).client();
        const connection = await browserClient.connect(address);
        const responses = await Promise.all(
          Array.from({ length: 10 }, (_, term) =>
            connection.send({
              type: MessageType.vote,
              term,
              candidate: 'a',
              lastLogIndex: 0,
              lastLogTerm: 0,
            }),
          ),
        );
        expect(responses.map((r) => r.status === 'ok' && r.term)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
        expect(urls).toEqual([`ws://${address}/?v=1&token=browser-token`]);
        await browserClient.close();
        expect(connection.closed).toBe(true);
        expect(() => new exports.WebSocketTransport().server()).toThrow(/browsers cannot listen/);
      } finally {
        await server.close();
      }
    });

    it('says so clearly where there is no WebSocket', async () => {
      const { code } = await bundle('browser');
      // eslint-disable-next-line @typescript-eslint/no-implied-eval -- evaluating the bundle under test
      const exports = new Function(`${code}; return CopycatTransportWs;`)() as {
        WebSocketTransport: new () => Transport;
      };
      (globalThis as { WebSocket?: unknown }).WebSocket = undefined;
      const outcome = new exports.WebSocketTransport().client().connect('127.0.0.1:1');
      await expect(outcome).rejects.toThrow(/no global WebSocket/);
      await expect(outcome).rejects.toMatchObject({ code: new ConfigurationError('').code });
    });
  });
});
