/**
 * Replica processes on this machine: `copycat server` children over WebSocket on 127.0.0.1 with
 * disk storage, each reporting its state over an IPC channel. Used by `copycat cluster`, and
 * (exported as `@copycat/cli/replicas`) by the chaos test and the cluster benchmark, so all three
 * start, kill and restart replicas the same way.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { createServer, type Server } from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ChildMessage } from './ipc.js';

const main = path.join(path.dirname(fileURLToPath(import.meta.url)), 'main.ts');
const tsx = createRequire(import.meta.url).resolve('tsx');

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Waits until `predicate()` holds, polling; returns the ms waited. Throws after `timeout` ms. */
export async function waitUntil(what: string, predicate: () => boolean, timeout = 20_000): Promise<number> {
  const started = Date.now();
  while (!predicate()) {
    if (Date.now() - started > timeout) throw new Error(`timed out after ${timeout} ms waiting for ${what}`);
    await sleep(20);
  }
  return Date.now() - started;
}

/** `count` distinct ports that were free on 127.0.0.1 a moment ago (chosen by the OS). */
export async function freePorts(count: number): Promise<number[]> {
  const servers: Server[] = [];
  try {
    for (let i = 0; i < count; i++) {
      const server = createServer();
      servers.push(server);
      server.listen(0, '127.0.0.1');
      await once(server, 'listening');
    }
    return servers.map((server) => {
      const address = server.address();
      if (address === null || typeof address === 'string') throw new Error('no port');
      return address.port;
    });
  } finally {
    await Promise.all(servers.map((server) => new Promise((resolve) => server.close(resolve))));
  }
}

export interface ReplicaOptions {
  address: string;
  /** Every member's address (the initial configuration). */
  members: readonly string[];
  /** The replica's storage directory (created if missing). */
  directory: string;
  /** Where the replica's stdout and stderr go. `pipe` keeps the last lines in `output`. Default `inherit`. */
  output?: 'inherit' | 'ignore' | 'pipe';
  /** Extra `copycat server` arguments, e.g. `['--verbose']`. */
  args?: readonly string[];
}

export type ReplicaExit = { code: number | null; signal: NodeJS.Signals | null };

/** One replica process: start it, follow its state, kill or stop it, start it again. */
export class ReplicaProcess {
  readonly address: string;
  readonly directory: string;
  /** `starting`, then the server's role (`follower`, `leader`, ...); `stopped` or `killed` when not running. */
  state = 'stopped';
  term = 0;
  leader: string | undefined;
  commitIndex = 0;
  /** How many times this replica was started. */
  starts = 0;
  /** The last lines the replica wrote, with `output: 'pipe'`. */
  readonly output: string[] = [];
  private child: ChildProcess | undefined;
  private readonly stateListeners = new Set<(replica: ReplicaProcess) => void>();
  private readonly exitListeners = new Set<(exit: ReplicaExit, replica: ReplicaProcess) => void>();

  constructor(private readonly options: ReplicaOptions) {
    this.address = options.address;
    this.directory = options.directory;
  }

  get running(): boolean {
    return this.child !== undefined;
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  /** Starts the process (it bootstraps the cluster from `members`, or restarts from its disk). */
  start(): void {
    if (this.child !== undefined) throw new Error(`${this.address} is already running`);
    mkdirSync(this.directory, { recursive: true });
    const mode = this.options.output ?? 'inherit';
    const child = fork(
      main,
      [
        'server',
        '--address',
        this.address,
        '--members',
        this.options.members.join(','),
        '--dir',
        this.directory,
        ...(this.options.args ?? []),
      ],
      { execArgv: ['--conditions=@copycat/source', '--import', tsx], stdio: ['ignore', mode, mode, 'ipc'] },
    );
    this.child = child;
    this.starts++;
    this.state = 'starting';
    if (mode === 'pipe') {
      const keep = (data: Buffer) => {
        this.output.push(...data.toString().split('\n').filter(Boolean));
        if (this.output.length > 200) this.output.splice(0, this.output.length - 200);
      };
      child.stdout?.on('data', keep);
      child.stderr?.on('data', keep);
    }
    child.on('message', (message: ChildMessage) => {
      if (this.child !== child || message.type !== 'state') return;
      this.state = message.state;
      this.term = message.term;
      this.leader = message.leader;
      this.commitIndex = message.commitIndex;
      for (const listener of this.stateListeners) listener(this);
    });
    child.on('exit', (code, signal) => {
      if (this.child !== child) return;
      this.child = undefined;
      this.state = signal === 'SIGKILL' ? 'killed' : 'stopped';
      for (const listener of this.exitListeners) listener({ code, signal }, this);
    });
  }

  /** Sends `signal` (default SIGKILL: a crash) and resolves once the process is gone. */
  async kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    const child = this.child;
    if (child === undefined) return;
    const exited = once(child, 'exit');
    child.kill(signal);
    await exited;
  }

  /** Stops cleanly (SIGTERM), or kills after `timeout` ms. */
  async stop(timeout = 10_000): Promise<void> {
    const child = this.child;
    if (child === undefined) return;
    const exited = once(child, 'exit');
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), timeout);
    await exited;
    clearTimeout(timer);
  }

  /** `listener` runs on every state report (at least every 250 ms while running). */
  onState(listener: (replica: ReplicaProcess) => void): () => void {
    this.stateListeners.add(listener);
    return () => this.stateListeners.delete(listener);
  }

  /** `listener` runs when the process exits, however it exits. */
  onExit(listener: (exit: ReplicaExit, replica: ReplicaProcess) => void): () => void {
    this.exitListeners.add(listener);
    return () => this.exitListeners.delete(listener);
  }
}

export interface ReplicaClusterOptions {
  /** Addresses, `127.0.0.1:port`; see `freePorts`. */
  members: readonly string[];
  /** Each replica's data goes to `<root>/replica-<n>`. */
  root: string;
  output?: ReplicaOptions['output'];
  args?: readonly string[];
}

/** A cluster of replica processes on this machine. */
export class ReplicaCluster {
  readonly members: readonly string[];
  readonly replicas: readonly ReplicaProcess[];

  constructor(options: ReplicaClusterOptions) {
    this.members = [...options.members];
    this.replicas = options.members.map(
      (address, i) =>
        new ReplicaProcess({
          address,
          members: options.members,
          directory: path.join(options.root, `replica-${i + 1}`),
          ...(options.output === undefined ? {} : { output: options.output }),
          ...(options.args === undefined ? {} : { args: options.args }),
        }),
    );
  }

  start(): void {
    for (const replica of this.replicas) replica.start();
  }

  /** The running replica that reports itself leader in the highest term, if any. */
  leader(): ReplicaProcess | undefined {
    let best: ReplicaProcess | undefined;
    for (const replica of this.replicas) {
      if (replica.running && replica.state === 'leader' && (best === undefined || replica.term > best.term))
        best = replica;
    }
    return best;
  }

  /** Waits for a leader other than `except`; returns it and the ms waited. */
  async waitForLeader(
    timeout = 20_000,
    except?: ReplicaProcess,
  ): Promise<{ leader: ReplicaProcess; elapsed: number }> {
    const found = () => {
      const leader = this.leader();
      return leader !== undefined && leader !== except ? leader : undefined;
    };
    const elapsed = await waitUntil(
      except === undefined ? 'a leader' : 'a new leader',
      () => found() !== undefined,
      timeout,
    );
    return { leader: found()!, elapsed };
  }

  /** Stops every running replica cleanly (SIGTERM), killing those that take over `timeout` ms. */
  async stop(timeout = 10_000): Promise<void> {
    await Promise.all(this.replicas.map((replica) => replica.stop(timeout)));
  }

  /** Kills every running replica at once (SIGKILL). */
  async kill(): Promise<void> {
    await Promise.all(this.replicas.map((replica) => replica.kill()));
  }
}
