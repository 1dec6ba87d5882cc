// A simulated network for the Raft core: delivery through the scheduler with delays, drops,
// partitions and crashed nodes. Requests that get no answer time out, like real ones.
import { TimeoutError, type Scheduler } from '@copycat/common';
import type { RaftRequest, RaftResponseFor } from '../../src/raft/messages.js';
import type { PeerPort } from '../../src/raft/ports.js';

export interface Endpoint {
  handle<R extends RaftRequest>(request: R): Promise<RaftResponseFor<R>>;
}

export class SimNetwork {
  private readonly endpoints = new Map<string, Endpoint>();
  private readonly cuts = new Set<string>();
  dropRate = 0;
  minDelay = 1;
  maxDelay = 5;
  requestTimeout = 200;
  delivered = 0;

  constructor(private readonly scheduler: Scheduler) {}

  register(address: string, endpoint: Endpoint | undefined): void {
    if (endpoint === undefined) this.endpoints.delete(address);
    else this.endpoints.set(address, endpoint);
  }

  disconnect(a: string, b: string): void {
    this.cuts.add(`${a}|${b}`).add(`${b}|${a}`);
  }

  partition(...groups: string[][]): void {
    for (const g of groups)
      for (const h of groups) if (g !== h) for (const a of g) for (const b of h) this.disconnect(a, b);
  }

  isolate(address: string, all: readonly string[]): void {
    for (const other of all) if (other !== address) this.disconnect(address, other);
  }

  heal(): void {
    this.cuts.clear();
  }

  private blocked(from: string, to: string): boolean {
    return this.cuts.has(`${from}|${to}`) || (this.dropRate > 0 && this.scheduler.random() < this.dropRate);
  }

  private delay(): number {
    return this.minDelay + Math.floor(this.scheduler.random() * (this.maxDelay - this.minDelay + 1));
  }

  port(from: string): PeerPort {
    return {
      send: <R extends RaftRequest>(to: string, request: R): Promise<RaftResponseFor<R>> =>
        new Promise((resolve, reject) => {
          let settled = false;
          const timeout = this.scheduler.schedule(this.requestTimeout, () => {
            if (settled) return;
            settled = true;
            reject(new TimeoutError(`${request.kind} ${from} -> ${to} timed out`));
          });
          const finish = (action: () => void) => {
            if (settled) return;
            settled = true;
            timeout.cancel();
            action();
          };
          if (this.blocked(from, to)) return;
          const copy = structuredClone(request);
          this.scheduler.schedule(this.delay(), () => {
            const endpoint = this.endpoints.get(to);
            // A link cut while the message was in flight loses it, like a real partition.
            if (endpoint === undefined || this.cuts.has(`${from}|${to}`)) return;
            this.delivered++;
            endpoint.handle(copy).then(
              (response) => {
                if (this.blocked(to, from)) return;
                const answer = structuredClone(response);
                this.scheduler.schedule(this.delay(), () => {
                  if (this.endpoints.get(from) !== undefined && !this.cuts.has(`${to}|${from}`)) {
                    finish(() => resolve(answer));
                  }
                });
              },
              (error: unknown) =>
                this.scheduler.schedule(this.delay(), () =>
                  finish(() => reject(error instanceof Error ? error : new Error(String(error)))),
                ),
            );
          });
        }),
    };
  }
}
