/**
 * `copycat server --address host:port --members a,b,c --dir DIR [--join]`: runs one replica over
 * WebSocket with disk storage until SIGINT/SIGTERM. Started by `copycat cluster`, it also talks
 * to its parent over the IPC channel: state changes go up, `submit` requests come down.
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
  const server = new RaftServer({
    address,
    transport: new WebSocketTransport(),
    storage: { directory, level: 'disk' },
    stateMachine: () => new KeyValueStateMachine(),
    logger,
  });
  const send = (message: ChildMessage) => process.send?.(message);
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
    await server.shutdown();
    process.exit(0);
  };
  process.on('SIGINT', () => void stop());
  process.on('SIGTERM', () => void stop());
  process.on('disconnect', () => void stop());
  process.on('message', (message: ParentMessage) => {
    if (message.type === 'submit') {
      server.submitInternal(message.name, message.args).then(
        (value) => send({ type: 'result', id: message.id, ok: true, value }),
        (error: Error) =>
          send({
            type: 'result',
            id: message.id,
            ok: false,
            error: `${error.name}: ${error.message}`,
            leader: server.leader,
          }),
      );
    } else if (message.type === 'status') {
      report();
    }
  });

  if (args.flag('join')) await server.join(members);
  else await server.bootstrap(members);
  console.log(`${address}: started (${server.state}), data in ${directory}`);
  report();
  // Heartbeat of status to the parent, so leader changes seen by others reach it too.
  setInterval(report, 250).unref();
}
