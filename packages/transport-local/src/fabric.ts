/**
 * The network itself: who listens where, which ports are wired together, and how a frame
 * travels from one port to the other through cuts and link faults. Every delay, loss, duplicate
 * and reordering is drawn from the scheduler's random source and every delivery is a scheduler
 * task, so a simulated scheduler replays a run exactly from its seed.
 */
import { ConnectionError, type Scheduler } from '@copycat/common';
import { Cuts } from './cuts.js';
import { FaultTable, chance, drawDelay, drawReorderDelay } from './faults.js';
import { Link } from './link.js';
import { type Port } from './port.js';

/** What a listening server does with an incoming connection from `from`. */
export interface Acceptor {
  /** Creates the server's end; `accepted` runs once it is wired (hand it to `onConnection` then). */
  accept(from: string): { port: Port; accepted: () => void };
  /** The node crashed: forget the listening state. */
  crashed(): void;
}

interface Wire {
  readonly peer: Port;
  /** This end to the peer, in order. */
  readonly link: Link;
}

export interface FabricOptions {
  readonly scheduler: Scheduler;
  readonly maxFrameSize: number;
  readonly requestTimeout: number;
  readonly connectTimeout: number;
}

export class Fabric {
  readonly scheduler: Scheduler;
  readonly maxFrameSize: number;
  readonly requestTimeout: number;
  readonly connectTimeout: number;
  readonly cuts = new Cuts();
  readonly faults = new FaultTable();
  private readonly servers = new Map<string, Acceptor>();
  private readonly wires = new Map<Port, Wire>();
  private readonly addresses = new Set<string>();

  constructor(options: FabricOptions) {
    this.scheduler = options.scheduler;
    this.maxFrameSize = options.maxFrameSize;
    this.requestTimeout = options.requestTimeout;
    this.connectTimeout = options.connectTimeout;
  }

  /** Every address the network has seen (bound transports, listeners, connection ends). */
  get known(): ReadonlySet<string> {
    return this.addresses;
  }

  know(address: string): void {
    if (this.addresses.has(address)) return;
    this.addresses.add(address);
    this.cuts.known(address);
  }

  listen(address: string, acceptor: Acceptor): void {
    if (this.servers.has(address)) throw new ConnectionError(`address ${address} is already in use`);
    this.know(address);
    this.servers.set(address, acceptor);
  }

  unlisten(address: string, acceptor: Acceptor): void {
    if (this.servers.get(address) === acceptor) this.servers.delete(address);
  }

  /**
   * Connects `from` to the server at `to`: after one link delay, or fails like TCP does: refused
   * when nothing listens, timed out (after `connectTimeout`) when the link is cut.
   */
  open<T>(
    from: string,
    to: string,
    create: (local: string, remote: string) => { end: T; port: Port },
  ): Promise<T> {
    this.know(from);
    this.know(to);
    return new Promise<T>((resolve, reject) => {
      const unreachable = () =>
        this.scheduler.schedule(this.connectTimeout, () =>
          reject(
            new ConnectionError(
              `connecting to ${to} timed out after ${this.connectTimeout} ms: no route from ${from}`,
            ),
          ),
        );
      if (this.cuts.isCut(from, to)) {
        unreachable();
        return;
      }
      this.scheduler.schedule(drawDelay(this.scheduler, this.faults.get(from, to)), () => {
        if (this.cuts.isCut(from, to)) {
          unreachable();
          return;
        }
        const server = this.servers.get(to);
        if (server === undefined) {
          reject(new ConnectionError(`connection refused: nothing listens at ${to}`));
          return;
        }
        const client = create(from, to);
        const { port, accepted } = server.accept(from);
        this.wires.set(client.port, { peer: port, link: new Link(this.scheduler) });
        this.wires.set(port, { peer: client.port, link: new Link(this.scheduler) });
        // The server registers its handlers before the client can send anything.
        accepted();
        resolve(client.end);
      });
    });
  }

  /** Sends a frame from `port` to its peer, through cuts and faults. Never delivers synchronously. */
  send(port: Port, frame: Uint8Array): void {
    const wire = this.wires.get(port);
    if (wire === undefined) return;
    const { peer, link } = wire;
    if (this.cuts.isCut(port.local, peer.local)) return;
    const faults = this.faults.get(port.local, peer.local);
    if (chance(this.scheduler, faults?.drop)) return;
    const delay = drawDelay(this.scheduler, faults);
    if (chance(this.scheduler, faults?.reorder)) {
      this.scheduler.schedule(delay + drawReorderDelay(this.scheduler, faults), () =>
        this.arrive(port, peer, frame),
      );
    } else {
      link.enqueue(delay, () => this.arrive(port, peer, frame));
    }
    if (chance(this.scheduler, faults?.duplicate)) {
      // A fresh copy: the receiver decodes views into its frame, so two deliveries share nothing.
      const copy = frame.slice();
      const copyDelay = drawDelay(this.scheduler, faults) + drawReorderDelay(this.scheduler, faults);
      this.scheduler.schedule(copyDelay, () => this.arrive(port, peer, copy));
    }
  }

  /** `port` closes: its peer hears of it after everything `port` sent before (like a FIN). */
  close(port: Port): void {
    const wire = this.wires.get(port);
    if (wire === undefined) return;
    this.wires.delete(port);
    this.notifyPeer(port, wire, () => new ConnectionError(`${port.local} closed the connection`));
  }

  /** Kills a node: its server stops listening, its ends close at once, its peers are reset. */
  crash(address: string): void {
    const server = this.servers.get(address);
    if (server !== undefined) {
      this.servers.delete(address);
      server.crashed();
    }
    for (const [port, wire] of [...this.wires]) {
      if (port.local !== address) continue;
      this.wires.delete(port);
      port.hangUp(new ConnectionError(`${address} crashed`));
      // The crashed process's operating system resets its connections.
      this.notifyPeer(port, wire, () => new ConnectionError(`connection reset: ${address} crashed`));
    }
  }

  private notifyPeer(port: Port, wire: Wire, error: () => ConnectionError): void {
    const { peer, link } = wire;
    // Lost if the link is cut (the peer then learns on its next send, by a reset).
    if (this.cuts.isCut(port.local, peer.local)) return;
    link.enqueue(drawDelay(this.scheduler, this.faults.get(port.local, peer.local)), () => {
      if (this.cuts.isCut(port.local, peer.local) || !this.wires.has(peer)) return;
      this.wires.delete(peer);
      peer.hangUp(error());
    });
  }

  private arrive(from: Port, to: Port, frame: Uint8Array): void {
    // A partition that started while the frame was in flight loses it.
    if (this.cuts.isCut(from.local, to.local)) return;
    if (!to.isOpen()) {
      // Like a TCP reset: the sender learns that nobody is there any more.
      if (this.wires.delete(from))
        from.hangUp(new ConnectionError(`connection reset: ${to.local} is closed`));
      return;
    }
    to.receive(frame);
  }
}
