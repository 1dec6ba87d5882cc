/**
 * `pnpm bench transport`: request/response round trips per second and MB/s over loopback
 * WebSocket, for 64 B and 4 KiB payloads with 1 and 64 requests in flight, for
 * @copycat/transport-ws beside a bare `ws` echo (the baseline) measured in the same run.
 *
 * Both servers run in a child process, so client and server each have a core, as they would
 * on one machine. A Copycat round trip is a `command` request carrying the payload as its
 * operation, answered with the same bytes as its result: the same bytes each way as the echo.
 * Figures are medians of several runs; the ratio is the median over back-to-back pairs of runs
 * (see `rates`). Target: Copycat at >= 80% of the baseline.
 *
 * Options: --runs N (default 7), --duration MS per run (default 300), --cpu (also CPU time per
 * round trip of each side, user + system, median over the runs: steadier than rates on a noisy
 * host, and it shows which side an overhead is on).
 */
import { fork } from 'node:child_process';
import { once } from 'node:events';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import { MessageType, type CommandRequest, type CommandResponse, type Connection } from '@copycat/protocol';
import { WebSocketTransport } from '@copycat/transport-ws';
import { WebSocket, WebSocketServer } from 'ws';
import { median, printTable, timeRuns, writeResults, type Row } from '../report.js';

const PAYLOADS = [64, 4096];
const IN_FLIGHT = [1, 64];
const SERVERS_FLAG = '--copycat-transport-bench-servers';
/** Warm-up per contender and case, in runs of `--duration` (see `calibrate`). */
const WARMUP_RUNS = 3;

interface Addresses {
  bare: string;
  copycat: string;
}

// ---- servers (child process) -----------------------------------------------------------------

async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  await new Promise((resolve) => server.close(resolve));
  if (address === null || typeof address === 'string') throw new Error('no port');
  return address.port;
}

async function startServers(): Promise<Addresses> {
  const barePort = await freePort();
  const bare = new WebSocketServer({ host: '127.0.0.1', port: barePort, perMessageDeflate: false });
  bare.on('connection', (ws) => ws.on('message', (data: Buffer) => ws.send(data)));
  await once(bare, 'listening');

  const copycat = `127.0.0.1:${await freePort()}`;
  await new WebSocketTransport().server().listen(copycat, (connection) =>
    connection.handler(MessageType.command, (request) => ({
      status: 'ok',
      index: request.sequence,
      eventIndex: 0,
      result: request.operation,
    })),
  );
  return { bare: `127.0.0.1:${barePort}`, copycat };
}

if (process.argv.includes(SERVERS_FLAG)) {
  // The parent asks for this process's CPU time around each run (--cpu).
  process.on('message', (message) => {
    if (message === 'cpu') process.send!({ cpu: process.cpuUsage() });
  });
  process.send!(await startServers());
  // Serve until the parent goes away.
  process.on('disconnect', () => process.exit(0));
}

// ---- clients (main thread) -------------------------------------------------------------------

/** `count` echo round trips over a bare ws client, `inFlight` at a time. */
function bareRoundTrips(ws: WebSocket, payload: Uint8Array, inFlight: number, count: number): Promise<void> {
  return new Promise((resolve) => {
    let sent = 0;
    let received = 0;
    const onMessage = () => {
      received++;
      if (received === count) {
        ws.off('message', onMessage);
        resolve();
      } else if (sent < count) {
        sent++;
        ws.send(payload);
      }
    };
    ws.on('message', onMessage);
    for (; sent < Math.min(inFlight, count); sent++) ws.send(payload);
  });
}

/** `count` command round trips over a Copycat connection, `inFlight` at a time. */
async function copycatRoundTrips(
  connection: Connection,
  payload: Uint8Array,
  inFlight: number,
  count: number,
): Promise<void> {
  let sent = 0;
  const lane = async () => {
    while (sent < count) {
      sent++;
      // An explicit request type keeps the compiler from inferring over every request kind.
      const request: Omit<CommandRequest, 'id'> = {
        type: MessageType.command,
        session: 1,
        sequence: sent,
        operation: payload,
        compaction: 'release',
      };
      const response: CommandResponse = await connection.send(request);
      if (response.status !== 'ok' || response.result.length !== payload.length)
        throw new Error('bad response');
    }
  };
  await Promise.all(Array.from({ length: inFlight }, lane));
}

/**
 * How many round trips take about `duration` ms, once warm: both contenders first run for
 * `WARMUP_RUNS` x `duration` ms, so that the JIT has compiled their code (each case starts with
 * code paths the previous ones did not take, and runs of a few hundred round trips measured while
 * a contender is still being compiled would make the median a figure of the warm-up).
 */
async function calibrate(roundTrips: (count: number) => Promise<void>, duration: number): Promise<number> {
  let count = 500;
  const warmUntil = performance.now() + WARMUP_RUNS * duration;
  for (;;) {
    const start = performance.now();
    await roundTrips(count);
    const estimate = count / ((performance.now() - start) / 1000);
    count = Math.max(500, Math.round((estimate * duration) / 1000));
    if (performance.now() >= warmUntil) return count;
  }
}

/**
 * Round trips per second of two contenders, measured in alternation so that both see the same
 * conditions (another process, a CPU that changes speed): `runs` pairs, each pair back to back,
 * the order swapped from one pair to the next so that a drift favours neither. Returns each
 * contender's median rate and the ratio b / a of each pair (on a shared machine, a burst of
 * load hits both runs of a pair, so the median of these ratios is steadier than the ratio of the
 * medians).
 */
async function rates(
  a: (count: number) => Promise<void>,
  b: (count: number) => Promise<void>,
  runs: number,
  duration: number,
  serverCpu: (() => Promise<number>) | undefined,
): Promise<{ a: number; b: number; ratios: number[]; cpuA: CpuPerRoundTrip; cpuB: CpuPerRoundTrip }> {
  const countA = await calibrate(a, duration);
  const countB = await calibrate(b, duration);
  const ratesA: number[] = [];
  const ratesB: number[] = [];
  const ratios: number[] = [];
  const cpuA = { client: [] as number[], server: [] as number[] };
  const cpuB = { client: [] as number[], server: [] as number[] };
  const rate = async (
    fn: (count: number) => Promise<void>,
    count: number,
    cpu: { client: number[]; server: number[] },
  ) => {
    const serverBefore = await serverCpu?.();
    const clientBefore = cpuMicros(process.cpuUsage());
    const ms = (await timeRuns(1, () => fn(count), 0))[0]!;
    const clientAfter = cpuMicros(process.cpuUsage());
    const serverAfter = await serverCpu?.();
    if (serverBefore !== undefined && serverAfter !== undefined) {
      cpu.client.push((clientAfter - clientBefore) / count);
      cpu.server.push((serverAfter - serverBefore) / count);
    }
    return count / (ms / 1000);
  };
  for (let i = 0; i < runs; i++) {
    let rateA: number;
    let rateB: number;
    if (i % 2 === 0) {
      rateA = await rate(a, countA, cpuA);
      rateB = await rate(b, countB, cpuB);
    } else {
      rateB = await rate(b, countB, cpuB);
      rateA = await rate(a, countA, cpuA);
    }
    ratesA.push(rateA);
    ratesB.push(rateB);
    ratios.push(rateB / rateA);
  }
  const perRoundTrip = (cpu: { client: number[]; server: number[] }): CpuPerRoundTrip => ({
    client: median(cpu.client),
    server: median(cpu.server),
  });
  return { a: median(ratesA), b: median(ratesB), ratios, cpuA: perRoundTrip(cpuA), cpuB: perRoundTrip(cpuB) };
}

/** Median CPU time (user + system) per round trip of each side, µs. */
interface CpuPerRoundTrip {
  client: number;
  server: number;
}

function cpuMicros(usage: NodeJS.CpuUsage): number {
  return usage.user + usage.system;
}

/** "client + server" CPU µs per round trip. */
function cpuPair(cpu: CpuPerRoundTrip): string {
  return `${cpu.client.toFixed(1)} + ${cpu.server.toFixed(1)}`;
}

function option(args: string[], name: string, fallback: number): number {
  const at = args.indexOf(name);
  const value = at >= 0 ? Number(args[at + 1]) : fallback;
  if (!Number.isFinite(value) || value <= 0) throw new Error(`${name} needs a positive number`);
  return value;
}

export async function run(args: string[]): Promise<void> {
  const runs = option(args, '--runs', 7);
  const duration = option(args, '--duration', 300);
  const withCpu = args.includes('--cpu');
  // The child runs this same file, with the loader and conditions the bench runs with.
  const child = fork(fileURLToPath(import.meta.url), [SERVERS_FLAG], {
    execArgv: ['--conditions=@copycat/source', '--import', 'tsx'],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  try {
    const [addresses] = (await once(child, 'message')) as [Addresses];
    const bare = new WebSocket(`ws://${addresses.bare}/`, { perMessageDeflate: false });
    await once(bare, 'open');
    const client = new WebSocketTransport().client();
    const connection = await client.connect(addresses.copycat);
    const serverCpu = withCpu
      ? async () => {
          child.send('cpu');
          const [reply] = (await once(child, 'message')) as [{ cpu: NodeJS.CpuUsage }];
          return cpuMicros(reply.cpu);
        }
      : undefined;

    const rows: Row[] = [];
    for (const size of PAYLOADS) {
      const payload = new Uint8Array(size).map((_, i) => i % 251);
      for (const inFlight of IN_FLIGHT) {
        const measured = await rates(
          (count) => bareRoundTrips(bare, payload, inFlight, count),
          (count) => copycatRoundTrips(connection, payload, inFlight, count),
          runs,
          duration,
          serverCpu,
        );
        const megabytes = (perSecond: number) => (perSecond * size) / (1024 * 1024);
        const percent = (ratio: number) => `${Math.round(ratio * 100)}%`;
        rows.push({
          payload: `${size} B`,
          'in flight': inFlight,
          'ws echo rt/s': measured.a,
          'copycat rt/s': measured.b,
          'ws echo MB/s': megabytes(measured.a),
          'copycat MB/s': megabytes(measured.b),
          'copycat / ws': percent(median(measured.ratios)),
          'pairs min–max': `${percent(Math.min(...measured.ratios))}–${percent(Math.max(...measured.ratios))}`,
          ...(withCpu
            ? {
                'ws echo cpu µs c+s': cpuPair(measured.cpuA),
                'copycat cpu µs c+s': cpuPair(measured.cpuB),
              }
            : {}),
        });
      }
    }
    printTable(
      `transport: loopback WebSocket round trips (median of ${runs} runs; MB/s of payload each way; ` +
        `copycat / ws: median of the ratios of ${runs} back-to-back pairs of runs` +
        `${withCpu ? '; cpu: µs of CPU per round trip, client + server' : ''})`,
      rows,
    );
    const worst = Math.min(...rows.map((row) => Number.parseInt(String(row['copycat / ws']), 10)));
    console.log(`\nworst ratio ${worst}% (target >= 80%): ${worst >= 80 ? 'met' : 'NOT met'}`);
    console.log(`results: ${writeResults('transport', { runs, duration, rows })}`);
    bare.close();
    await client.close();
  } finally {
    // The child exits when the channel closes (see above); kill it if it does not.
    child.disconnect();
    setTimeout(() => child.kill(), 2000).unref();
  }
}
