/**
 * `copycat server --address host:port --members a,b,c --dir DIR [--join]`: runs one replica over
 * WebSocket with disk storage until SIGINT/SIGTERM. Started with an IPC channel (by `copycat
 * cluster`, the chaos test, the cluster benchmark: `replicas.ts`), it reports its state to its
 * parent and stops when the parent goes away. Clients reach it over WebSocket like any user.
 */
import { consoleLogger } from '@copycat/common';
import { RaftServer } from '@copycat/server';
import { WebSocketTransport } from '@copycat/transport-ws';
import type { Args } from '../args.js';
import { KeyValueStateMachine } from '../kv-state-machine.js';
import type { ChildMessage, ParentMessage } from '../ipc.js';

export async function serverCommand(args: Args): Promise<void> {
  const address = args.string('address');
  const members = args.list('members');
  const directory = args.string('dir');
  const logger = consoleLogger({ level: args.flag('verbose') ? 'debug' : 'warn', name: address });
  const server: RaftServer = new RaftServer({
    address,
    transport: new WebSocketTransport(),
    storage: { directory, level: 'disk' },
    stateMachine: () => new KeyValueStateMachine({ serverStatus: () => server.status() }),
    logger,
  });
  const send = (message: ChildMessage) => {
    if (process.connected) process.send?.(message);
  };
  const report = () =>
    send({
      type: 'state',
      address,
      state: server.state,
      term: server.term,
      leader: server.leader,
      commitIndex: server.commitIndex,
    });
  server.onStateChange(report);

  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    // A shutdown that hangs must not keep a replica around after its parent asked it to stop.
    setTimeout(() => process.exit(1), 10_000).unref();
    await server.shutdown();
    process.exit(0);
  };
  process.on('SIGINT', () => void stop());
  process.on('SIGTERM', () => void stop());
  process.on('disconnect', () => void stop());
  process.on('message', (message: ParentMessage) => {
    if (message.type === 'status') report();
  });

  if (args.flag('join')) await server.join(members);
  else await server.bootstrap(members);
  console.log(`${address}: started (${server.state}), data in ${directory}`);
  report();
  // Heartbeat of status to the parent, so leader changes seen by others reach it too.
  setInterval(report, 250).unref();
}
