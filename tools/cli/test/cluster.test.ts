// End-to-end: the README's main job, run as a user runs it (real processes, WebSocket, disk).
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { ReplicaCluster, freePorts } from '../src/replicas.js';

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
      expect(output).toMatch(/through client session \d+/);
      expect(output).toContain('size = 3');
      expect(output).toMatch(/new leader 127\.0\.0\.1:\d+ after \d+ ms/);
      expect(output).toContain('get ada = lovelace (committed before the crash)');
      expect(output).toContain('size = 4');
      expect(output).toMatch(
        /the client kept its session \d+ \(open\); put events it got: ada, alan, grace, edsger \(each once, in order\)/,
      );
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

describe('copycat status and copycat map', () => {
  let cluster: ReplicaCluster | undefined;
  const dir = mkdtempSync(path.join(tmpdir(), 'copycat-cli-map-'));
  afterAll(async () => {
    await cluster?.kill();
    rmSync(dir, { recursive: true, force: true });
  });

  it('report the leader and members, and put, get and remove keys through a client session', async () => {
    const members = (await freePorts(3)).map((port) => `127.0.0.1:${port}`);
    cluster = new ReplicaCluster({ members, root: dir, output: 'pipe' });
    cluster.start();
    await cluster.waitForLeader(30_000);
    const list = members.join(',');

    const status = await run(['status', '--members', list]);
    expect(status.code, status.output).toBe(0);
    expect(status.output).toMatch(/leader: 127\.0\.0\.1:\d+ \(term \d+\), commit index \d+/);
    for (const member of members)
      expect(status.output).toMatch(new RegExp(`${member.replace(/\./g, '\\.')}\\s+active\\s+available`));

    const put = await run(['map', 'put', 'users', 'ada', 'lovelace', '--members', list]);
    expect(put.output.trim()).toBe('ok (no previous value)');
    const again = await run(['map', 'put', 'users', 'ada', 'byron', '--members', list]);
    expect(again.output.trim()).toBe('ok (previous value: lovelace)');
    const get = await run(['map', 'get', 'users', 'ada', '--members', list, '--consistency', 'sequential']);
    expect(get.output.trim()).toBe('byron');
    const other = await run(['map', 'get', 'default', 'ada', '--members', list]);
    expect(other.output.trim()).toBe('(absent)');
    const removed = await run(['map', 'remove', 'users', 'ada', '--members', list]);
    expect(removed.output.trim()).toBe('ok (previous value: byron)');
    const gone = await run(['map', 'get', 'users', 'ada', '--members', list]);
    expect([gone.code, gone.output.trim()]).toEqual([0, '(absent)']);
  }, 120_000);

  it('fail with a one-line error when the arguments are wrong or nobody answers', async () => {
    const usage = await run(['map', 'put', 'users', 'ada', '--members', '127.0.0.1:1']);
    expect(usage.code).toBe(2);
    expect(usage.output.split('\n')[0]).toBe('copycat: map put needs NAME, KEY and VALUE');
    const [port] = await freePorts(1);
    const nobody = await run(['status', '--members', `127.0.0.1:${port}`, '--timeout', '1000']);
    expect(nobody.code).toBe(1);
    expect(nobody.output.trim().split('\n').at(-1)).toBe('copycat: no member answered');
  }, 60_000);
});
