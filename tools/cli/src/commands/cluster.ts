/**
 * `copycat cluster [--size 3] [--dir .copycat] [--port 5001] [--demo]`: starts a local cluster of
 * real replica processes over WebSocket with disk storage, prints addresses and leader changes,
 * then uses it: writes keys through the leader, kills the leader with SIGKILL, shows the new
 * leader serving the same data, and restarts the killed replica. With `--demo` it then stops;
 * otherwise it keeps running until Ctrl-C, which stops every replica cleanly.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { createRequire } from 'node:module';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Args } from '../args.js';
import type { ChildMessage, ParentMessage } from '../ipc.js';

interface Replica {
  address: string;
  directory: string;
  process: ChildProcess | undefined;
  state: string;
  term: number;
  commitIndex: number;
}

const main = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'main.ts');
const tsx = createRequire(import.meta.url).resolve('tsx');
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export async function clusterCommand(args: Args): Promise<void> {
  const size = args.integer('size', 3, 1, 9);
  const port = args.integer('port', 5001, 1024, 65_535 - size);
  const root = path.resolve(args.string('dir', '.copycat'));
  const demo = args.flag('demo');
  const members = Array.from({ length: size }, (_, i) => `127.0.0.1:${port + i}`);
  const replicas: Replica[] = members.map((address, i) => ({
    address,
    directory: path.join(root, `replica-${i + 1}`),
    process: undefined,
    state: 'starting',
    term: 0,
    commitIndex: 0,
  }));
  let lastLeader: string | undefined;
  let lastTerm = 0;
  let nextId = 1;
  const waiting = new Map<number, (message: Extract<ChildMessage, { type: 'result' }>) => void>();
  let stopping = false;

  const start = (replica: Replica) => {
    mkdirSync(replica.directory, { recursive: true });
    const child = fork(
      main,
      ['server', '--address', replica.address, '--members', members.join(','), '--dir', replica.directory],
      {
        execArgv: ['--conditions=@copycat/source', '--import', tsx],
        stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      },
    );
    replica.process = child;
    child.on('message', (message: ChildMessage) => {
      if (message.type === 'result') {
        waiting.get(message.id)?.(message);
        waiting.delete(message.id);
        return;
      }
      replica.state = message.state;
      replica.term = message.term;
      replica.commitIndex = message.commitIndex;
      if (message.state === 'leader' && (message.address !== lastLeader || message.term !== lastTerm)) {
        lastLeader = message.address;
        lastTerm = message.term;
        console.log(`leader: ${message.address} (term ${message.term})`);
      }
    });
    child.on('exit', (code, signal) => {
      if (replica.process === child) replica.process = undefined;
      replica.state = 'stopped';
      if (!stopping && signal !== 'SIGKILL')
        console.error(`${replica.address} exited (${signal ?? `code ${code}`})`);
    });
  };

  const stopAll = async () => {
    stopping = true;
    const exits = replicas.flatMap((r) =>
      r.process === undefined
        ? []
        : [new Promise<void>((resolve) => r.process!.once('exit', () => resolve()))],
    );
    for (const r of replicas) r.process?.kill('SIGTERM');
    await Promise.race([Promise.all(exits), sleep(10_000)]);
    for (const r of replicas) r.process?.kill('SIGKILL');
  };

  process.on('SIGINT', () => {
    console.log('\nstopping the cluster...');
    void stopAll().then(() => process.exit(0));
  });

  const leader = () => replicas.find((r) => r.state === 'leader' && r.process !== undefined);
  const waitFor = async (what: string, predicate: () => boolean, ms = 20_000) => {
    const started = Date.now();
    while (!predicate()) {
      if (Date.now() - started > ms) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
      await sleep(20);
    }
    return Date.now() - started;
  };

  /** Submits a command through whichever replica leads now, retrying across leader changes. */
  const submit = async (name: string, commandArgs: unknown): Promise<unknown> => {
    const deadline = Date.now() + 20_000;
    let lastError = 'no leader';
    while (Date.now() < deadline) {
      const target = leader();
      if (target?.process !== undefined) {
        const id = nextId++;
        const reply = new Promise<Extract<ChildMessage, { type: 'result' }>>((resolve) =>
          waiting.set(id, resolve),
        );
        target.process.send({ type: 'submit', id, name, args: commandArgs } satisfies ParentMessage);
        const result = await Promise.race([reply, sleep(5_000).then(() => undefined)]);
        if (result?.ok === true) return result.value;
        lastError = result === undefined ? 'no answer' : result.error;
      }
      await sleep(50);
    }
    throw new Error(`could not submit ${name}: ${lastError}`);
  };

  console.log(`starting ${size} replicas (data in ${root}):`);
  for (const r of replicas) console.log(`  ${r.address}  ${r.directory}`);
  for (const r of replicas) start(r);
  await waitFor('a leader', () => leader() !== undefined);

  try {
    console.log('\nusing it: a replicated key-value map');
    for (const [key, value] of [
      ['ada', 'lovelace'],
      ['alan', 'turing'],
      ['grace', 'hopper'],
    ] as const) {
      const previous = await submit('put', { key, value });
      console.log(
        `  put ${key} = ${value}${previous === undefined ? '' : ` (was ${JSON.stringify(previous)})`}`,
      );
    }
    console.log(`  size = ${String(await submit('size', {}))}`);

    if (size >= 3) {
      const victim = leader()!;
      console.log(`\nkilling the leader ${victim.address} with SIGKILL...`);
      victim.process?.kill('SIGKILL');
      victim.state = 'killed';
      const elapsed = await waitFor('a new leader', () => leader() !== undefined && leader() !== victim);
      console.log(`  new leader ${leader()!.address} after ${elapsed} ms`);
      console.log(`  get ada = ${String(await submit('get', { key: 'ada' }))} (committed before the crash)`);
      await submit('put', { key: 'edsger', value: 'dijkstra' });
      console.log(`  put edsger = dijkstra; size = ${String(await submit('size', {}))}`);
      console.log(`restarting ${victim.address}...`);
      start(victim);
      const target = leader()!;
      await waitFor(
        'the restarted replica to catch up',
        () => victim.state === 'follower' && victim.commitIndex >= target.commitIndex,
      );
      console.log(`  ${victim.address} is a follower again, caught up to index ${victim.commitIndex}`);
    }
  } catch (error) {
    await stopAll();
    throw error;
  }

  if (demo) {
    await stopAll();
    console.log('\ndemo done: cluster stopped cleanly');
    return;
  }
  console.log('\ncluster running; Ctrl-C stops it');
  await new Promise(() => {});
}
