/**
 * `copycat cluster [--size 3] [--dir .copycat] [--port 5001] [--demo]`: starts a local cluster of
 * real replica processes over WebSocket with disk storage, prints addresses and leader changes,
 * then uses it through a `RaftClient` session, as an application would: writes and reads keys,
 * kills the leader with SIGKILL, shows the same session carrying on with the new leader (reads
 * see the earlier writes), and restarts the killed replica. With `--demo` it then stops;
 * otherwise it keeps running until Ctrl-C, which stops every replica cleanly.
 */
import path from 'node:path';
import { command, query, type RaftClient } from '@copycat/client';
import type { Args } from '../args.js';
import { connectClient } from '../client.js';
import { ReplicaCluster, waitUntil } from '../replicas.js';

export async function clusterCommand(args: Args): Promise<void> {
  const size = args.integer('size', 3, 1, 9);
  const port = args.integer('port', 5001, 1024, 65_535 - size);
  const root = path.resolve(args.string('dir', '.copycat'));
  const demo = args.flag('demo');
  const members = Array.from({ length: size }, (_, i) => `127.0.0.1:${port + i}`);
  const cluster = new ReplicaCluster({ members, root });
  let lastLeader: string | undefined;
  let lastTerm = 0;
  let stopping = false;
  let client: RaftClient | undefined;

  for (const replica of cluster.replicas) {
    replica.onState(() => {
      const leader = cluster.leader();
      if (leader !== undefined && (leader.address !== lastLeader || leader.term !== lastTerm)) {
        lastLeader = leader.address;
        lastTerm = leader.term;
        console.log(`leader: ${leader.address} (term ${leader.term})`);
      }
    });
    replica.onExit(({ code, signal }) => {
      if (!stopping && signal !== 'SIGKILL')
        console.error(`${replica.address} exited (${signal ?? `code ${code}`})`);
    });
  }

  const stopAll = async () => {
    stopping = true;
    await client?.close().catch(() => {});
    await cluster.stop();
  };

  process.on('SIGINT', () => {
    console.log('\nstopping the cluster...');
    void stopAll().then(() => process.exit(0));
  });

  console.log(`starting ${size} replicas (data in ${root}):`);
  for (const r of cluster.replicas) console.log(`  ${r.address}  ${r.directory}`);
  cluster.start();

  try {
    await cluster.waitForLeader();
    client = await connectClient(members, { connectTimeout: 20_000 });
    const session = client.session.id;
    const events: string[] = [];
    client.onEvent<{ key: string }>('put', (event) => events.push(event.key));
    await client.submit(command('listen'));
    const put = (key: string, value: string) => client!.submit(command<unknown>('put', { key, value }));
    const get = (key: string) => client!.submit(query<unknown>('get', { key }));
    const mapSize = () => client!.submit(query<number>('size'));

    console.log(`\nusing it: a replicated key-value map, through client session ${session}`);
    for (const [key, value] of [
      ['ada', 'lovelace'],
      ['alan', 'turing'],
      ['grace', 'hopper'],
    ] as const) {
      const previous = await put(key, value);
      console.log(`  put ${key} = ${value}${previous === null ? '' : ` (was ${JSON.stringify(previous)})`}`);
    }
    console.log(`  get alan = ${String(await get('alan'))}; size = ${await mapSize()}`);

    if (size >= 3) {
      const victim = cluster.leader()!;
      console.log(`\nkilling the leader ${victim.address} with SIGKILL...`);
      const killedAt = Date.now();
      await victim.kill();
      // The client notices the lost connection and retries against the others on its own.
      const read = get('ada').then((value) => ({ value, after: Date.now() - killedAt }));
      read.catch(() => {}); // awaited below; a failure before then must not go unhandled
      const { leader, elapsed } = await cluster.waitForLeader(20_000, victim);
      console.log(`  new leader ${leader.address} after ${elapsed} ms`);
      const { value, after } = await read;
      console.log(
        `  get ada = ${String(value)} (committed before the crash), answered ${after} ms after the kill`,
      );
      await put('edsger', 'dijkstra');
      console.log(`  put edsger = dijkstra; size = ${await mapSize()}`);
      const same = client.session.id === session && client.session.state === 'open';
      const inOrder = events.join(',') === 'ada,alan,grace,edsger';
      console.log(
        `  the client kept its session ${client.session.id} (${client.session.state})${same ? '' : `, not ${session}!`}` +
          `; put events it got: ${events.join(', ')}${inOrder ? ' (each once, in order)' : ' (expected ada, alan, grace, edsger!)'}`,
      );
      console.log(`restarting ${victim.address}...`);
      victim.start();
      await waitUntil(
        'the restarted replica to catch up',
        () =>
          victim.state === 'follower' && victim.commitIndex >= (cluster.leader()?.commitIndex ?? Infinity),
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
