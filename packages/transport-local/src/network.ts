import { type Scheduler } from '@copycat/common';
import { DEFAULT_MAX_FRAME_SIZE } from '@copycat/protocol';
import { Fabric } from './fabric.js';
import { type LinkFaults, type LinkSelector } from './faults.js';
import { type Port } from './port.js';
import { RawConnection } from './raw.js';
import { LocalTransport } from './transport.js';

export interface LocalNetworkOptions {
  /** Runs every delivery and timeout and draws every fault; a simulated one makes runs replayable. */
  readonly scheduler: Scheduler;
  /** Frames over this many bytes are refused with `FRAME_TOO_LARGE`. Default 16 MiB. */
  readonly maxFrameSize?: number;
  /** Default per-request timeout of connections, ms. Default 5000. */
  readonly requestTimeout?: number;
  /** How long connecting over a cut link takes to fail, ms. Default 1000. */
  readonly connectTimeout?: number;
}

/**
 * An in-process network of addresses. Each node gets a `Transport` bound to its address; messages
 * are encoded, then delivered by the scheduler through links that can be cut (partitions) and
 * made faulty (drop, delay, duplicate, reorder). Cut links drop messages silently, like a real
 * partition: senders see timeouts.
 */
export class LocalNetwork {
  private readonly fabric: Fabric;
  private readonly transports = new Map<string, LocalTransport>();

  constructor(options: LocalNetworkOptions) {
    this.fabric = new Fabric({
      scheduler: options.scheduler,
      maxFrameSize: options.maxFrameSize ?? DEFAULT_MAX_FRAME_SIZE,
      requestTimeout: options.requestTimeout ?? 5000,
      connectTimeout: options.connectTimeout ?? 1000,
    });
  }

  /** The transport of the node at `address`: its connections originate from that address. */
  transport(address: string): LocalTransport {
    let transport = this.transports.get(address);
    if (transport === undefined) {
      this.fabric.know(address);
      transport = new LocalTransport(this.fabric, address);
      this.transports.set(address, transport);
    }
    return transport;
  }

  /** Every address the network has seen. */
  get addresses(): readonly string[] {
    return [...this.fabric.known];
  }

  /** Cuts every link between nodes of different groups (nodes in no group keep their links). */
  partition(...groups: string[][]): void {
    for (const group of groups) for (const address of group) this.fabric.know(address);
    this.fabric.cuts.partition(groups);
  }

  /** Cuts `address` from every other node, including nodes that appear later, until `heal`/`connect`. */
  isolate(address: string): void {
    this.fabric.know(address);
    this.fabric.cuts.isolate(address, this.fabric.known);
  }

  /** Cuts the link between `a` and `b`, both ways (for bridge and ring shapes). */
  disconnect(a: string, b: string): void {
    this.fabric.know(a);
    this.fabric.know(b);
    this.fabric.cuts.disconnect(a, b);
  }

  /** Restores the link between `a` and `b`, both ways. */
  connect(a: string, b: string): void {
    this.fabric.cuts.connect(a, b);
  }

  /** Removes every cut (partitions, isolations, disconnections); link faults stay. */
  heal(): void {
    this.fabric.cuts.heal();
  }

  /** Whether messages between `a` and `b` are cut. */
  isCut(a: string, b: string): boolean {
    return this.fabric.cuts.isCut(a, b);
  }

  /**
   * Sets the faults of the links `link` selects (one direction `{ from, to }`, all from or to an
   * address, or, without `link`, the default for all links). The most specific setting wins.
   */
  setFaults(faults: LinkFaults, link?: LinkSelector): void {
    this.fabric.faults.set(faults, link);
  }

  /** Removes every link fault. */
  clearFaults(): void {
    this.fabric.faults.clear();
  }

  /**
   * Kills the node at `address` like a process crash: its server stops listening, its connections
   * close at once (pending requests fail with `ConnectionError`), and its peers are reset after a
   * link delay (unless the link is cut: then they learn on their next send, or by timeout).
   * A restarted node listens again with a new server.
   */
  crash(address: string): void {
    this.fabric.crash(address);
  }

  /** Opens a raw byte pipe from `from` to the server at `to` (fuzz tests of the receiving side). */
  openRaw(from: string, to: string): Promise<RawConnection> {
    return this.fabric.open(from, to, (local, remote) => {
      let port: Port | undefined;
      const end = new RawConnection(this.fabric, local, remote, (p) => (port = p));
      return { end, port: port! };
    });
  }
}
