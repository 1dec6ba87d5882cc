/**
 * `copycat status --members a,b,c [--timeout 5000]`: the cluster as a client sees it.
 *
 * 1. Every member is asked what a client asks when it connects (`connect`: no session, nothing
 *    logged): is it up, which leader does it know, which members do clients use.
 * 2. A client session asks the leader for its figures: the replicas' state machine answers the
 *    `serverStatus` query with `RaftServer.status()` of the server evaluating it, and a
 *    linearizable query is evaluated by the leader. (The client protocol itself has no status
 *    message; this works with the CLI's replicas, whose state machine has that query.)
 *
 * Prints the leader, term, commit index and each member's type, availability and reachability.
 * Exit 1 (after printing what it learned) if no member answers or no session can be opened.
 */
import { query } from '@copycat/client';
import { MessageType, responseError } from '@copycat/protocol';
import { WebSocketTransport } from '@copycat/transport-ws';
import { UsageError, type Args } from '../args.js';
import { connectClient } from '../client.js';

interface Probe {
  address: string;
  leader?: string | undefined;
  members?: readonly string[];
  error?: string;
  ms: number;
}

/** The part of `RaftServer.status()` printed here. */
interface ServerStatus {
  address: string;
  state: string;
  term: number;
  leader?: string;
  commitIndex: number;
  lastApplied: number;
  lastIndex: number;
  members: readonly { address: string; type: string; status: string }[];
}

export async function statusCommand(args: Args): Promise<void> {
  const members = args.list('members');
  if (members.length === 0) throw new UsageError('--members needs at least one address');
  const timeout = args.integer('timeout', 5000, 1, 120_000);

  const probes = await probeAll(members, Math.min(timeout, 3000));
  const answered = probes.filter((p) => p.error === undefined);
  let status: ServerStatus | undefined;
  let sessionError: string | undefined;
  if (answered.length > 0) {
    try {
      const client = await connectClient(members, { connectTimeout: timeout, requestTimeout: 1000 });
      try {
        status = (await client.submit(query<ServerStatus | null>('serverStatus'), { timeout })) ?? undefined;
      } finally {
        await client.close();
      }
    } catch (error) {
      sessionError = (error as Error).message;
    }
  }

  const knownLeader = status?.address ?? mostNamedLeader(answered);
  const listed =
    status?.members ?? (answered[0]?.members ?? []).map((address) => ({ address, type: '?', status: '?' }));
  const rows = [...listed.map((m) => m.address), ...probes.map((p) => p.address)].filter(
    (address, i, all) => all.indexOf(address) === i,
  );
  const width = Math.max(...rows.map((a) => a.length));
  if (status !== undefined) {
    console.log(
      `leader: ${status.address} (term ${status.term}), commit index ${status.commitIndex}, ` +
        `last applied ${status.lastApplied}, last log index ${status.lastIndex}`,
    );
  } else {
    console.log(`leader: ${knownLeader ?? 'none known'} (as the members report it)`);
  }
  console.log('members:');
  for (const address of rows) {
    const member = listed.find((m) => m.address === address);
    const probe = probes.find((p) => p.address === address);
    const role = address === knownLeader ? 'leader' : member === undefined ? 'not a member' : '';
    const reach =
      probe === undefined
        ? ''
        : probe.error !== undefined
          ? `unreachable (${probe.error})`
          : `up (${probe.ms} ms), knows leader ${probe.leader ?? '(none)'}`;
    console.log(
      `  ${address.padEnd(width)}  ${(member?.type ?? '-').padEnd(7)}  ${(member?.status ?? '-').padEnd(11)}  ${role.padEnd(6)}  ${reach}`,
    );
  }
  if (answered.length === 0) throw new Error('no member answered');
  if (status === undefined)
    throw new Error(
      `could not ask the leader: ${sessionError ?? 'its state machine has no serverStatus query'}`,
    );
}

/** Asks each member (and members they list that were not given) for its view. */
async function probeAll(members: readonly string[], timeout: number): Promise<Probe[]> {
  const transport = new WebSocketTransport().client();
  const probe = async (address: string): Promise<Probe> => {
    const started = Date.now();
    try {
      const connection = await withTimeout(transport.connect(address), timeout, 'no connection');
      const response = await connection.send(
        { type: MessageType.connect, client: `copycat-status-${process.pid}` },
        { timeout },
      );
      void connection.close();
      if (response.status === 'error') throw responseError(response);
      return { address, leader: response.leader, members: response.members, ms: Date.now() - started };
    } catch (error) {
      return { address, error: (error as Error).message, ms: Date.now() - started };
    }
  };
  try {
    const probes = await Promise.all(members.map(probe));
    const more = [...new Set(probes.flatMap((p) => p.members ?? []))].filter((m) => !members.includes(m));
    probes.push(...(await Promise.all(more.map(probe))));
    return probes;
  } finally {
    await transport.close();
  }
}

function mostNamedLeader(probes: readonly Probe[]): string | undefined {
  const votes = new Map<string, number>();
  for (const p of probes) if (p.leader !== undefined) votes.set(p.leader, (votes.get(p.leader) ?? 0) + 1);
  return [...votes.entries()].sort((a, b) => b[1] - a[1])[0]?.[0];
}

async function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`${what} within ${ms} ms`)), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}
