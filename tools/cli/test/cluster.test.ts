// End-to-end: the README's main job, run as a user runs it (real processes, WebSocket, disk).
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const bin = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'bin', 'copycat.mjs');

function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

/** A base port with `count` consecutive free ports on 127.0.0.1. */
async function freeRange(count: number): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const base = 20_000 + Math.floor(Math.random() * 40_000);
    const free = await Promise.all(Array.from({ length: count }, (_, i) => portFree(base + i)));
    if (free.every(Boolean)) return base;
  }
  throw new Error('no free port range');
}

function run(args: string[]): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [bin, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 90_000);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, output });
    });
  });
}

describe('copycat cluster --demo', () => {
  it('starts 3 replica processes, uses them, survives killing the leader, and stops cleanly', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'copycat-cli-'));
    try {
      const port = await freeRange(3);
      const { code, output } = await run(['cluster', '--demo', '--dir', dir, '--port', String(port)]);
      expect(output).toMatch(/leader: 127\.0\.0\.1:\d+ \(term \d+\)/);
      expect(output).toContain('size = 3');
      expect(output).toMatch(/new leader 127\.0\.0\.1:\d+ after \d+ ms/);
      expect(output).toContain('get ada = lovelace (committed before the crash)');
      expect(output).toContain('size = 4');
      expect(output).toMatch(/is a follower again, caught up to index \d+/);
      expect(output).toContain('demo done: cluster stopped cleanly');
      expect(code, output).toBe(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 120_000);

  it('fails with a one-line error and a non-zero code on bad arguments', async () => {
    const { code, output } = await run(['cluster', '--size', 'ten']);
    expect(code).toBe(2);
    expect(output.split('\n')[0]).toBe('copycat: --size must be an integer in [1, 9], got ten');
    const unknown = await run(['frobnicate']);
    expect(unknown.code).toBe(2);
    expect(unknown.output).toContain("unknown command 'frobnicate'");
  });
});
